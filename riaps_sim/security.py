"""``AppKeys``: an application's key material for real runs, made per run or kept in a directory.

A real run is secure by default (docs/security.md): every port speaks CURVE with the application's key
pair, a ZAP handler admits only clients whose public key is on the application's allow-list, and
discovery beacons carry a MAC keyed by the application's beacon secret. As in RIAPS, the actors of
one application share one key pair, so that pair's public half is also the one allowed client key.

On disk (``riaps-sim keys new DIR``) the material is three files, each readable by its owner only
(mode 0600), so the same application can run across hosts::

    DIR/app.key      the CURVE key pair: "public <Z85>" and "secret <Z85>" lines
    DIR/allowed.keys the client public keys to admit, one Z85 key a line (blank lines skipped)
    DIR/beacon.key   the beacon secret, 32 bytes as 64 hex digits

Loading checks what an attacker on the same host could use, and refuses with ``KeyFileError``
naming the file and the fix: a key file must be a regular file, not a symbolic link (a link could
be pointed elsewhere later), owned by the user running riaps-sim or by root, and readable and
writable by its owner only; the directory may be given through a symbolic link (its target is
checked, and named in messages), must be owned by that user or root, and must not be writable by
group or others (who could replace the files).

``AppKeys`` is a frozen dataclass of bytes, so it pickles to a spawned node process as it is. Its
``repr`` (like ``ports.CurveKeys``') never shows a secret.
"""

from __future__ import annotations

import os
import secrets
import stat
import sys
from dataclasses import dataclass
from pathlib import Path

import zmq

from ports import CurveKeys

__all__ = ["AppKeys", "KeyFileError", "KEY_FILE", "ALLOWED_FILE", "BEACON_FILE", "BEACON_SECRET_BYTES"]

KEY_FILE = "app.key"
ALLOWED_FILE = "allowed.keys"
BEACON_FILE = "beacon.key"
BEACON_SECRET_BYTES = 32
_MODE = 0o600


class KeyFileError(ValueError):
    """A key file is missing, unreadable, malformed or readable by others; the text names the file and the fault."""


@dataclass(frozen=True, slots=True)
class AppKeys:
    """The key material of one application.

    Attributes
    ----------
    curve:
        The CURVE key pair every member uses (servers as their own, clients as the server key).
    allowed:
        The client public keys (Z85 text, 40 bytes each) the ZAP handler admits.
    beacon_secret:
        The key of the discovery beacons' MAC (at least 16 bytes; 32 when generated).
    """

    curve: CurveKeys
    allowed: frozenset[bytes]
    beacon_secret: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.curve, CurveKeys):
            raise TypeError(f"AppKeys.curve must be a ports.CurveKeys, got {self.curve!r:.60}")
        if not isinstance(self.allowed, frozenset) or not self.allowed:
            raise ValueError("AppKeys.allowed must be a non-empty frozenset of Z85 public keys")
        for key in self.allowed:
            if not isinstance(key, bytes) or len(key) != 40:
                raise ValueError(f"AppKeys.allowed holds {key!r:.60}, which is not a 40-byte Z85 public key")
        if not isinstance(self.beacon_secret, bytes) or len(self.beacon_secret) < 16:
            raise ValueError("AppKeys.beacon_secret must be at least 16 bytes")

    def __repr__(self) -> str:  # never show secrets in logs or tracebacks
        return f"AppKeys(public={self.curve.public.decode('ascii')}, allowed={len(self.allowed)} key(s), beacon_secret=<hidden>)"

    @classmethod
    def generate(cls) -> AppKeys:
        """Fresh material: a new key pair (also the one allowed client key) and a new beacon secret."""
        curve = CurveKeys.generate()
        return cls(curve=curve, allowed=frozenset({curve.public}), beacon_secret=secrets.token_bytes(BEACON_SECRET_BYTES))

    def public_text(self) -> str:
        """The public half, for ``riaps-sim keys show``: the public key and the allow-list, no secret."""
        lines = [f"public {self.curve.public.decode('ascii')}", f"allowed ({len(self.allowed)}):"]
        lines += [f"  {key.decode('ascii')}" for key in sorted(self.allowed)]
        return "\n".join(lines)

    def write(self, directory: str | Path) -> Path:
        """Write the three key files into *directory* (made if missing, mode 0700), each with mode 0600.

        Existing key files are not overwritten: ``FileExistsError`` names the first one found.
        Returns the directory.
        """
        directory = Path(directory)
        for name in (KEY_FILE, ALLOWED_FILE, BEACON_FILE):
            if (directory / name).exists():
                raise FileExistsError(f"{directory / name} exists; refusing to overwrite key material (remove it or use another directory)")
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        _check_directory(directory)  # an existing folder others could write to would make keys that load refuses
        _write_private(directory / KEY_FILE, f"public {self.curve.public.decode('ascii')}\nsecret {self.curve.secret.decode('ascii')}\n")
        _write_private(directory / ALLOWED_FILE, "".join(f"{key.decode('ascii')}\n" for key in sorted(self.allowed)))
        _write_private(directory / BEACON_FILE, self.beacon_secret.hex() + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> AppKeys:
        """Read the key files of *directory*; ``KeyFileError`` names the file and what is wrong with it."""
        directory = _check_directory(Path(directory))
        pair = _read_key_pair(directory / KEY_FILE)
        allowed = _read_allowed(directory / ALLOWED_FILE)
        secret = _read_beacon_secret(directory / BEACON_FILE)
        return cls(curve=pair, allowed=allowed, beacon_secret=secret)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
    os.chmod(path, _MODE)  # whatever the umask


def _user(uid: int) -> str:
    """*uid* with its user name where the system knows it: ``alice (uid 1000)``."""
    try:
        import pwd

        return f"{pwd.getpwuid(uid).pw_name} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _check_owner(path: Path, info: os.stat_result, what: str) -> None:
    """*path* must belong to the user running riaps-sim or to root: anyone else could change it."""
    if sys.platform == "win32":
        return
    me = os.getuid()
    if info.st_uid not in (me, 0):
        raise KeyFileError(
            f"{path}: {what} is owned by {_user(info.st_uid)}, not by you ({_user(me)}) or root, so its owner could change the keys; "
            f"run 'chown {me} {path}' (as root), or make fresh keys as yourself with 'riaps-sim keys new DIR'"
        )


def _check_directory(directory: Path) -> Path:
    """The real directory behind *directory* (a symbolic link to it is followed), checked; ``KeyFileError`` if unfit."""
    try:
        real = directory.resolve(strict=True)
        info = real.stat()
    except FileNotFoundError:
        raise KeyFileError(f"{directory}: no such directory of key files; make one with 'riaps-sim keys new {directory}'") from None
    except (OSError, RuntimeError) as exc:  # RuntimeError: a loop of symbolic links
        raise KeyFileError(f"{directory}: cannot be read as a directory of key files: {exc}") from None
    if not stat.S_ISDIR(info.st_mode):
        raise KeyFileError(f"{directory}: not a directory of key files; make one with 'riaps-sim keys new DIR'")
    shown = real if real != directory.absolute() else directory
    _check_owner(shown, info, "the key directory")
    if info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise KeyFileError(
            f"{shown}: the key directory is writable by others (mode {stat.S_IMODE(info.st_mode):04o}), who could replace the key files; "
            f"run 'chmod go-w {shown}' (or 'chmod 700 {shown}')"
        )
    return real


def _read_private(path: Path) -> list[str]:
    """The meaningful lines of *path*, after checking that it is a regular file only its owner (you or root) can read.

    The checks are made on the file as opened (no symbolic link followed), so it cannot be swapped
    between the check and the read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)  # O_NONBLOCK: a FIFO must not hang the open
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise KeyFileError(f"{path}: missing; a key directory holds {KEY_FILE}, {ALLOWED_FILE} and {BEACON_FILE}") from None
    except OSError as exc:
        if path.is_symlink():
            raise KeyFileError(
                f"{path}: a symbolic link (to {os.readlink(path)}); key files must be regular files, since a link can be pointed "
                f"elsewhere later: replace it with a copy of its target, or give the directory that holds the real files"
            ) from None
        raise KeyFileError(f"{path}: cannot be opened: {exc.strerror or exc}") from None
    with os.fdopen(fd, "rb") as opened:
        info = os.fstat(opened.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise KeyFileError(f"{path}: not a regular file; a key directory holds the files 'riaps-sim keys new' writes")
        _check_owner(path, info, "the key file")
        if info.st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise KeyFileError(f"{path}: readable or writable by others (mode {stat.S_IMODE(info.st_mode):04o}); run 'chmod 600 {path}'")
        try:
            text = opened.read().decode("ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise KeyFileError(f"{path}: cannot be read as text: {exc}") from None
    return [line.strip() for line in text.splitlines() if line.strip()]  # no comments: Z85 text may hold '#'


def _check_z85_key(path: Path, text: str, what: str) -> bytes:
    key = text.encode("ascii")
    if len(key) != 40:
        raise KeyFileError(f"{path}: the {what} must be 40 characters of Z85 text, got {len(key)}")
    try:
        zmq.utils.z85.decode(key)
    except (ValueError, KeyError):
        raise KeyFileError(f"{path}: the {what} is not valid Z85 text") from None
    return key


def _read_key_pair(path: Path) -> CurveKeys:
    fields: dict[str, bytes] = {}
    for line in _read_private(path):
        name, _, value = line.partition(" ")
        if name not in ("public", "secret") or not value.strip():
            raise KeyFileError(f"{path}: expected lines 'public <Z85>' and 'secret <Z85>', got {line[:20]!r}...")
        fields[name] = _check_z85_key(path, value.strip(), f"{name} key")
    if set(fields) != {"public", "secret"}:
        raise KeyFileError(f"{path}: needs both a 'public' and a 'secret' line, found {sorted(fields) or 'neither'}")
    if zmq.curve_public(fields["secret"]) != fields["public"]:
        raise KeyFileError(f"{path}: the public key does not belong to the secret key")
    return CurveKeys(public=fields["public"], secret=fields["secret"])


def _read_allowed(path: Path) -> frozenset[bytes]:
    keys = frozenset(_check_z85_key(path, line, "allowed public key") for line in _read_private(path))
    if not keys:
        raise KeyFileError(f"{path}: lists no public key; with an empty allow-list no peer could connect")
    return keys


def _read_beacon_secret(path: Path) -> bytes:
    lines = _read_private(path)
    if len(lines) != 1:
        raise KeyFileError(f"{path}: expected one line of hex digits, found {len(lines)} line(s)")
    try:
        secret = bytes.fromhex(lines[0])
    except ValueError:
        raise KeyFileError(f"{path}: the beacon secret is not hex digits") from None
    if len(secret) < 16:
        raise KeyFileError(f"{path}: the beacon secret is {len(secret)} bytes; it needs at least 16 (32 when generated)")
    return secret
