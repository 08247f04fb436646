"""The pilot watch at work in the fleet manager: fed on the event loop, it writes what it finds off it.

`PilotMonitor` owns a `PilotWatch` (pilots/watch.py) and one writer thread: the watch's actions are
written in the order they were found (an intervention is opened before it is closed), each in a session
of its own, through the pilot service functions. A write is tried again while the database is out of
reach (db/retry.py); one that fails otherwise is logged and skipped.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial

from labfleet_sim.pedestrians import Crowd
from sqlalchemy import Engine
from sqlmodel import Session

from fleet_manager.core.robots import RobotReport
from fleet_manager.db.retry import call_retrying
from fleet_manager.pilots import service
from fleet_manager.pilots.watch import (
    Action,
    CloseInterventions,
    ContactReport,
    NewIncident,
    OpenIntervention,
    PilotWatch,
    SiteFacts,
)
from fleet_manager.sites.service import Site, SiteCatalog

log = logging.getLogger(__name__)


def site_facts(site: Site) -> SiteFacts:
    """What the watch needs of a site: its fleet's footprints, places, operating zones and pedestrians."""
    actors = getattr(site.world, "actors", ())
    return SiteFacts(robots={r.id: r.model.radius for r in site.fleet.robots},
                     places=[(p.name, p.x, p.y) for p in site.navgraph.places.values()],
                     zones=site.operating_zones, pedestrians=Crowd(actors) if actors else None)


def apply(engine: Engine, sites: SiteCatalog, actions: Iterable[Action], stop: threading.Event | None = None) -> None:
    """Write the actions, in order, each in a session of its own, each tried again while the database is out
    of reach (until `stop` is set); any other failure is logged and the action skipped."""
    for action in actions:
        try:
            what = f"pilot record {type(action).__name__} of {action.robot_id}"
            call_retrying(partial(_store, engine, sites, action), stop, what=what)
        except Exception:  # one record lost, the others still written
            log.exception("could not record %s", action)


def _store(engine: Engine, sites: SiteCatalog, action: Action) -> None:
    with Session(engine, expire_on_commit=False) as session:
        _apply_one(session, sites, action)


def _apply_one(session: Session, sites: SiteCatalog, action: Action) -> None:
    if isinstance(action, OpenIntervention):
        row = service.open_automatic(session, sites, action.robot_id, action.kind, action.reason,
                                     mission_id=action.mission_id, sim_time=action.sim_time)
        log.info("robot %s: intervention %s (%s, %s)", action.robot_id, row.id, row.kind, row.reason)
    elif isinstance(action, CloseInterventions):
        ended = service.close_open(session, action.robot_id, sim_time=action.sim_time, kinds=action.kinds,
                                   distance_m=action.distance_m)
        if ended is not None:
            log.info("robot %s: intervention %s ended", action.robot_id, ended.id)
    elif isinstance(action, NewIncident):
        incident = service.record_automatic(
            session, sites, action.robot_id, action.severity, action.kind, x=action.x, y=action.y,
            place=action.place, description=action.description, evidence=action.evidence,
            mission_id=action.mission_id, sim_time=action.sim_time)
        log.info("robot %s: incident %s %s %s: %s", action.robot_id, incident.id, incident.severity,
                 incident.kind, incident.description)


class PilotMonitor:
    """The watch, fed on the event loop; its actions written by one thread, in order."""

    def __init__(self, engine: Engine, sites: SiteCatalog, watch: PilotWatch) -> None:
        self.engine = engine
        self.sites = sites
        self.watch = watch
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="pilot-watch")
        self._stop = threading.Event()  # set on close: a write waiting for the database gives up
        self._last: Future[None] | None = None  # writes run in order: the last one done, all are

    @classmethod
    def for_site(cls, engine: Engine, sites: SiteCatalog, site: Site,
                 mission_of: Callable[[str], int | None]) -> PilotMonitor:
        return cls(engine, sites, PilotWatch(site_facts(site), mission_of))

    def refresh(self, site: Site) -> None:
        """The site's fleet changed (a robot registered, edited or retired): follow the new one."""
        self.watch.site = site_facts(site)

    def on_states(self, batch: list[RobotReport]) -> None:
        self._write(self.watch.on_states(batch))

    def on_contact(self, contact: ContactReport) -> None:
        self._write(self.watch.on_contact(contact))

    def on_pedestrians(self, stamp: float, names: list[str], centres: list[tuple[float, float]]) -> None:
        if self.watch.seen.stamp is None:
            log.info("pilot watch: following the simulator's pedestrians (%d on the site)", len(names))
        self.watch.on_pedestrians(stamp, names, centres)

    def on_task_state(self, robot_id: str, task_id: str, state: str) -> None:
        self.watch.on_task_state(robot_id, task_id, state)

    def expect_estop(self, robot_id: str) -> None:
        self.watch.expect_estop(robot_id)

    def operator_estop(self, robot_id: str, accepted: bool, sim_time: float | None, reason: str = "") -> None:
        self._write(self.watch.operator_estop(robot_id, accepted, sim_time, reason))

    def _write(self, actions: list[Action]) -> None:
        if not actions:
            return
        try:
            self._last = self._writer.submit(apply, self.engine, self.sites, actions, self._stop)
        except RuntimeError:  # closed: the lab is stopping
            log.warning("pilot watch stopped: not recorded: %s", actions)

    async def drain(self) -> None:
        """Wait until everything found so far is written."""
        if self._last is not None:
            await asyncio.wrap_future(self._last)

    def close(self) -> None:
        """Write what is queued (without waiting for a database out of reach), then stop the writer thread
        (blocking: call it off the event loop)."""
        self._stop.set()
        self._writer.shutdown(wait=True)
