"""``AppKeys``: an application's key material for real runs, made per run or kept in a directory.

A real run is secure by default (DESIGN.md): every port speaks CURVE with the application's key
pair, a ZAP handler admits only clients whose public key is on the application's allow-list, and
discovery beacons carry a MAC keyed by the application's beacon secret. As in RIAPS, the actors of
one application share one key pair, so that pair's public half is also the one allowed client key.

On disk (``riaps-sim keys new DIR``) the material is three files, each readable by its owner only
(mode 0600), so the same application can run across hosts::

    DIR/app.key      the CURVE key pair: "public <Z85>" and "secret <Z85>" lines
    DIR/allowed.keys the client public keys to admit, one Z85 key a line (blank lines skipped)
    DIR/beacon.key   the beacon secret, 32 bytes as 64 hex digits

``AppKeys`` is a frozen dataclass of bytes, so it pickles to a spawned node process as it is.
"""

from __future__ import annotations

import os
import secrets
import stat
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
        _write_private(directory / KEY_FILE, f"public {self.curve.public.decode('ascii')}\nsecret {self.curve.secret.decode('ascii')}\n")
        _write_private(directory / ALLOWED_FILE, "".join(f"{key.decode('ascii')}\n" for key in sorted(self.allowed)))
        _write_private(directory / BEACON_FILE, self.beacon_secret.hex() + "\n")
        return directory

    @classmethod
    def load(cls, directory: str | Path) -> AppKeys:
        """Read the key files of *directory*; ``KeyFileError`` names the file and what is wrong with it."""
        directory = Path(directory)
        if not directory.is_dir():
            raise KeyFileError(f"{directory}: not a directory of key files; make one with 'riaps-sim keys new {directory}'")
        pair = _read_key_pair(directory / KEY_FILE)
        allowed = _read_allowed(directory / ALLOWED_FILE)
        secret = _read_beacon_secret(directory / BEACON_FILE)
        return cls(curve=pair, allowed=allowed, beacon_secret=secret)


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
    os.chmod(path, _MODE)  # whatever the umask


def _read_private(path: Path) -> list[str]:
    """The meaningful lines of *path*, after checking that only its owner can read it."""
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"{path}: missing; a key directory holds {KEY_FILE}, {ALLOWED_FILE} and {BEACON_FILE}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise KeyFileError(f"{path}: readable or writable by others (mode {stat.S_IMODE(mode):04o}); run 'chmod 600 {path}'")
    try:
        text = path.read_text(encoding="ascii")
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
