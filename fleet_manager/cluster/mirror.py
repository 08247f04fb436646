"""A replica's robots: the newest state of each as the leader last streamed it (its hub's latest frames)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleet_manager.core.errors import NotFound
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.telemetry.hub import TelemetryHub


class MirroredRegistry(RobotRegistry):
    """GET /robots on a replica: what the leader streamed last (a robot as GET /robots gives it on the leader); a
    registered robot the leader has streamed nothing of is offline, without a pose, as the leader shows it.
    Nothing is dispatched from it: a replica runs no dispatcher."""

    def __init__(self, hub: TelemetryHub, timeout_s: float) -> None:
        super().__init__(timeout_s)
        self._hub = hub

    def ids(self) -> list[str]:
        return sorted(self._hub.latest)

    def view(self, robot_id: str) -> dict[str, Any]:
        try:
            return self._hub.latest[robot_id]
        except KeyError:
            raise NotFound(f"unknown robot {robot_id!r}", field="robot_id") from None

    def views(self) -> list[dict[str, Any]]:
        return [self._hub.latest[rid] for rid in sorted(self._hub.latest)]

    def public(self, robot_id: str, now: float | None = None) -> dict[str, Any]:
        """The leader's last frame of the robot, as the leader's `public` gives it (`last_seen` a datetime again: the
        same bytes once serialised); else the registered robot offline (NotFound for one neither streamed nor
        registered)."""
        frame = self._hub.latest.get(robot_id)
        if frame is None:
            return super().public(robot_id, now)
        out = dict(frame)
        if isinstance(out.get("last_seen"), str):
            out["last_seen"] = datetime.fromisoformat(out["last_seen"])
        return out

    def publics(self) -> list[dict[str, Any]]:
        now = self._clock()
        return [self.public(rid, now) for rid in sorted(set(self._hub.latest) | set(self.registered))]
