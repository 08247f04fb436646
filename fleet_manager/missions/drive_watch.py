"""The fleet manager's side of one released drive (the mission runner and the lock-step benchmark both use it):
each cycle it releases further, reroutes, gives way or gives up, from the traffic manager's state."""

from __future__ import annotations

from dataclasses import dataclass

from fleet_manager.missions.traffic import (
    MAX_YIELDS,
    OBSTACLE_REPLAN_S,
    OBSTACLE_REPLANS,
    REROUTE,
    RESEND_S,
    ROUTE_WAIT_S,
    YIELD,
    YIELD_S,
    Route,
    TrafficManager,
)


def released_count(route: Route, total: int) -> int:
    """Waypoints of a task that may be driven: the released part of its planned route; waypoints after
    the route (a coverage sweep) are released with the route's end."""
    return total if route.released >= len(route.waypoints) else max(route.released, 1)


@dataclass
class DriveWatch:
    """The fleet manager's side of one released drive, decided once per cycle (the mission runner and
    the lock-step benchmark both use it): release further, reroute, give way, or give up."""

    robot_id: str
    route: Route
    total: int  # waypoints of the task (the route, then any sweep)
    sent: int  # waypoints released to the robot so far
    sent_at: float
    moved_at: float  # the last time the release grew (or the drive began)
    yields: int = 0  # times this mission's robot gave way so far
    blocked_since: float | None = None  # stopped by an obstacle (the agent's state) since

    @classmethod
    def start(cls, robot_id: str, route: Route, total: int, now: float, yields: int = 0) -> DriveWatch:
        sent = released_count(route, total)
        return cls(robot_id, route, total, sent, now, now, yields)

    def tick(self, traffic: TrafficManager, heading_to: int, now: float, state: str = "") -> tuple[str, int | str]:
        """One cycle: ("release", count) to send (again), ("stop", reason) to end the drive (REROUTE,
        YIELD or a failure), or ("", 0) for nothing to do. `state` is the agent's (e.g. stopped for an
        obstacle: after OBSTACLE_REPLAN_S the drive is planned again, around what stands there)."""
        robot_id = self.robot_id
        if state != "waiting_obstacle":
            self.blocked_since = None
        elif self.blocked_since is None:
            self.blocked_since = now
        if heading_to >= 2:  # got past the start of this drive: earlier obstacles are behind it
            traffic.obstacle_replans.pop(robot_id, None)
        if self.blocked_since is not None and now - self.blocked_since > OBSTACLE_REPLAN_S:
            replans = traffic.obstacle_replans[robot_id] = traffic.obstacle_replans.get(robot_id, 0) + 1
            if replans > OBSTACLE_REPLANS:  # planning again does not get it past (a kerb, a parked car)
                traffic.obstacle_replans.pop(robot_id, None)
                return "stop", f"blocked by an obstacle for {replans * OBSTACLE_REPLAN_S:.0f} s"
        if robot_id in traffic.reroute or (self.blocked_since is not None
                                           and now - self.blocked_since > OBSTACLE_REPLAN_S):
            traffic.reroute.discard(robot_id)
            return "stop", REROUTE
        stalled = now - self.moved_at if self.sent < self.total else 0.0
        if stalled > ROUTE_WAIT_S:
            ahead = ", ".join(sorted(traffic.blockers(robot_id))) or "none"
            return "stop", f"the way ahead did not clear (waited {stalled:.0f} s, for {ahead})"
        if stalled > YIELD_S and self.yields < MAX_YIELDS and traffic.should_yield(robot_id):
            return "stop", YIELD
        traffic.progress(robot_id, heading_to)
        count = self.sent
        if self.sent < self.total:
            traffic.releasable(robot_id)
            count = released_count(self.route, self.total)
            if count > self.sent:
                self.moved_at = now
        # sent again every RESEND_S until the drive ends, the whole route too: a release that reached the adapter
        # before its task ran there (a VDA 5050 vehicle still canceling an older order) would else be lost for good
        if count > self.sent or now - self.sent_at > RESEND_S:
            self.sent, self.sent_at = count, now
            return "release", count
        return "", 0
