"""Replay use cases: re-simulate a recorded mission (with what-if overrides), compare it with the recording,
store both as a replay row linked to the mission.

The re-simulation is CPU-bound pure Python: in the fleet manager it runs in a child process
(`python -m fleet_manager.replay.worker`, started in turn by replay/queue.py), never in the server's own process,
whose GIL the event loop and the telemetry need; the child writes its results to the same database. Tests and
benchmarks call `replay_mission`, which runs in the caller.
"""

from __future__ import annotations

import logging
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from fleet_manager.core.errors import DomainError, InvalidInput, NotFound
from fleet_manager.db.tables import Mission, utcnow
from fleet_manager.replay.compare import compare
from fleet_manager.replay.initial_state import InitialState
from fleet_manager.replay.reader import read_metadata, read_recording, recorded_run
from fleet_manager.replay.resim import parse_overrides, resimulate
from fleet_manager.replay.schemas import ReplayPublic
from fleet_manager.replay.tables import Replay
from fleet_manager.sites.service import require_site

log = logging.getLogger(__name__)

RECORDINGS = "recordings"  # under the data directory


def recordings_dir(data_dir: Path, configured: Path | None = None) -> Path:
    """The recordings folder: the configured one (LABFLEET_RECORDINGS_DIR), else <data_dir>/recordings."""
    return configured or data_dir / RECORDINGS


def recording_path(recordings: Path, mission_id: int) -> Path:
    """Where mission `mission_id`'s recording lives: the bag folder of its first segment (the recording
    service's layout: mission-ID, then mission-ID.1, ... when a mission is recorded again after a restart),
    whose metadata holds the state the mission started from."""
    return recordings / f"mission-{mission_id}"


def get_replay(session: Session, replay_id: int) -> ReplayPublic:
    row = session.get(Replay, replay_id)
    if row is None:
        raise NotFound(f"no replay {replay_id}", field="replay_id")
    position = None
    if row.status == "queued":  # its place in the site's queue (replay/queue.py): 1 starts next
        position = 1 + session.exec(select(func.count()).select_from(Replay).where(
            Replay.status == "queued", col(Replay.id) < replay_id)).one()
    return ReplayPublic.of(row, position)


def create_replay(session: Session, recordings: Path, mission_id: int,
                  overrides: Sequence[str] | Mapping[str, Any], sites_dir: Path | None = None,
                  status: str = "running", requested_by: str | None = None) -> Replay:
    """Check the mission, its recording and the overrides (a `world` among the sites of `sites_dir`); store a
    replay row."""
    if session.get(Mission, mission_id) is None:
        raise NotFound(f"no mission {mission_id}", field="mission_id")
    parsed = parse_overrides(overrides)
    if sites_dir is not None and "world" in parsed:
        require_site(sites_dir, str(parsed["world"]), "overrides.world")
    bag = recording_path(recordings, mission_id)
    if not bag.is_dir():
        raise NotFound(f"mission {mission_id} has no recording", field="mission_id")
    meta = read_metadata(bag)
    initial = InitialState.from_metadata(meta)
    if initial.missions[0].mission_id != mission_id:
        raise InvalidInput(f"the recording {bag} is of mission {initial.missions[0].mission_id}, not {mission_id}",
                           field="mission_id")
    row = Replay(mission_id=mission_id, status=status, overrides=parsed, recording=str(bag),
                 seed=int(parsed.get("seed", initial.seed)), created_at=utcnow(), requested_by=requested_by)
    session.add(row)
    session.commit()
    session.refresh(row)
    return row


def execute_replay(engine: Engine, replay_id: int, sites_dir: Path) -> ReplayPublic:
    """Re-simulate, compare and store; a domain error (a step kind that cannot be re-simulated, a place the
    overridden world lacks) is stored as the replay's error. Any other error is stored, then raised."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Replay, replay_id)
        if row is None:
            raise NotFound(f"no replay {replay_id}", field="replay_id")
        bag, overrides = Path(row.recording), dict(row.overrides)
    fields: dict[str, Any]
    try:
        recording = read_recording(bag)
        run = resimulate(recording.initial, recording.events, sites_dir, overrides)
        comparison = compare(recorded_run(recording), run)
        fields = {"status": "done", "result": run.summary(), "comparison": comparison, "sim_s": round(run.sim_s, 3),
                  "wall_s": round(run.wall_s or 0.0, 3), "seed": run.seed}
    except DomainError as exc:
        fields = {"status": "error", "error": exc.message}
    except Exception as exc:
        _store(engine, replay_id, {"status": "error", "error": f"re-simulation failed: {exc!r}"})
        raise
    return _store(engine, replay_id, fields)


def _store(engine: Engine, replay_id: int, fields: Mapping[str, Any]) -> ReplayPublic:
    with Session(engine, expire_on_commit=False) as session:
        row = session.get(Replay, replay_id)
        assert row is not None
        for key, value in fields.items():
            setattr(row, key, value)
        row.finished_at = utcnow()
        session.add(row)
        session.commit()
        session.refresh(row)
        return ReplayPublic.of(row)


def replay_mission(engine: Engine, sites_dir: Path, recordings: Path, mission_id: int,
                   overrides: Sequence[str] | Mapping[str, Any] = ()) -> ReplayPublic:
    """Create and run a replay in this process (tests, benchmarks, research scripts)."""
    with Session(engine, expire_on_commit=False) as session:
        row = create_replay(session, recordings, mission_id, overrides)
    assert row.id is not None
    return execute_replay(engine, row.id, sites_dir)


def reap(engine: Engine, replay_id: int, proc: subprocess.Popen[bytes]) -> None:
    """Wait for the worker; a worker that died before storing its result leaves the replay failed, not running."""
    code = proc.wait()
    try:
        with Session(engine, expire_on_commit=False) as session:
            row = session.get(Replay, replay_id)
            if row is not None and row.status == "running":
                row.status, row.error, row.finished_at = "error", f"the replay worker exited with code {code}", utcnow()
                session.add(row)
                session.commit()
    except Exception:
        log.exception("replay %s: could not record the worker's end", replay_id)
