"""A queue of missions dispatched onto a lock-step site as the dispatcher does it: each dispatch period the idle
robots (no job, no move-aside under way) and the queued missions go to `core.allocation.assign` (least total
completion time, each robot at most one mission), and the pairs it chooses start. Used by traffic tests and
benches that submit many missions at once (tests/traffic/test_lockstep_pharmacy_wing.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.core.allocation import MissionRequest, RobotCandidate, assign
from fleet_manager.core.dead_ends import dead_ends, held_back, taken_dead_ends
from fleet_manager.replay.lockstep import Job, LockstepSite

DISPATCH_PERIOD_S = 1.0  # sim seconds between dispatch rounds (the dispatcher's dispatch_period_s)


@dataclass
class DispatchLoop:
    site: LockstepSite
    queue: list[Job] = field(default_factory=list)  # submitted, not yet assigned (Job.robot is set on assignment)
    jobs: list[Job] = field(default_factory=list)  # every job submitted, in order
    period_s: float = DISPATCH_PERIOD_S
    _next: float = 0.0
    _dead: dict[str, frozenset[str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._dead = dead_ends(self.site.graph)

    def submit(self, job_id: int, steps: Sequence[tuple[str, Any]]) -> Job:
        job = Job(job_id, "", list(steps), self.site.now, "")
        job.status = "queued"
        self.queue.append(job)
        self.jobs.append(job)
        return job

    def tick(self) -> None:
        """One dispatch round when its period is due (call it before each step of the site)."""
        if self.site.now < self._next:
            return
        self._next = self.site.now + self.period_s
        idle = [rid for rid, d in self.site.drivers.items() if d.job is None]
        if not idle or not self.queue:
            return
        candidates = [self._candidate(rid) for rid in idle]
        busy = [d for d in self.site.drivers.values() if d.job is not None]
        taken = taken_dead_ends(self._dead, [sorted(d.job.targets()) for d in busy if d.job is not None],
                                [self.site.graph.nearest_place(*self.site.pose(d.robot)[:2])[0].name for d in busy])
        requests = list(map(self._request, self.queue))
        wait = held_back([r.first_target for r in requests], self._dead, taken)
        chosen = assign([r for r, w in zip(requests, wait, strict=True) if not w], candidates, self.site.graph)
        for job in [j for j in self.queue if j.id in chosen]:
            self.queue.remove(job)
            x, y, _ = self.site.pose(chosen[job.id])
            job.robot, job.status = chosen[job.id], "underway"
            job.start_place = self.site.graph.nearest_place(x, y)[0].name
            self.site.assign(job)

    def done(self) -> bool:
        return not self.queue and all(d.job is None for d in self.site.drivers.values())

    def _candidate(self, robot: str) -> RobotCandidate:
        x, y, _ = self.site.pose(robot)
        place, offset = self.site.graph.nearest_place(x, y)
        model = self.site.fleet.robot(robot).model
        return RobotCandidate(robot, model.kind, frozenset(model.capabilities), place.name, offset, model.max_speed)

    def _request(self, job: Job) -> MissionRequest:
        places = tuple(str(arg) for kind, arg in job.steps if kind in ("go_to", "dock"))
        work = sum(float(self.site.fleet.robots[0].model.actions[str(arg)].duration_s)
                   for kind, arg in job.steps if kind == "action")
        return MissionRequest(job.id, None, frozenset(), places[0] if places else None, None, places, work)
