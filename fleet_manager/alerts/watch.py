"""The alert watch: once a second, the conditions that hold (from the robot registry and the missions running)
and the events since the last look (failed missions, incidents, from the database, so that those written by any
part of the fleet manager are seen), applied by the AlertService. The database is written only when something
changed. After a restart it looks again from the newest event alert it had raised (each event alerts once)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from fleet_manager.alerts import rules
from fleet_manager.alerts.rules import Raise, RobotFacts
from fleet_manager.alerts.service import AlertService
from fleet_manager.db.retry import to_thread_retrying, unreachable
from fleet_manager.db.tables import utcnow
from fleet_manager.missions.runner import RunState
from fleet_manager.robots.service import RobotRegistry

log = logging.getLogger(__name__)

PERIOD_S = 1.0
LOOK_BACK = timedelta(seconds=60)  # records committed late (a slow writer thread) are still seen
SEEN_MAX = 10_000  # event keys remembered, so that each is offered to the database once


class AlertWatch:
    def __init__(self, service: AlertService, registry: RobotRegistry, runs: Callable[[], Iterable[RunState]],
                 battery_alert_pct: float) -> None:
        self.service = service
        self.registry = registry
        self.runs = runs
        self.battery_alert_pct = battery_alert_pct
        self._applied: frozenset[str] | None = None  # the condition keys last written
        self._seen: set[str] = set()
        self._since: datetime | None = None

    def conditions(self) -> list[Raise]:
        robots = []
        for rid in self.registry.ids():
            report = self.registry.entry(rid).report
            robots.append(RobotFacts(rid, str(self.registry.mode(rid)), report.battery, report.charging,
                                     self.registry.localised(rid)))
        out = rules.robot_conditions(robots, self.battery_alert_pct)
        for state in self.runs():
            if state.awaiting is not None:
                out.append(rules.awaiting_confirmation(state.mission_id, state.robot_id, state.awaiting,
                                                       state.awaiting_prompt))
        return out

    def _events(self) -> list[Raise]:
        """Failed missions and incidents since the last look (from the newest event alert after a restart)."""
        if self._since is None:
            self._since = self.service.last_event_at() or utcnow()
        looked_at = utcnow()
        since = self._since - LOOK_BACK
        events: list[Raise] = [rules.mission_failed(mid, robot, reason)
                               for mid, robot, reason in self.service.failed_since(since)]
        for i in self.service.incidents_since(since):
            alert = rules.incident_opened(i.id, i.kind, i.severity, i.robot_id, i.mission_id, i.description)
            if alert is not None:
                events.append(alert)
        self._since = looked_at
        return [e for e in events if e.key not in self._seen]

    async def tick(self) -> None:
        conditions = self.conditions()
        events = await to_thread_retrying(self._events)
        keys = frozenset(c.key for c in conditions)
        if keys == self._applied and not events:
            return
        await to_thread_retrying(self.service.apply, conditions, events)
        self._applied = keys
        if len(self._seen) > SEEN_MAX:
            self._seen.clear()  # (the database still raises each once: its keys are checked there)
        self._seen.update(e.key for e in events)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(PERIOD_S)
            try:
                await self.tick()
            except Exception as exc:
                if unreachable(exc):
                    log.warning("alerts: the database is out of reach (%s)", exc)
                else:
                    log.exception("alerts: the watch failed a round")
