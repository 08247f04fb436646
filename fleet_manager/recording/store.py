"""Where mission recordings live: one bag folder per recording segment, and a side-car JSON per mission.

    <dir>/mission-42/mission-42_0.mcap    segment 0: from the moment mission 42 went underway
    <dir>/mission-42/metadata.yaml
    <dir>/mission-42.1/mission-42.1_0.mcap  segment 1: after a fleet manager restart (or a requeue)
    <dir>/mission-42.json                 the side-car: every segment with its status and figures

A segment is "recording" while written; then "finished" (the file is complete), "failed" (the writer
reported an error; what it wrote is kept), "unfinished" (found still open after a restart without
metadata.yaml) or "pruned" (deleted by the retention policy). The side-car stands in for a
`mission.recording` JSON column until the database has one.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
import threading
from collections.abc import Collection
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer

from fleet_manager.core.errors import Conflict, NotFound
from fleet_manager.recording.retention import prune
from fleet_manager.recording.sink import METADATA_RECORD
from fleet_manager.recording.writer import RecordingStats

log = logging.getLogger(__name__)

_FOLDER = re.compile(r"^mission-(\d+)(?:\.(\d+))?$")
_SIDECAR = re.compile(r"^mission-(\d+)\.json$")
READABLE = ("finished", "failed", "unfinished")


def _now() -> str:
    return datetime.now(UTC).isoformat()


class RecordingStore:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()  # side-cars are read-modified-written from worker threads

    # -- names ------------------------------------------------------------------------------------
    def folder(self, mission_id: int, segment: int) -> Path:
        return self.directory / (f"mission-{mission_id}" if segment == 0 else f"mission-{mission_id}.{segment}")

    def sidecar(self, mission_id: int) -> Path:
        return self.directory / f"mission-{mission_id}.json"

    def load(self, mission_id: int) -> dict[str, Any] | None:
        try:
            data: dict[str, Any] = json.loads(self.sidecar(mission_id).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except ValueError:
            log.error("recording side-car %s is not JSON; ignored", self.sidecar(mission_id))
            return None
        return data

    def _save(self, mission_id: int, data: dict[str, Any]) -> None:
        path = self.sidecar(mission_id)
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
        tmp.replace(path)

    # -- segments ---------------------------------------------------------------------------------
    def begin(self, mission_id: int, metadata_status: str) -> tuple[int, Path]:
        """The next segment of a mission: (its number, its folder, not yet created); noted as recording."""
        self.directory.mkdir(parents=True, exist_ok=True)
        with self._lock:
            data = self.load(mission_id) or {"mission_id": mission_id, "segments": []}
            segment = len(data["segments"])
            while self.folder(mission_id, segment).exists():  # a side-car lost or behind: never overwrite
                segment += 1
            folder = self.folder(mission_id, segment)
            data["segments"].append({"segment": segment, "folder": folder.name,
                                     "file": f"{folder.name}/{folder.name}_0.mcap", "status": "recording",
                                     "started_at": _now(), "mission_status": metadata_status})
            self._save(mission_id, data)
        return segment, folder

    def abandon(self, mission_id: int, segment: int, error: str) -> None:
        """The recorder could not be started: the segment is noted as failed, with the reason."""
        self._update(mission_id, segment, status="failed", error=error, ended_at=_now(), bytes=0)

    def finish(self, mission_id: int, segment: int, stats: RecordingStats, mission_status: str) -> None:
        self._update(mission_id, segment, status="failed" if stats.error else "finished", ended_at=_now(),
                     bytes=stats.bytes, messages=stats.messages, error=stats.error, mission_status=mission_status,
                     dropped={"scans": stats.dropped_scans, "sensor": stats.dropped_sensor, "lost": stats.lost,
                              "invalid": stats.invalid, "late": stats.late},
                     skipped_scans=stats.skipped_scans)

    def _update(self, mission_id: int, segment: int, **fields: Any) -> None:
        with self._lock:
            data = self.load(mission_id)
            if data is None:
                return
            for seg in data["segments"]:
                if seg["segment"] == segment:
                    seg.update(fields)
            self._save(mission_id, data)

    def recover(self) -> None:
        """At start-up: segments a previous process left "recording" are finished (its writer process
        finishes the file when its parent dies) or unfinished; merged downloads left behind are deleted."""
        for leftover in self.directory.glob(".merge-*.mcap"):
            leftover.unlink(missing_ok=True)
        for path in sorted(self.directory.glob("mission-*.json")):
            match = _SIDECAR.match(path.name)
            if match is None:
                continue
            with self._lock:
                data = self.load(int(match.group(1)))
                if data is None:
                    continue
                left = [seg for seg in data["segments"] if seg["status"] == "recording"]
                for seg in left:
                    mcap = self.directory / seg["file"]
                    done = (self.directory / seg["folder"] / "metadata.yaml").is_file()
                    seg.update(status="finished" if done else "unfinished", ended_at=seg.get("ended_at") or _now(),
                               bytes=mcap.stat().st_size if mcap.is_file() else 0,
                               note="closed by its writer process after the fleet manager stopped")
                if left:
                    self._save(int(match.group(1)), data)

    # -- retention --------------------------------------------------------------------------------
    def prune(self, max_bytes: int | None, max_age_s: float | None, keep: Collection[Path] = ()) -> list[Path]:
        """Apply the retention limits (recordings being written are kept); note deleted segments as pruned."""
        deleted = prune(self.directory, max_bytes, max_age_s, keep=keep)
        for folder in deleted:
            match = _FOLDER.match(folder.name)
            if match is not None:
                self._update(int(match.group(1)), int(match.group(2) or 0), status="pruned", pruned_at=_now())
        return deleted

    # -- download ---------------------------------------------------------------------------------
    def file_for(self, mission_id: int) -> tuple[Path, bool]:
        """The MCAP file of a mission's recording: (path, is_temporary). Several segments are merged into a
        temporary file (the caller deletes it). NotFound / Conflict say why there is none."""
        data = self.load(mission_id)
        if data is None or not data["segments"]:
            raise NotFound(f"mission {mission_id} has no recording: it never went underway while recording was on")
        segments = data["segments"]
        if any(s["status"] == "recording" for s in segments):
            raise Conflict(f"mission {mission_id} is still being recorded; its recording is ready when it ends")
        files = [self.directory / s["file"] for s in segments if s["status"] in READABLE]
        files = [f for f in files if f.is_file()]
        if not files:
            if any(s["status"] == "pruned" for s in segments):
                raise NotFound(f"the recording of mission {mission_id} was deleted by the retention policy "
                               f"(LABFLEET_RECORDING_MAX_BYTES / LABFLEET_RECORDING_MAX_AGE_DAYS)")
            raise NotFound(f"the recording of mission {mission_id} failed: "
                           f"{'; '.join(str(s.get('error')) for s in segments)}")
        if len(files) == 1:
            return files[0], False
        return merge(files, self.directory), True


def merge(files: list[Path], directory: Path) -> Path:
    """The segments' messages in one MCAP file (ROS 2 profile), with the first segment's mission record."""
    fd, name = tempfile.mkstemp(prefix=".merge-", suffix=".mcap", dir=directory)
    target = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            writer = Writer(out, compression=CompressionType.ZSTD)
            writer.start(profile="ros2", library="labfleet recorder (merged segments)")
            schemas: dict[tuple[str, bytes], int] = {}
            channels: dict[str, int] = {}
            first_meta: dict[str, str] | None = None
            for index, path in enumerate(files):
                with path.open("rb") as f:
                    reader = make_reader(f)
                    for record in reader.iter_metadata():
                        if record.name == METADATA_RECORD and first_meta is None:
                            first_meta = dict(record.metadata)
                    for schema, channel, message in reader.iter_messages(log_time_order=True):
                        cid = channels.get(channel.topic)
                        if cid is None:
                            assert schema is not None
                            key = (schema.name, schema.data)
                            sid = schemas.get(key)
                            if sid is None:
                                sid = schemas[key] = writer.register_schema(schema.name, schema.encoding, schema.data)
                            cid = channels[channel.topic] = writer.register_channel(
                                channel.topic, channel.message_encoding, sid, dict(channel.metadata))
                        writer.add_message(cid, message.log_time, message.data, message.publish_time,
                                           message.sequence)
                log.debug("merged segment %d: %s", index, path)
            writer.add_metadata(METADATA_RECORD, {**(first_meta or {}), "segments": str(len(files))})
            writer.finish()
    except BaseException:
        with contextlib.suppress(OSError):
            target.unlink()
        raise
    return target
