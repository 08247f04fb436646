"""The dispatcher's side of robots in each other's way: robots parked on a waiting robot's way are sent aside
(an idle one by a move-aside mission, one waiting for its own route asked to step aside on the way to its
goal: aside.py), and missions to a dead end another mission holds stay queued (core/dead_ends.py)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fleet_manager.core.allocation import MissionRequest
from fleet_manager.core.dead_ends import dead_ends, held_back, taken_dead_ends
from fleet_manager.core.missions import Priority
from fleet_manager.db.retry import to_thread_retrying
from fleet_manager.missions.aside import aside_spot
from fleet_manager.missions.runner import RunState
from fleet_manager.missions.schemas import MissionCreate
from fleet_manager.missions.service import MissionService
from fleet_manager.missions.texts import say
from fleet_manager.missions.traffic import TrafficManager
from fleet_manager.robots.service import RobotRegistry

Start = Callable[..., Awaitable[bool]]  # Dispatcher._start(mission_id, robot_id, message, ..., making_way=True)


class WayMaking:
    def __init__(self, service: MissionService, registry: RobotRegistry, traffic: TrafficManager,
                 runs: dict[int, RunState], start: Start) -> None:
        self.service = service
        self.registry = registry
        self.traffic = traffic
        self.graph = service.site.navgraph
        self.runs = runs  # the dispatcher's missions running now (the same dict)
        self.start = start
        self.busy: set[str] = set()  # robots being sent aside now: no new work for them meanwhile
        self.dead_ends = dead_ends(self.graph)

    async def make_way(self, robot_id: str, goal: str) -> None:
        """Robots parked on `robot_id`'s way to `goal` move to a free parking spot (a charger when none is left)
        they can reach (aside.py): an idle one by a move-aside mission to the spot nearest by path, one waiting for
        its own route (asked) to the spot on the way to its goal."""
        report = self.registry.entry(robot_id).report
        others, path = self.traffic.parked_on_the_way(robot_id, report.x, report.y, goal)
        for other in others:
            if other in self.busy or not self.registry.online(other) or other not in self.registry.registered:
                continue  # an unregistered robot is never commanded: the route waits for it or goes round
            there = self.registry.entry(other).report
            place = self.graph.nearest_place(there.x, there.y)[0].name
            busy = self.registry.assignments.get(other)
            if busy is not None:  # on a mission: only a robot itself waiting for a route can step aside
                run = self.runs.get(busy)
                if run is not None and run.waiting_route and other not in self.traffic.asked:
                    spot = aside_spot(self.graph, self.traffic, there.x, there.y, run.goal, avoid=set(path))
                    if spot is not None:
                        self.traffic.asked[other] = spot
                continue
            spot = aside_spot(self.graph, self.traffic, there.x, there.y, avoid=set(path))
            if spot is None:
                continue
            self.busy.add(other)
            try:
                body = MissionCreate(spec={"steps": [{"go_to": spot}]}, robot_id=other, priority=Priority.HIGH)
                mission = await to_thread_retrying(self.service.submit, body, move_aside=True)
                said = say("assigned_making_way", robot=other, other=robot_id, place=place)
                await self.start(mission.id, other, said, making_way=True)
            finally:
                self.busy.discard(other)

    def not_held_back(self, requests: list[MissionRequest]) -> list[MissionRequest]:
        """The requests (queue order) whose first place is no dead end that a running mission still drives to or
        stands in, nor one an earlier request is given first."""
        runs = list(self.runs.values())
        standing = [self.graph.nearest_place(r.x, r.y)[0].name
                    for r in (self.registry.entry(run.robot_id).report for run in runs)]
        taken = taken_dead_ends(self.dead_ends, [run.ahead for run in runs], standing)
        wait = held_back([r.first_target for r in requests], self.dead_ends, taken)
        return [r for r, w in zip(requests, wait, strict=True) if not w]
