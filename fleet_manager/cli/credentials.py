"""The CLI's stored login: $XDG_CONFIG_HOME/labfleet/credentials.json (default ~/.config/labfleet/), mode 0600
in a directory of mode 0700. LABFLEET_TOKEN, when set, is used instead of the stored access token. A refresh token is
used once: the commands refresh one at a time (`locked`), so two of them never present the same one."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path


class CredentialsError(Exception):
    """The credentials file cannot be read or written; the message names it."""


@dataclass
class Credentials:
    api: str
    username: str
    access_token: str
    refresh_token: str


def config_dir() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".config"  # XDG: absolute only
    return root / "labfleet"


def credentials_path() -> Path:
    return config_dir() / "credentials.json"


def env_token() -> str | None:
    return os.environ.get("LABFLEET_TOKEN") or None


def load() -> Credentials | None:
    """The stored login (None when nobody logged in)."""
    path = credentials_path()
    try:
        data = json.loads(path.read_text())
        return Credentials(str(data["api"]), str(data["username"]), str(data["access_token"]),
                           str(data["refresh_token"]))
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CredentialsError(f"{path}: unreadable credentials ({exc}); run `labfleet login` again") from None


def delete() -> Path | None:
    """Forget the stored login; its path (None when nobody was logged in)."""
    path = credentials_path()
    try:
        path.unlink()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise CredentialsError(f"cannot delete {path}: {exc}") from None
    return path


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """The stored login to this process alone while it refreshes (an exclusive lock on a file beside it)."""
    path = config_dir() / ".credentials.lock"
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise CredentialsError(f"cannot open {path}: {exc}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # and the lock with it


def save(credentials: Credentials) -> Path:
    """Write the login (replacing the file atomically), readable by its owner only."""
    path = credentials_path()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            json.dump(asdict(credentials), out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except OSError as exc:
        raise CredentialsError(f"cannot write {path}: {exc}") from None
    return path
