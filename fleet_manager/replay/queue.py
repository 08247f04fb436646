"""The replay queue of a lab's site (issue 19): re-simulations are CPU-bound worker processes, so at most
`LABFLEET_REPLAY_WORKERS` run at once; the rest wait, oldest first, with their place shown (`position`). A user has
at most `LABFLEET_REPLAY_QUEUE_PER_USER` replays waiting or running and the site `LABFLEET_REPLAY_QUEUE_PER_SITE`;
a request beyond either is refused (409) saying which limit and how many are ahead. The queue lives in the
database: after a restart the waiting replays start in turn, and those that were running (their worker ended with
the fleet manager) are marked failed.

The worker gets the database URL through its environment (LABFLEET_REPLAY_DATABASE_URL), never on its command line,
which every local user can read."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func
from sqlmodel import Session, col, select

from fleet_manager.core.errors import Conflict
from fleet_manager.db.tables import utcnow
from fleet_manager.replay import service
from fleet_manager.replay.schemas import ReplayPublic
from fleet_manager.replay.tables import Replay

log = logging.getLogger(__name__)

DATABASE_ENV = "LABFLEET_REPLAY_DATABASE_URL"
WAITING = ("queued", "running")


class ReplayQueue:
    def __init__(self, engine: Engine, database_url: str, sites_dir: Path, recordings: Path, *, workers: int = 1,
                 per_user: int = 3, per_site: int = 20) -> None:
        self.engine = engine
        self.database_url = database_url
        self.sites_dir = sites_dir
        self.recordings = recordings
        self.workers, self.per_user, self.per_site = workers, per_user, per_site
        self._lock = threading.Lock()
        self._running: dict[int, threading.Thread] = {}

    def submit(self, username: str | None, mission_id: int, overrides: Sequence[str] | Mapping[str, Any],
               wait_s: float = 0.0) -> ReplayPublic:
        """Queue a replay (checked as service.create_replay checks it) and start it when a worker is free; return
        at once or, with `wait_s`, when it is done or after that many seconds. Call it from a worker thread."""
        with self._lock, Session(self.engine, expire_on_commit=False) as session:
            self._check_limits(session, username)
            row = service.create_replay(session, self.recordings, mission_id, overrides, self.sites_dir,
                                        status="queued", requested_by=username)
        assert row.id is not None
        self._start_next()
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:  # its turn may come meanwhile
            worker = self._running.get(row.id)
            if worker is not None:
                worker.join(max(0.0, deadline - time.monotonic()))
                break
            with Session(self.engine) as session:
                if service.get_replay(session, row.id).status not in WAITING:
                    break
            time.sleep(0.2)
        with Session(self.engine, expire_on_commit=False) as session:
            return service.get_replay(session, row.id)

    def recover(self) -> None:
        """At start-up: replays left running by the previous fleet manager failed; the waiting ones start."""
        with Session(self.engine) as session:
            for row in session.exec(select(Replay).where(Replay.status == "running")):
                row.status, row.finished_at = "error", utcnow()
                row.error = "the fleet manager stopped while this replay ran; request it again"
                session.add(row)
            session.commit()
        self._start_next()

    def _check_limits(self, session: Session, username: str | None) -> None:
        waiting = select(func.count()).select_from(Replay).where(col(Replay.status).in_(WAITING))
        site_count = session.exec(waiting).one()
        if site_count >= self.per_site:
            raise Conflict(f"{site_count} replays of this site are waiting or running (at most {self.per_site}); "
                           f"request it again when one has ended")
        mine = session.exec(waiting.where(Replay.requested_by == username)).one()
        if mine >= self.per_user:
            raise Conflict(f"you have {mine} replays waiting or running (at most {self.per_user} per user); "
                           f"request it again when one has ended")

    def _start_next(self) -> None:
        """Start the oldest waiting replays while a worker is free."""
        with self._lock:
            while len(self._running) < self.workers:
                with Session(self.engine, expire_on_commit=False) as session:
                    row = session.exec(select(Replay).where(Replay.status == "queued")
                                       .order_by(col(Replay.id)).limit(1)).first()
                    if row is None:
                        return
                    row.status = "running"
                    session.add(row)
                    session.commit()
                    replay_id = row.id
                assert replay_id is not None
                watcher = threading.Thread(target=self._run, args=(replay_id,), name=f"replay:{replay_id}",
                                           daemon=True)
                self._running[replay_id] = watcher
                watcher.start()

    def _run(self, replay_id: int) -> None:
        try:
            env = dict(os.environ, **{DATABASE_ENV: self.database_url})
            root = str(Path(__file__).resolve().parents[2])
            env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH")) if p)
            proc = subprocess.Popen([sys.executable, "-m", "fleet_manager.replay.worker", "--sites-dir",
                                     str(self.sites_dir), str(replay_id)], env=env, stdin=subprocess.DEVNULL)
            service.reap(self.engine, replay_id, proc)
        except Exception:
            log.exception("replay %s: could not run its worker", replay_id)
        finally:
            with self._lock:
                self._running.pop(replay_id, None)
            self._start_next()
