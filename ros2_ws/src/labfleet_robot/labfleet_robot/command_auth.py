"""Who sent a robot command (issue 19): the lab's command key, signing a RobotCommand request, checking one.

ROS 2 gives a service no trustworthy caller identity without DDS Security (which the PyPI wheels lack: README,
"Users, roles and the audit log"), so every caller states its `origin` and signs the request with a per-lab secret
that `labfleet up` generates and hands to the fleet manager and the agents through a 0600 file named by
LABFLEET_COMMAND_KEY_FILE (or, on a robot provisioned by hand, the hex key itself in LABFLEET_COMMAND_KEY), never
on a command line. The signature is HMAC-SHA256 over (robot, command, reason, origin, stamp, nonce): a request is
authenticated when it verifies, its stamp is within FRESH_S of the robot's wall clock and its nonce is new.

Pure Python (no rclpy): the agent verifies, the fleet manager signs, both with this module.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import stat
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

KEY_FILE_ENV = "LABFLEET_COMMAND_KEY_FILE"
KEY_ENV = "LABFLEET_COMMAND_KEY"
KEY_BYTES = 32
FRESH_S = 30.0  # a signed request older (or newer) than this, by the receiver's wall clock, is stale
SENT_REMEMBERED = 4096  # nonces a signer remembers (to tell its own commands in the robots' reports)
# commands a robot carries out even when they are not authenticated: stopping is never refused (safety first)
SAFETY_COMMANDS = frozenset({0, 2})  # RobotCommand.Request.PAUSE, ESTOP


class BadKey(ValueError):
    """The command key is unusable (a file others may read, not hex, too short)."""


class Auth(StrEnum):
    OK = "authenticated"
    NO_KEY = "no key"  # the robot has no command key: it cannot tell anyone's commands apart
    UNSIGNED = "unsigned"
    BAD_SIGNATURE = "bad signature"
    STALE = "stale"
    REPLAYED = "replayed"


@dataclass(frozen=True)
class Signed:
    """The fields a signer fills into a RobotCommand request."""

    origin: str
    stamp_ns: int
    nonce: str
    signature: str


def new_key() -> bytes:
    return secrets.token_bytes(KEY_BYTES)


def write_key_file(path: Path, key: bytes) -> None:
    """Write the key (hex) readable by its owner only: made 0600 before a byte is written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.hex() + "\n")


def _parse(text: str, where: str) -> bytes:
    try:
        key = bytes.fromhex(text.strip())
    except ValueError:
        raise BadKey(f"{where}: the command key is not hex") from None
    if len(key) < 16:
        raise BadKey(f"{where}: the command key is shorter than 16 bytes")
    return key


def load_key(environ: Mapping[str, str] = os.environ) -> bytes | None:
    """The lab's command key from the environment (the file LABFLEET_COMMAND_KEY_FILE names, else the hex in
    LABFLEET_COMMAND_KEY); None when neither is set. A key file that group or others may read is refused."""
    path = environ.get(KEY_FILE_ENV, "")
    if path:
        mode = os.stat(path).st_mode
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise BadKey(f"{path}: the command key file may be read by others (mode {stat.S_IMODE(mode):o}; "
                            "chmod 600 it)")
        return _parse(Path(path).read_text(), path)
    text = environ.get(KEY_ENV, "")
    return _parse(text, KEY_ENV) if text else None


def _mac(key: bytes, robot_id: str, command: int, reason: str, origin: str, stamp_ns: int, nonce: str) -> str:
    message = json.dumps(["labfleet-command/1", robot_id, int(command), reason, origin, int(stamp_ns), nonce],
                         separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


class Signer:
    """Signs the requests of one origin (the fleet manager's node) and remembers the nonces it signed."""

    def __init__(self, key: bytes | None, origin: str) -> None:
        self.key = key
        self.origin = origin
        self._sent: OrderedDict[str, None] = OrderedDict()
        self._lock = threading.Lock()

    def sign(self, robot_id: str, command: int, reason: str) -> Signed:
        """The request's origin, stamp, nonce and signature ("" without a key: the robot then refuses all but
        PAUSE and ESTOP, and reports those unauthenticated)."""
        stamp_ns, nonce = time.time_ns(), secrets.token_hex(12)
        signature = _mac(self.key, robot_id, command, reason, self.origin, stamp_ns, nonce) if self.key else ""
        with self._lock:
            self._sent[nonce] = None
            while len(self._sent) > SENT_REMEMBERED:
                self._sent.popitem(last=False)
        return Signed(self.origin, stamp_ns, nonce, signature)

    def sent(self, nonce: str) -> bool:
        """Whether this signer signed that nonce (recently): the robots' report of one of its own commands."""
        with self._lock:
            return bool(nonce) and nonce in self._sent


class Verifier:
    """A robot's check of the requests it receives: signature, freshness, and each nonce once."""

    def __init__(self, key: bytes | None, robot_id: str, fresh_s: float = FRESH_S) -> None:
        self.key = key
        self.robot_id = robot_id
        self.fresh_ns = int(fresh_s * 1e9)
        self._seen: dict[str, int] = {}  # nonce → stamp_ns, for as long as the stamp is fresh

    def check(self, command: int, reason: str, origin: str, stamp_ns: int, nonce: str, signature: str,
              now_ns: int | None = None) -> Auth:
        if self.key is None:
            return Auth.NO_KEY
        if not signature:
            return Auth.UNSIGNED
        expected = _mac(self.key, self.robot_id, command, reason, origin, stamp_ns, nonce)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            return Auth.BAD_SIGNATURE
        now_ns = time.time_ns() if now_ns is None else now_ns
        if abs(now_ns - int(stamp_ns)) > self.fresh_ns:
            return Auth.STALE
        self._seen = {n: s for n, s in self._seen.items() if abs(now_ns - s) <= self.fresh_ns}
        if nonce in self._seen:
            return Auth.REPLAYED
        self._seen[nonce] = int(stamp_ns)
        return Auth.OK


def _contact_mac(key: bytes, robot_id: str, other: str, by: str, other_kind: str, stamp_ns: int, nonce: str) -> str:
    message = json.dumps(["labfleet-contact/1", robot_id, other, by, other_kind, int(stamp_ns), nonce],
                         separators=(",", ":"), ensure_ascii=False)
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def sign_contact(key: bytes | None, robot_id: str, other: str, by: str, other_kind: str,
                 stamp_ns: int) -> tuple[str, str]:
    """(nonce, signature) of a contact the simulator reports on /sim/contacts; ("", "") without a key."""
    if key is None:
        return "", ""
    nonce = secrets.token_hex(12)
    return nonce, _contact_mac(key, robot_id, other, by, other_kind, stamp_ns, nonce)


class ContactCheck:
    """The fleet manager's check of the contacts on /sim/contacts: signed by the lab's simulator, each once. (Their
    stamps are sim time, so there is no freshness to check: a nonce is remembered instead.)"""

    def __init__(self, key: bytes | None, remembered: int = SENT_REMEMBERED) -> None:
        self.key = key
        self.remembered = remembered
        self._seen: OrderedDict[str, None] = OrderedDict()

    def check(self, robot_id: str, other: str, by: str, other_kind: str, stamp_ns: int, nonce: str,
              signature: str) -> Auth:
        if self.key is None:
            return Auth.NO_KEY
        if not signature:
            return Auth.UNSIGNED
        expected = _contact_mac(self.key, robot_id, other, by, other_kind, stamp_ns, nonce)
        if not hmac.compare_digest(expected, signature.strip().lower()):
            return Auth.BAD_SIGNATURE
        if nonce in self._seen:
            return Auth.REPLAYED
        self._seen[nonce] = None
        while len(self._seen) > self.remembered:
            self._seen.popitem(last=False)
        return Auth.OK


def carried_out_unauthenticated(command: int) -> bool:
    """Whether a robot carries out this command when it is not authenticated: stopping (e-stop, pause) yes;
    moving again (resume, release, dock) and anything unknown no."""
    return int(command) in SAFETY_COMMANDS
