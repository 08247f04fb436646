"""The fleet manager's files are its user's alone: the data directory 0700, the SQLite database and the
recordings 0600. `restrict()` runs first at start-up (`python -m fleet_manager`, which `labfleet up` runs too):
the process umask 0o077, so that what it and its children (the recording writer, recording/sink.py, which sets it
again) create is private, and the modes of what an earlier version left readable put right."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from fleet_manager.db.engine import sqlite_path
from fleet_manager.settings import Settings

log = logging.getLogger(__name__)
UMASK = 0o077
SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def private_umask() -> None:
    os.umask(UMASK)


def sqlite_files(database_url: str) -> list[Path]:
    """The files of a SQLite database (the database, its WAL, shared memory and journal); none for a server."""
    path = sqlite_path(database_url)
    return [] if path is None else [Path(f"{path}{suffix}") for suffix in SQLITE_SUFFIXES]


def restrict(settings: Settings) -> None:
    """The umask, then the data directory (created if missing), the database files and the recordings: every
    directory 0700, every file 0600."""
    private_umask()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    _chmod(settings.data_dir, 0o700)
    for path in sqlite_files(settings.database_url):
        if path.exists():
            _chmod(path, 0o600)
    recordings = settings.recordings_dir
    if recordings is not None and recordings.is_dir():
        _chmod(recordings, 0o700)
        for root, dirs, files in os.walk(recordings):
            for name in dirs:
                _chmod(Path(root, name), 0o700)
            for name in files:
                _chmod(Path(root, name), 0o600)


def _chmod(path: Path, mode: int) -> None:
    try:
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            path.chmod(mode)
    except OSError as exc:  # not ours (a shared directory): said, and left as it is
        log.warning("could not make %s private: %s", path, exc)
