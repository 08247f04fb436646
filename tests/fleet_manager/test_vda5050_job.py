"""One task on a VDA 5050 vehicle (fleet_manager/adapters/vda5050_job.py) against scripted states: the feedback
states the mission runner acts on, one order message in flight at a time (an update goes once the vehicle took
the previous one), resending what the vehicle does not acknowledge, and the ways a task fails. No broker: the
publisher is faked at the edge, the clock is the test's."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from fleet_manager.adapters import vda5050_orders as conv
from fleet_manager.adapters.vda5050_job import ACCEPT_TIMEOUT_S, RESEND_S, STANDING_S, STILL_S, Job
from fleet_manager.adapters.vda5050_mqtt import BrokerUnavailable
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import TaskFeedback, TaskOutcome, TaskRequest, TaskResult, Waypoint
from tests.fleet_manager.test_vda5050_orders import a_state, nodes_ahead
from vda5050.enums import ErrorLevel
from vda5050.models import Error, ErrorReference, Order, State

ROUTE = tuple(Waypoint(f"n{i}", 2.0 * i, 0.0) for i in range(4))


async def settle() -> None:
    """Let the job handle what it was just given: a fixed number of event-loop turns, not a time (10 ms of sleep was
    not always enough on a machine busy with the rest of make test: the sleep's timer came due within the same
    turn as the first of the job's steps)."""
    for _ in range(50):
        await asyncio.sleep(0)


class Publisher:
    """Takes every order message (or refuses, while `up` is False), like the adapter's MQTT publish."""

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.up = True

    async def __call__(self, build: Any) -> int:
        if not self.up:
            raise BrokerUnavailable("the broker is away")
        order = build(conv.header(len(self.orders), 0.0, "LabFleet", "SN1"))
        self.orders.append(order)
        return int(order.header_id)

    def sent(self) -> list[tuple[int, str, int]]:
        """(orderUpdateId, first node, released nodes in it) of each message."""
        return [(o.order_update_id, o.nodes[0].node_id, sum(n.released for n in o.nodes)) for o in self.orders]


class Run:
    def __init__(self, released: int = 2, route: tuple[Waypoint, ...] = ROUTE) -> None:
        self.now = 0.0
        self.publisher = Publisher()
        self.feedback: list[TaskFeedback] = []
        self.plan = conv.OrderPlan.of(TaskRequest("t1", 1, route, released=released), "lab", (0.0, 0.0))
        self.job = Job(self.plan, released, self.publisher, self.feedback.append, lambda: (0.0, 0.0, 0.0),
                       clock=lambda: self.now)
        self.accepted = 0

    def start(self) -> asyncio.Task[TaskResult]:
        async def accepted() -> None:
            self.accepted += 1

        return asyncio.create_task(self.job.run(accepted))

    async def state(self, last: int, released: int, update_id: int = 0, **fields: Any) -> None:
        """The vehicle's state: order t1 (unless order_id says otherwise), node `last` traversed."""
        base = {"order_id": "t1", "order_update_id": update_id, "last_node_id": f"n{last}",
                "last_node_sequence_id": 2 * last, "node_states": nodes_ahead(self.plan, last + 1, released)}
        self.job.on_state(a_state(**(base | fields)))
        await settle()

    def states(self) -> list[str]:
        return [f.state for f in self.feedback]


def test_feedback_and_one_order_message_in_flight() -> None:
    async def scenario() -> None:
        run = Run()
        task = run.start()
        await settle()
        assert run.publisher.sent() == [(0, "n0", 2)] and run.accepted == 0
        await run.state(0, 2, driving=True)
        assert run.accepted == 1 and run.feedback[-1] == TaskFeedback("t1", 1, 0.0, 6.0, "driving")
        await run.state(0, 2)  # stopped with base ahead: an obstacle, once it lasts
        assert run.states()[-1] == "driving"
        await run.state(0, 2)  # and without it, stopped: an obstacle again once it lasts
        run.now += STILL_S + 0.1
        await run.state(0, 2)
        assert run.states()[-1] == "waiting_obstacle"
        left_over = Error(error_type="noOrderToCancel", error_level=ErrorLevel.WARNING,
                          error_references=[ErrorReference(reference_key="actionId", reference_value="c1")])
        await run.state(0, 2, errors=[left_over])  # a warning from before: still blocked
        assert run.states()[-1] == "waiting_obstacle"
        def about(order_id: str) -> Error:
            return Error(error_type="loadError", error_level=ErrorLevel.WARNING,
                         error_references=[ErrorReference(reference_key="orderId", reference_value=order_id)])

        await run.state(0, 2, errors=[about("t0")])  # about another order: still blocked
        assert run.states()[-1] == "waiting_obstacle"
        await run.state(0, 2, errors=[about("t1")])  # stopped over our order: not an obstacle
        assert run.states()[-1] == "driving"
        await run.state(0, 2)  # and without it, stopped: an obstacle again once it lasts
        run.now += STILL_S + 0.1
        await run.state(0, 2)
        assert run.states()[-1] == "waiting_obstacle"
        await run.state(0, 2, paused=True)
        assert run.states()[-1] == "paused"
        await run.state(1, 2)  # at the end of its base
        assert (run.feedback[-1].waypoint_index, run.states()[-1]) == (2, "waiting_release")
        run.job.release(3)
        await run.state(1, 2)
        assert run.publisher.sent()[1:] == [(1, "n1", 2)]  # stitched on the base end: n1 and n2 released
        run.job.release(4)
        await run.state(1, 2)
        assert len(run.publisher.orders) == 2  # update 1 not yet taken: update 2 waits
        run.now += RESEND_S + 0.1
        await run.state(1, 2)
        assert run.publisher.sent()[2:] == [(1, "n1", 2)]  # not acknowledged: the same update again
        await run.state(1, 3, update_id=1, driving=True)
        assert run.publisher.sent()[3:] == [(2, "n2", 2)]
        await run.state(3, 4, update_id=2)
        result = await asyncio.wait_for(task, 1)
        assert result.outcome is TaskOutcome.SUCCEEDED
        assert run.feedback[-1].waypoint_index == 4 and run.feedback[-1].progress == 1.0

    asyncio.run(scenario())


def test_the_broker_away() -> None:
    async def scenario() -> None:
        run = Run()
        run.publisher.up = False
        with pytest.raises(Unavailable, match="the broker is away"):
            await run.job.run(_nothing)
        run = Run()
        task = run.start()
        await run.state(0, 2)
        run.publisher.up = False
        run.job.release(4)
        await run.state(0, 2)
        assert run.publisher.sent() == [(0, "n0", 2)] and run.job.unsent  # kept for the broker's return
        run.publisher.up = True
        run.job.resend()
        await settle()
        assert run.publisher.sent()[1:] == [(1, "n1", 3)]
        task.cancel()

    asyncio.run(scenario())


async def _nothing() -> None:
    return None


@pytest.mark.parametrize(("script", "reason"), [
    ("silent", f"the vehicle neither took nor refused order t1 within {ACCEPT_TIMEOUT_S:g} s"),
    ("another", "the vehicle took another order (t9)"),
    ("estop", "estop"),
    ("stands", f"the vehicle stood still for {STANDING_S:g} s without finishing order t1 (VDA 5050 warning "
               "loadError: no load)"),
])
def test_how_a_task_fails(script: str, reason: str) -> None:
    async def scenario() -> None:
        run = Run()
        task = run.start()
        await settle()
        if script == "silent":
            run.now += ACCEPT_TIMEOUT_S + 1
            run.job.on_state(a_state(order_id="", node_states=[]))
        elif script == "another":
            await run.state(0, 2, driving=True)
            await run.state(0, 2, order_id="t9")
        elif script == "stands":  # stopped over an error of its own, for ever
            await run.state(0, 2, driving=True)
            stop = Error(error_type="loadError", error_description="no load", error_level=ErrorLevel.WARNING,
                         error_references=[ErrorReference(reference_key="orderId", reference_value="t1")])
            await run.state(0, 2, errors=[stop])
            run.now += STANDING_S / 2
            await run.state(0, 2, errors=[stop])
            assert not task.done()  # half the time: still on
            run.now += STANDING_S / 2 + 1
            await run.state(0, 2, errors=[stop])
        else:
            await run.state(0, 2, driving=True)
            assert run.job.holds_vehicle
            run.job.stop("estop")
        result = await asyncio.wait_for(task, 1)
        assert (result.outcome, result.reason) == (TaskOutcome.FAILED, reason)

    asyncio.run(scenario())


def test_a_state_of_our_order_reports_the_task() -> None:
    async def scenario() -> None:
        run = Run(released=0)
        task = run.start()
        await run.state(1, 4, distance_since_last_node=1.0, driving=True)
        assert run.job.task_progress == pytest.approx(0.5) and run.feedback[-1].distance_remaining_m == 3.0
        state: State = a_state(order_id="t1", last_node_id="n3", last_node_sequence_id=6)
        run.job.on_state(state)
        assert (await asyncio.wait_for(task, 1)).outcome is TaskOutcome.SUCCEEDED
        assert not run.job.holds_vehicle

    asyncio.run(scenario())
