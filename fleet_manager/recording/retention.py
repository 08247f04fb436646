"""Retention of mission recordings: delete the oldest beyond a total size and an age."""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Recording:
    path: Path
    bytes: int
    modified: float  # newest file in it, epoch seconds
    finished: bool  # metadata.yaml is written when a recording is closed


def recordings(directory: Path) -> list[Recording]:
    """The recordings (bag folders holding an .mcap file) directly under `directory`, oldest first."""
    found = []
    for folder in directory.iterdir() if directory.is_dir() else ():
        if not folder.is_dir() or folder.is_symlink():
            continue
        files = [f for f in folder.iterdir() if f.is_file()]
        if not any(f.suffix == ".mcap" for f in files):
            continue  # not ours: never touched
        stats = [f.stat() for f in files]
        found.append(Recording(folder, sum(s.st_size for s in stats), max(s.st_mtime for s in stats),
                               (folder / "metadata.yaml").is_file()))
    return sorted(found, key=lambda r: (r.modified, r.path.name))


def prune(directory: Path | str, max_bytes: int | None, max_age_s: float | None, *,
          keep: Collection[Path] = (), now: float | None = None) -> list[Path]:
    """Delete recordings older than `max_age_s`, then the oldest until all of them hold <= `max_bytes`.

    Recordings in `keep` (those being written) are never deleted; nor, by size, is an unfinished one
    (no metadata.yaml: being written or abandoned by a crash), which only goes once it is too old.
    None disables a limit. Returns the deleted folders, oldest first.
    """
    now = time.time() if now is None else now
    kept = {Path(p).resolve() for p in keep}
    every = recordings(Path(directory))
    total = sum(r.bytes for r in every)
    present = [r for r in every if r.path.resolve() not in kept]
    deleted: list[Path] = []
    for rec in present:
        too_old = max_age_s is not None and now - rec.modified > max_age_s
        too_big = max_bytes is not None and total > max_bytes and rec.finished
        if too_old or too_big:
            shutil.rmtree(rec.path)
            total -= rec.bytes
            deleted.append(rec.path)
            log.info("deleted recording %s (%d bytes, %s)", rec.path, rec.bytes, "age" if too_old else "size")
    return deleted
