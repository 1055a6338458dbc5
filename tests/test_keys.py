"""Key material on disk and in memory: what loading refuses (owner, directory, links), and reprs without secrets."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest

import ports
from riaps_sim.cli import main
from riaps_sim.examples import Groupie
from riaps_sim.runtime.launch import BeaconSettings, NodeLaunch, NodePlan
from riaps_sim.scenario import Scenario
from riaps_sim.security import ALLOWED_FILE, BEACON_FILE, KEY_FILE, AppKeys, KeyFileError

OTHER_UID = 54321  # a user that owns nothing here


def _keys_in(folder: Path) -> AppKeys:
    keys = AppKeys.generate()
    keys.write(folder)
    return keys


def _chown_or_skip(path: Path, uid: int) -> None:
    try:
        os.chown(path, uid, -1, follow_symlinks=False)
    except PermissionError:
        pytest.skip("giving a file to another user needs root")


def test_a_key_file_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    _keys_in(tmp_path / "k")
    _chown_or_skip(tmp_path / "k" / KEY_FILE, OTHER_UID)
    with pytest.raises(KeyFileError, match=rf"{KEY_FILE}: the key file is owned by uid {OTHER_UID}, not by you .* or root.*chown {os.getuid()} "):
        AppKeys.load(tmp_path / "k")


def test_a_key_directory_owned_by_another_user_is_refused(tmp_path: Path) -> None:
    _keys_in(tmp_path / "k")
    _chown_or_skip(tmp_path / "k", OTHER_UID)
    with pytest.raises(KeyFileError, match=rf"k: the key directory is owned by uid {OTHER_UID}"):
        AppKeys.load(tmp_path / "k")


@pytest.mark.parametrize("mode", [0o770, 0o702, 0o1777])
def test_a_key_directory_others_can_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    """Group or others could replace the files (even with the sticky bit: a file not yet there)."""
    _keys_in(tmp_path / "k")
    (tmp_path / "k").chmod(mode)
    with pytest.raises(KeyFileError, match=rf"the key directory is writable by others \(mode {mode:04o}\).*chmod go-w"):
        AppKeys.load(tmp_path / "k")
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(KeyFileError, match="writable by others"):  # writing there would make keys that load refuses
        AppKeys.generate().write(shared)
    assert not list(shared.iterdir())


def test_a_key_file_that_is_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    _keys_in(tmp_path / "k")
    target = tmp_path / "elsewhere.key"
    (tmp_path / "k" / BEACON_FILE).rename(target)
    (tmp_path / "k" / BEACON_FILE).symlink_to(target)
    with pytest.raises(KeyFileError, match=rf"{BEACON_FILE}: a symbolic link \(to {target}\); key files must be regular files"):
        AppKeys.load(tmp_path / "k")


def test_a_key_file_that_is_not_a_regular_file_is_refused_without_hanging(tmp_path: Path) -> None:
    _keys_in(tmp_path / "k")
    (tmp_path / "k" / ALLOWED_FILE).unlink()
    os.mkfifo(tmp_path / "k" / ALLOWED_FILE, 0o600)  # opening a FIFO for reading would wait for a writer
    with pytest.raises(KeyFileError, match=f"{ALLOWED_FILE}: not a regular file"):
        AppKeys.load(tmp_path / "k")


def test_a_key_directory_given_through_a_symbolic_link_is_checked_at_its_target(tmp_path: Path) -> None:
    keys = _keys_in(tmp_path / "real")
    (tmp_path / "link").symlink_to(tmp_path / "real", target_is_directory=True)
    assert AppKeys.load(tmp_path / "link") == keys
    (tmp_path / "real").chmod(0o777)
    with pytest.raises(KeyFileError, match=rf"^{tmp_path / 'real'}: the key directory is writable by others"):
        AppKeys.load(tmp_path / "link")


def test_cli_names_the_refused_file_without_a_traceback(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _keys_in(tmp_path / "k")
    (tmp_path / "k").chmod(0o777)
    assert main(["keys", "show", str(tmp_path / "k")]) == 2  # a key folder that does not load is a usage error
    err = capsys.readouterr().err
    assert err.startswith(f"riaps-sim: {tmp_path / 'k'}: the key directory is writable by others") and "Traceback" not in err


def test_keys_where_the_checks_pass_still_load(tmp_path: Path) -> None:
    """The control for the refusals above: fresh keys in a private directory, owned by the user, load."""
    keys = _keys_in(tmp_path / "k")
    assert stat.S_IMODE((tmp_path / "k").stat().st_mode) == 0o700
    assert AppKeys.load(tmp_path / "k") == keys


def test_no_repr_or_str_shows_a_secret() -> None:
    """CurveKeys, AppKeys and the records that carry them print public halves only."""
    keys = AppKeys.generate()
    secrets = (keys.curve.secret.decode(), keys.beacon_secret.hex(), repr(keys.curve.secret), repr(keys.beacon_secret))
    launch = NodeLaunch(NodePlan("n1", "127.0.0.1", {}), {}, "app", 0, 10.0, "/tmp/n1.jsonl", BeaconSettings(47474), keys=keys)
    scenario = replace(Scenario.group_of(2, Groupie, duration=5), keys=keys)
    shown = [repr(keys.curve), str(keys.curve), f"{keys.curve}", repr(keys), str(keys), repr([keys.curve]), repr(launch), str(launch), repr(scenario)]
    for text in shown:
        assert not any(secret in text for secret in secrets), text
    assert keys.curve.public.decode() in repr(keys.curve) and "secret=<hidden>" in repr(keys.curve)
    assert repr(ports.CurveKeys(keys.curve.public, keys.curve.secret)) == repr(keys.curve)
