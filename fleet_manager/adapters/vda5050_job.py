"""One task on a VDA 5050 vehicle: its order, an order update for each longer release, its progress from the
vehicle's states, and its result.

Only released waypoints are ever released in an order: the rest travel as the horizon. At most one order
message is in flight: the next update goes out once the vehicle's state shows it took the previous one (so an
update always stitches onto a base the vehicle has), and a message the vehicle does not acknowledge within
RESEND_S is sent again (the same orderId and orderUpdateId: a vehicle that has it ignores it, one that lost it
takes it; orders travel with QoS 0). After the broker comes back the adapter asks for the same (`resend`).
The task fails when the vehicle refuses the order (an orderError, orderUpdateError, noRouteError or
validationError naming it), reports a FATAL error, fails one of its actions, or takes another order."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Awaitable, Callable
from typing import Any

from fleet_manager.adapters.base import Accepted, OnFeedback
from fleet_manager.adapters.vda5050_mqtt import BrokerUnavailable
from fleet_manager.adapters.vda5050_orders import OrderPlan, Progress, busy, error_text, names_order, progress
from fleet_manager.aio import wait_event
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import TaskFeedback, TaskOutcome, TaskResult
from vda5050.models import Order, State

log = logging.getLogger(__name__)

TICK_S = 0.25
RESEND_S = 2.0  # an order message the vehicle has not acknowledged by then is sent again
ACCEPT_TIMEOUT_S = 30.0  # a vehicle that neither takes nor refuses the order by then fails the task
STILL_S = 3.0  # stopped with base ahead, not paused, no error, this long: waiting for an obstacle
STANDING_S = 120.0  # said to be driving but standing, this long: the task fails (it never waits for ever)
JUMP_M = 1.0  # a pose step this long is a localisation correction, not driving

# builds the order message from a header and publishes it: the headerId used (BrokerUnavailable when it cannot)
SendOrder = Callable[[Callable[[dict[str, Any]], Order]], Awaitable[int]]


class _Stopped(Exception):
    def __init__(self, outcome: TaskOutcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome, self.reason = outcome, reason


class Job:
    def __init__(self, plan: OrderPlan, released: int, send: SendOrder, on_feedback: OnFeedback,
                 pose: Callable[[], tuple[float, float, float] | None],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.plan = plan
        self._send_order = send
        self._on_feedback = on_feedback
        self._pose = pose
        self._clock = clock
        self.wanted = plan.released(released)  # nodes released by the fleet manager
        self.update_id = 0  # of the latest message built
        self.start = 0  # its first node
        self.sent_released = self.wanted  # its base
        self.unsent = True  # the latest message has not reached the broker (or must go again)
        self.sent_at = -math.inf
        self.acked = -1  # the highest orderUpdateId of ours the vehicle reported
        self.accepted = False
        self.header_ids: set[int] = set()
        self.state: State | None = None
        self.progress: Progress | None = None
        self.heading = 1 if plan.n > 1 else 0
        self.feedback_state = "driving"
        self.distance_m = 0.0
        self._still_since: float | None = None
        self._standing_since: float | None = None  # reported as driving while the vehicle stands
        self._last_fb: tuple[int, str, float] | None = None
        self._last_pose: tuple[float, float] | None = None
        self._stop: _Stopped | None = None
        self._wake = asyncio.Event()
        self._started = clock()

    # -- from the adapter -----------------------------------------------------------------------
    @property
    def order_id(self) -> str:
        return self.plan.order_id

    def release(self, waypoints: int) -> None:
        n = self.plan.released(waypoints)
        if n > self.wanted:
            self.wanted = n
            self._wake.set()

    def on_state(self, state: State) -> None:
        """A state of the vehicle (any order): progress, acknowledgement, failure."""
        self.state = state
        self.progress = p = progress(self.plan, state, frozenset(self.header_ids))
        if p.ours:
            self.acked = max(self.acked, p.update_id)
            if p.traversed >= 0:
                self.heading = max(self.heading, min(p.traversed + 1, self.plan.n))
        self._wake.set()

    def moved(self, pose: tuple[float, float, float]) -> None:
        here = (pose[0], pose[1])
        if self._last_pose is not None and (step := math.dist(self._last_pose, here)) < JUMP_M:
            self.distance_m += step
        self._last_pose = here

    def resend(self) -> None:
        """The broker is back: send the latest message again."""
        self.unsent = True
        self._wake.set()

    def stop(self, reason: str) -> None:
        """E-stop: the task fails."""
        self._stop = _Stopped(TaskOutcome.FAILED, reason)
        self._wake.set()

    def abandon(self, reason: str) -> None:
        self._stop = _Stopped(TaskOutcome.CANCELED, reason)
        self._wake.set()

    @property
    def holds_vehicle(self) -> bool:
        """The vehicle took the order and still carries it out (to be canceled if the task ends otherwise)."""
        state = self.state
        return self.accepted and state is not None and state.order_id == self.order_id and busy(state)

    @property
    def task_progress(self) -> float:
        total = self.plan.length_to(self.plan.n - 1)
        p = self.progress
        if p is None or not p.ours:
            return 0.0
        if total <= 0:
            return 1.0 if p.finished else 0.0
        return max(0.0, min(1.0, p.done_m / total))

    # -- running --------------------------------------------------------------------------------
    async def run(self, on_accepted: Accepted) -> TaskResult:
        try:
            await self._publish()
        except BrokerUnavailable as exc:
            raise Unavailable(str(exc)) from None
        try:
            await self._run(on_accepted)
        except _Stopped as stop:
            return TaskResult(stop.outcome, stop.reason, self._pose(), self.distance_m)
        return TaskResult(TaskOutcome.SUCCEEDED, "", self._pose(), self.distance_m)

    async def _run(self, on_accepted: Accepted) -> None:
        n = self.plan.n
        while True:
            await wait_event(self._wake, TICK_S)
            self._wake.clear()
            if self._stop is not None:
                raise self._stop
            p = self.progress
            if p is not None and p.failure is not None:
                raise _Stopped(TaskOutcome.FAILED, p.failure)
            if p is not None and p.ours and not self.accepted:
                self.accepted = True
                await on_accepted()
            elif p is not None and self.accepted and not p.ours and self.state is not None:
                raise _Stopped(TaskOutcome.FAILED, f"the vehicle took another order ({self.state.order_id})")
            if not self.accepted and self._clock() - self._started > ACCEPT_TIMEOUT_S:
                raise _Stopped(TaskOutcome.FAILED, f"the vehicle neither took nor refused order {self.order_id} "
                                                   f"within {ACCEPT_TIMEOUT_S:g} s")
            if (p is not None and p.finished and self.sent_released == n and self.acked >= self.update_id):
                self.heading = n
                self._feedback(force=True)
                return
            if self.accepted and self.acked >= self.update_id and self.wanted > self.sent_released and not self.unsent:
                self._next_update()
            if self.unsent or (self.acked < self.update_id and self._clock() - self.sent_at > RESEND_S):
                with contextlib.suppress(BrokerUnavailable):  # sent when the broker is back (see resend)
                    await self._publish()
            if self.accepted:
                self._feedback()
                self._check_standing()

    def _check_standing(self) -> None:
        """A vehicle that stands while nothing explains it (not paused, acting, blocked or waiting for a release:
        e.g. stopped over an error of its own) fails the task after STANDING_S, naming its errors."""
        state = self.state
        if self.feedback_state != "driving" or state is None or state.driving:
            self._standing_since = None
            return
        now = self._clock()
        if self._standing_since is None:
            self._standing_since = now
        elif now - self._standing_since > STANDING_S:
            errors = "; ".join(error_text(e) for e in state.errors) or "no error reported"
            raise _Stopped(TaskOutcome.FAILED, f"the vehicle stood still for {STANDING_S:g} s without finishing "
                                               f"order {self.order_id} ({errors})")

    def _next_update(self) -> None:
        """An order update: from the last base node sent (the stitching node) with the longer base."""
        self.start = self.sent_released - 1
        self.update_id += 1
        self.sent_released = self.wanted
        self.unsent = True

    async def _publish(self) -> None:
        update_id, start, released = self.update_id, self.start, self.sent_released
        self.sent_at = self._clock()
        try:
            header_id = await self._send_order(lambda head: self.plan.message(head, update_id, start, released))
        except BrokerUnavailable:
            self.unsent = True
            raise
        self.header_ids.add(header_id)
        if (update_id, start, released) == (self.update_id, self.start, self.sent_released):
            self.unsent = False

    # -- feedback -------------------------------------------------------------------------------
    def _feedback(self, force: bool = False) -> None:
        state_name = self._state_name()
        fb = (self.heading, state_name, round(self.task_progress, 2))
        if force or fb != self._last_fb:
            self._last_fb = fb
            self.feedback_state = state_name
            total = self.plan.length_to(self.plan.n - 1)
            left = max(0.0, total - (self.progress.done_m if self.progress and self.progress.ours else 0.0))
            heading = max(0, self.heading - self.plan.lead)  # the task's waypoint
            self._on_feedback(TaskFeedback(self.order_id, heading, self.task_progress, left, state_name))

    def _state_name(self) -> str:
        state, p = self.state, self.progress
        if state is None or p is None or not p.ours:
            return "driving"
        if state.paused:
            return "paused"
        if p.acting is not None:
            return f"acting:{p.acting}"
        if state.driving:
            self._still_since = None
            return "driving"
        if p.base_left:
            if any(names_order(e, self.order_id) for e in state.errors):  # stopped over our order: not blocked
                self._still_since = None
                return "driving"
            now = self._clock()
            if self._still_since is None:
                self._still_since = now
            return "waiting_obstacle" if now - self._still_since > STILL_S else "driving"
        self._still_since = None
        if p.horizon_left or self.wanted > self.sent_released or self.sent_released < self.plan.n:
            return "waiting_release"
        return "driving"
