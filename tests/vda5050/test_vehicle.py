"""The simulated VDA 5050 vehicle, driven on a unicycle base integrated in the test (tests/vda5050/bench.py).
Every message it publishes is checked against the 2.0.0 schema, and its headerIds, by the bench."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.vda5050.bench import MAP, T0, Bench, action, instant, order
from vda5050.description import VehicleDescription
from vda5050.enums import ActionStatus, ActionType, BlockingType, ConnectionState, ErrorType, EStop
from vda5050.models import format_timestamp
from vda5050.topics import Topic
from vda5050.vehicle import Vehicle

F, R, W = ActionStatus.FINISHED, ActionStatus.RUNNING, ActionStatus.WAITING
SOFT, HARD = BlockingType.SOFT, BlockingType.HARD
TABLE = {"beep": (2.0, 1.0), "lift": (1.0, 1.0), "scan": (3.0, 1.0), "longBeep": (100.0, 1.0), "flaky": (0.5, 0.0),
         ActionType.PICK: (1.0, 1.0), ActionType.DROP: (1.0, 1.0)}


def bench(pose: tuple[float, float, float] = (0.0, 0.0, 0.0), **kwargs: object) -> Bench:
    kwargs.setdefault("actions", TABLE)
    vehicle = Vehicle(VehicleDescription("LabFleet", "SN1", MAP), **kwargs)  # type: ignore[arg-type]
    b = Bench(vehicle, pose=pose)
    b.step()
    return b


def done(b: Bench) -> bool:
    return not b.vehicle.has_order and b.stands()


def last_nodes(b: Bench) -> list[str]:
    seen: list[str] = []
    for state in b.of(Topic.STATE):
        if state.last_node_id and (not seen or seen[-1] != state.last_node_id):
            seen.append(state.last_node_id)
    return seen


def speed_near(b: Bench, start: int, point: tuple[float, float], within: float) -> float:
    """The least speed (m/s, from the path) while the vehicle was within `within` of point, after path[start]."""
    speeds = [math.dist(a, c) / b.dt for a, c in zip(b.path[start:], b.path[start + 1:], strict=False)
              if math.dist(a, point) < within]
    assert speeds, f"never near {point}"
    return min(speeds)


# -- orders --------------------------------------------------------------------------------------------------
def test_an_order_of_base_nodes_is_driven_through_and_finishes() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (3, 0), (3, 3), (6, 3)]))
    state = b.state
    assert (state.order_id, state.order_update_id, state.last_node_id, state.last_node_sequence_id) == \
        ("o1", 0, "n0", 0)
    assert [(n.node_id, n.sequence_id, n.released) for n in state.node_states] == \
        [("n1", 2, True), ("n2", 4, True), ("n3", 6, True)]
    assert [e.edge_id for e in state.edge_states] == ["en0-n1", "en1-n2", "en2-n3"]
    took = b.run_until(done, timeout_s=40)
    assert last_nodes(b) == ["n0", "n1", "n2", "n3"]
    assert math.dist(b.pose[:2], (6, 3)) < 0.1
    final = b.state
    assert (final.node_states, final.edge_states, final.errors, final.driving) == ([], [], [], False)
    assert final.last_node_sequence_id == 6 and final.distance_since_last_node is not None
    assert final.distance_since_last_node < 0.1
    assert any(s.driving for s in b.of(Topic.STATE)) and 9 < took < 25


def test_the_horizon_is_never_entered() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (3, 0), (6, 0), (9, 0)], released=2))
    b.run(20)
    assert max(x for x, _ in b.path) <= 3.0 + 0.05  # stopped on the last released node, never past it
    state = b.state
    assert (state.last_node_id, state.driving, state.new_base_request) == ("n1", False, True)
    assert [(n.node_id, n.released) for n in state.node_states] == [("n2", False), ("n3", False)]
    assert [(e.edge_id, e.released) for e in state.edge_states] == [("en1-n2", False), ("en2-n3", False)]
    assert any(s.driving and s.new_base_request for s in b.of(Topic.STATE))  # asked before it had to brake
    assert b.vehicle.has_order  # waiting for an update with a horizon
    b.send(order("o1", [(3, 0), (6, 0)], update_id=1, first_seq=2, names=["n1", "n2"]))  # late, but it fits
    b.run_until(done, timeout_s=20)
    assert math.dist(b.pose[:2], (6, 0)) < 0.1 and b.state.node_states == [] and b.state.new_base_request is False


def test_an_update_in_time_is_stitched_and_driven_without_stopping() -> None:
    """Figures 5 and 6 of the text: base 6-4-7 with horizon 2-8, then the update 7-2-8 with horizon 9."""
    b = bench()
    names = ["6", "4", "7", "2", "8"]
    b.send(order("1234", [(0, 0), (3, 0), (6, 0), (9, 0), (12, 0)], released=3, names=names))
    b.run_until(lambda b: b.state.new_base_request and b.state.driving, timeout_s=20)
    assert b.pose[0] < 6.0 - 1.0
    mark = len(b.path)
    b.send(order("1234", [(6, 0), (9, 0), (12, 0), (15, 0)], released=3, update_id=1, first_seq=4,
                 names=["7", "2", "8", "9"]))
    assert (b.state.order_update_id, [n.node_id for n in b.state.node_states]) == (1, ["7", "2", "8", "9"])
    assert [n.released for n in b.state.node_states] == [True, True, True, False]
    b.run_until(lambda b: b.stands() and b.t > 5, timeout_s=30)
    assert speed_near(b, mark, (6, 0), 0.5) > 0.6  # through the old decision point at speed
    assert math.dist(b.pose[:2], (12, 0)) < 0.1 and max(x for x, _ in b.path) <= 12.05
    assert last_nodes(b) == ["6", "4", "7", "2", "8"] and [n.node_id for n in b.state.node_states] == ["9"]
    assert b.errors() == []


def test_updates_that_do_not_fit_are_rejected() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (3, 0), (6, 0), (9, 0)], released=3))
    b.run(1)
    b.send(order("o1", [(3, 0), (6, 0), (9, 0)], update_id=1, first_seq=2, names=["n1", "n2", "n3"], header_id=5))
    (error,) = b.errors(ErrorType.ORDER_UPDATE)
    refs = {(r.reference_key, r.reference_value) for r in error.error_references or []}
    assert {("headerId", "5"), ("topic", "order"), ("orderId", "o1"), ("orderUpdateId", "1"), ("nodeId", "n1")} <= refs
    assert error.error_level == "WARNING" and b.state.order_update_id == 0
    b.send(order("o1", [(6, 0), (9, 0)], update_id=2, first_seq=4, names=["n2", "n3"]))
    assert b.state.order_update_id == 2 and b.errors() == []  # accepted: the warnings go (6.6.4)
    b.send(order("o1", [(6, 0), (9, 0)], update_id=1, first_seq=4, names=["n2", "n3"]))
    assert "below the current 2" in (b.errors(ErrorType.ORDER_UPDATE)[0].error_description or "")
    states = len(b.of(Topic.STATE))
    b.send(order("o1", [(6, 0), (9, 0)], update_id=2, first_seq=4, names=["n2", "n3"]))
    assert len(b.of(Topic.STATE)) == states  # the same update again: ignored
    b.send(order("o2", [(0, 0), (1, 0)]))
    assert len(b.errors(ErrorType.ORDER_UPDATE)) == 2 and b.state.order_id == "o1"  # busy: no new order
    b.run_until(done, timeout_s=30)
    assert b.state.last_node_id == "n3" and b.state.order_update_id == 2


def test_an_update_continues_a_finished_order_from_its_last_node() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (2, 0)]))
    b.run_until(done, timeout_s=20)
    b.send(order("o1", [(0, 0), (2, 2)], update_id=1, names=["n0", "n9"]))  # not the last node
    assert b.errors(ErrorType.ORDER_UPDATE)
    b.send(order("o1", [(2, 0), (2, 2)], update_id=1, first_seq=2, names=["n1", "n2"]))
    b.run_until(done, timeout_s=20)
    assert math.dist(b.pose[:2], (2, 2)) < 0.1 and b.state.last_node_id == "n2" and b.errors() == []


def test_the_first_node_counts_within_its_deviation_range() -> None:
    """6.6.3.1: a new order may start on the last node with a deviation range large enough for the vehicle."""
    b = bench(pose=(0.5, 0.0, 0.0))
    b.send(order("o1", [(0, 0), (0, 2)]))  # allowedDeviationXY not given: the vehicle's own 0.2 m
    assert b.errors(ErrorType.NO_ROUTE) and b.state.order_id == ""
    b.send(order("o2", [(0, 0), (0, 2)], deviation=0.6))
    assert b.state.order_id == "o2" and b.state.last_node_id == "n0" and b.errors() == []
    b.run_until(done, timeout_s=20)
    assert math.dist(b.pose[:2], (0, 2)) < 0.1


def test_theta_on_a_node_it_drives_through() -> None:
    along = bench()
    along.send(order("o1", [(0, 0), (4, 0), (8, 0)], theta={1: 0.0}))
    along.run_until(done, timeout_s=30)
    assert speed_near(along, 0, (4, 0), 0.3) > 0.6  # heading already matches: no stop
    across = bench()
    across.send(order("o1", [(0, 0), (4, 0), (8, 0)], theta={1: math.pi / 2}))
    across.run_until(lambda b: b.state.last_node_id == "n1", timeout_s=30)
    assert across.pose[2] == pytest.approx(math.pi / 2, abs=0.1)  # it stopped there and took the node's theta
    across.run_until(done, timeout_s=30)
    assert math.dist(across.pose[:2], (8, 0)) < 0.1


@pytest.mark.parametrize(("bad", "error_type", "ref"), [
    (order("o1", [(5, 5), (6, 5)]), ErrorType.NO_ROUTE, ("nodeId", "n0")),
    (order("o1", [(0, 0), (2, 0)]).model_copy(update={"edges": []}), ErrorType.VALIDATION, None),
    (order("o1", [(0, 0), (2, 0)], node_actions={1: [action("selfDestruct", "x1")]}), ErrorType.ORDER,
     ("actionId", "x1")),
    (order("o1", [(0, 0), (2, 0)], node_actions={1: [action(ActionType.START_PAUSE, "x2")]}), ErrorType.ORDER,
     ("actionType", "startPause")),
    (order("o1", [(0, 0), (2, 0)], edge_actions={0: [action(ActionType.WAIT_FOR_TRIGGER, "x3")]}), ErrorType.ORDER,
     ("edgeId", "en0-n1")),
])
def test_new_orders_it_cannot_take_are_rejected(bad: object, error_type: str, ref: tuple[str, str] | None) -> None:
    b = bench()
    b.send(bad)  # type: ignore[arg-type]
    (error,) = b.errors()
    assert error.error_type == error_type and b.state.order_id == "" and b.state.node_states == []
    refs = {(r.reference_key, r.reference_value) for r in error.error_references or []}
    assert ("orderId", "o1") in refs and (ref is None or ref in refs)
    b.run(1)
    assert b.stands() and b.pose == (0.0, 0.0, 0.0)
    b.send(order("o2", [(0, 0), (1, 0)]))
    assert b.state.order_id == "o2" and b.errors() == []


def test_an_order_on_another_map_or_with_a_trajectory_is_an_order_error() -> None:
    b = bench()
    other = order("o1", [(0, 0), (2, 0)])
    moved = other.nodes[1].model_copy(update={"node_position": other.nodes[1].node_position.model_copy(  # type: ignore[union-attr]
        update={"map_id": "floor2"})})
    b.send(other.model_copy(update={"nodes": [other.nodes[0], moved]}))
    assert "on map floor2" in (b.errors(ErrorType.ORDER)[0].error_description or "")


# -- instant actions -----------------------------------------------------------------------------------------
def test_pause_and_resume() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (8, 0)]))
    b.run(3)
    assert b.v > 0.5
    b.send(instant(action(ActionType.START_PAUSE, "p1", HARD)))
    assert b.state.paused is True and b.status("p1") is R  # running until it stands (6.8.2)
    b.run_until(lambda b: b.stands(), timeout_s=5)
    b.step()
    held = b.pose
    b.run(3)
    assert b.pose == held and b.status("p1") is F and not b.state.driving
    b.send(instant(action(ActionType.STOP_PAUSE, "s1", HARD)))
    assert b.state.paused is False and b.status("s1") is F
    b.run_until(done, timeout_s=20)
    assert math.dist(b.pose[:2], (8, 0)) < 0.1
    assert b.statuses("p1") == [R, F] and b.statuses("s1") == [F]


def test_pause_pauses_running_actions() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (1, 0)], node_actions={1: [action("scan", "sc", SOFT)]}))
    b.run_until(lambda b: b.status("sc") is R, timeout_s=10)
    b.send(instant(action(ActionType.START_PAUSE, "p1")))
    assert b.status("sc") is ActionStatus.PAUSED
    b.run(5)  # longer than the scan takes: paused, it does not finish
    assert b.status("sc") is ActionStatus.PAUSED
    b.send(instant(action(ActionType.STOP_PAUSE, "s1")))
    b.run_until(done, timeout_s=5)
    assert b.statuses("sc") == [W, R, ActionStatus.PAUSED, R, F]


def test_cancel_order_mid_edge() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (10, 0), (10, 5)], node_actions={1: [action("beep", "b1")],
                                                              2: [action("lift", "l1", HARD)]}))
    b.run_until(lambda b: b.pose[0] > 3, timeout_s=10)
    x0, v0 = b.pose[0], b.v
    b.send(instant(action(ActionType.CANCEL_ORDER, "c1", header_id=3)))
    assert (b.status("c1"), b.status("b1"), b.status("l1")) == (R, ActionStatus.FAILED, ActionStatus.FAILED)
    b.send(order("o1", [(10, 0), (10, 9)], update_id=1, first_seq=2, names=["n1", "n2"]))  # too late
    assert "still canceling" in (b.errors(ErrorType.ORDER_UPDATE)[0].error_description or "")
    b.run_until(lambda b: b.status("c1") is F, timeout_s=5)
    braking = v0 ** 2 / (2 * b.vehicle.description.limits.max_accel)
    assert b.pose[0] - x0 <= braking + v0 * b.dt + 0.02 and b.stands()
    state = b.state
    assert (state.node_states, state.edge_states, state.order_id, state.last_node_id) == ([], [], "o1", "n0")
    assert not b.vehicle.has_order and b.errors(ErrorType.ACTION_FAILED) == []  # canceled actions: no errors
    b.send(instant(action(ActionType.CANCEL_ORDER, "c2")))  # 6.6.3.2: nothing left to cancel
    (error,) = b.errors(ErrorType.NO_ORDER_TO_CANCEL)
    assert b.status("c2") is ActionStatus.FAILED and error.error_level == "WARNING"
    assert [(r.reference_key, r.reference_value) for r in error.error_references or []] == [("actionId", "c2")]
    x, y, _ = b.pose
    b.send(order("o2", [(x, y), (x, 2)]))  # 6.6.3.1: a temporary node where it stands
    assert b.state.order_id == "o2" and b.errors() == []
    b.run_until(done, timeout_s=10)


# -- actions on nodes and edges ------------------------------------------------------------------------------
def test_a_none_action_runs_while_driving() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (4, 0), (8, 0)], node_actions={1: [action("beep", "b1")]}))
    b.run_until(done, timeout_s=30)
    assert speed_near(b, 0, (4, 0), 0.3) > 0.6
    assert any(s.driving and any(a.action_id == "b1" and a.action_status is R for a in s.action_states)
               for s in b.of(Topic.STATE))
    assert b.statuses("b1") == [W, R, F]


def test_soft_actions_run_together_with_the_vehicle_standing() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (3, 0), (6, 0)], node_actions={1: [action("beep", "s1", SOFT),
                                                                   action("scan", "s2", SOFT)]}))
    b.run_until(done, timeout_s=30)
    running = [s for s in b.of(Topic.STATE) if {a.action_status for a in s.action_states
                                                 if a.action_id in ("s1", "s2")} == {R}]
    assert running and not any(s.driving for s in running)
    assert min(abs(x - 3.0) for x, _ in b.path) < 0.1 and b.statuses("s2") == [W, R, F]


def test_a_hard_action_runs_alone() -> None:
    """Figure 15: [a NONE, h HARD, c NONE, d SOFT] on one node run as [a], then [h], then [c, d]."""
    b = bench()
    b.send(order("o1", [(0, 0), (3, 0), (9, 0)], node_actions={1: [
        action("lift", "a"), action("lift", "h", HARD), action("longBeep", "c"), action("lift", "d", SOFT)]}))
    b.run_until(lambda b: b.status("d") is F, timeout_s=30)
    for state in b.of(Topic.STATE):
        status = {a.action_id: a.action_status for a in state.action_states}
        if status.get("h") is R:
            assert status["a"] is F and status["c"] is W and status["d"] is W and not state.driving
        if status.get("d") is R:
            assert status["h"] is F and status["c"] is R and not state.driving
    b.run(1)
    assert b.state.driving and b.status("c") is R  # NONE goes on while the vehicle drives away
    b.run_until(lambda b: b.state.last_node_id == "n2" and b.stands(), timeout_s=20)
    assert b.status("c") is R and b.vehicle.has_order  # a node action runs as long as it needs (6.8)


def test_edge_actions_start_on_entering_and_end_on_leaving() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (2, 0), (5, 0)], edge_actions={1: [action("beep", "soft", SOFT),
                                                                   action("longBeep", "long")]}))
    b.run_until(lambda b: b.status("soft") is R, timeout_s=20)
    assert math.dist(b.pose[:2], (2, 0)) < 0.1 and b.state.last_node_id == "n1"  # stops before the edge
    b.run(1.5)
    assert b.stands()
    b.run_until(done, timeout_s=20)
    assert b.statuses("soft") == [W, R, F]
    assert b.statuses("long") == [W, R, F]  # it was active while on the edge only (6.7)


def test_actions_fail_by_their_success_rate_seeded() -> None:
    def outcomes(seed: int) -> list[ActionStatus | None]:
        b = bench(seed=seed, actions={**TABLE, "coin": (0.1, 0.5)})
        b.send(order("o1", [(0, 0), (1, 0)], node_actions={1: [action("coin", f"c{i}") for i in range(12)]}))
        b.run_until(done, timeout_s=20)
        return [b.status(f"c{i}") for i in range(12)]

    first = outcomes(3)
    assert first == outcomes(3) and {ActionStatus.FINISHED, ActionStatus.FAILED} == set(first)
    assert outcomes(4) != first
    b = bench()
    b.send(order("o1", [(0, 0), (1, 0)], node_actions={1: [action("flaky", "f1")]}))
    b.run_until(done, timeout_s=10)
    (error,) = b.errors(ErrorType.ACTION_FAILED)
    assert b.status("f1") is ActionStatus.FAILED
    assert {(r.reference_key, r.reference_value) for r in error.error_references or []} == \
        {("actionId", "f1"), ("actionType", "flaky")}


def test_pick_and_drop_change_the_loads() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (2, 0), (4, 0)], node_actions={
        1: [action(ActionType.PICK, "pk", HARD, loadId="tote-1", loadType="tote")],
        2: [action(ActionType.DROP, "dr", HARD, loadId="tote-1")]}))
    b.run_until(lambda b: b.state.last_node_id == "n2", timeout_s=20)
    assert [(ld.load_id, ld.load_type) for ld in b.state.loads or []] == [("tote-1", "tote")]
    b.run_until(done, timeout_s=10)
    assert b.state.loads == []


# -- other instant actions -----------------------------------------------------------------------------------
def test_state_and_factsheet_requests() -> None:
    b = bench()
    states = len(b.of(Topic.STATE))
    b.send(instant(action(ActionType.STATE_REQUEST, "r1"), action(ActionType.FACTSHEET_REQUEST, "r2")))
    assert len(b.of(Topic.STATE)) == states + 1 and b.status("r1") is F and b.status("r2") is F
    (sheet,) = b.of(Topic.FACTSHEET)
    actions = {a.action_type: a.action_scopes for a in sheet.protocol_features.agv_actions}
    assert actions["pick"] == ["NODE", "EDGE"] and actions["beep"] == ["INSTANT", "NODE", "EDGE"]
    assert actions["cancelOrder"] == ["INSTANT"] and sheet.physical_parameters.width == pytest.approx(0.6)
    for i in range(80):  # without orders to clear them, old instant action states are not kept forever
        b.send(instant(action(ActionType.STATE_REQUEST, f"q{i}")))
    assert len(b.state.action_states) == 50 and b.state.action_states[-1].action_id == "q79"


def test_unknown_or_misplaced_instant_actions_fail_with_an_error() -> None:
    b = bench()
    b.send(instant(action("selfDestruct", "x1"), action(ActionType.PICK, "x2"), header_id=9))
    assert b.status("x1") is ActionStatus.FAILED and b.status("x2") is ActionStatus.FAILED
    errors = b.errors(ErrorType.INSTANT_ACTION)
    assert len(errors) == 2
    assert {("headerId", "9"), ("actionId", "x1"), ("actionType", "selfDestruct")} <= \
        {(r.reference_key, r.reference_value) for r in errors[0].error_references or []}
    b.send(instant(action("beep", "x3")))  # an action of its table, as an instant action
    b.run(2.5)
    assert b.statuses("x3") == [R, F]
    b.send(instant(action("beep", "x3")))  # the same actionId again (QoS 1 may deliver twice): ignored
    assert b.status("x3") is F


def test_init_position() -> None:
    b = bench(pose=(1.0, 1.0, 0.0))
    b.send(instant(action(ActionType.INIT_POSITION, "i1", x=10.0, y=20.0, theta=math.pi / 2, mapId=MAP,
                          lastNodeId="home")))
    b.step()
    position = b.state.agv_position
    assert position is not None and b.status("i1") is F and b.state.last_node_id == "home"
    assert (position.x, position.y, position.theta) == pytest.approx((10.0, 20.0, math.pi / 2), abs=1e-9)
    b.send(order("o1", [(10, 20), (10, 22)]))  # in the frame it now believes in: straight ahead
    b.run_until(done, timeout_s=10)
    assert b.pose[:2] == pytest.approx((3.0, 1.0), abs=0.1)  # the caller's frame: 2 m along its x
    b.send(instant(action(ActionType.INIT_POSITION, "i2", x="far")))
    assert b.status("i2") is ActionStatus.FAILED and b.errors(ErrorType.INSTANT_ACTION)


def test_charging_follows_the_base() -> None:
    b = bench()
    b.send(instant(action(ActionType.START_CHARGING, "ch")))
    assert b.vehicle.charging_requested is True and b.status("ch") is R
    b.run(1)
    b.charging = True
    b.run(0.2)
    assert b.status("ch") is F and b.state.battery_state.charging is True
    b.send(instant(action(ActionType.STOP_CHARGING, "st")))
    b.run(11)  # the base never stops charging
    assert b.status("st") is ActionStatus.FAILED and b.vehicle.charging_requested is False
    assert b.errors(ErrorType.ACTION_FAILED)  # 6.8.2: charging problems correspond with an error


# -- driving -------------------------------------------------------------------------------------------------
def test_obstacles_stop_it_and_it_drives_on_once_they_go() -> None:
    obstacle = [(4.0, 0.0)]

    def scan(pose: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        x, y, yaw = pose
        points = [(math.dist((x, y), p), math.atan2(p[1] - y, p[0] - x) - yaw) for p in obstacle]
        return np.array([r for r, _ in points]), np.array([a for _, a in points])

    b = bench()
    b.send(order("o1", [(0, 0), (8, 0)]))
    b.run(12, scan=scan)
    assert b.stands() and 4.0 - b.pose[0] > 0.3 and b.state.safety_state.field_violation
    obstacle.clear()
    b.run_until(done, timeout_s=20, scan=scan)
    assert math.dist(b.pose[:2], (8, 0)) < 0.1 and not b.state.safety_state.field_violation


def test_its_protective_fields_stop_it_for_a_robot_crossing_its_path() -> None:
    """A round body (0.35 m, a robot or a person) crosses the vehicle's path from the side at 0.6 m/s: a band
    straight ahead sees it too late (the vehicle drove into it, 0.31 m deep, before the safety layer); the
    vehicle's fields, which carry what moves along at its velocity, slow and stop it first, and it drives on."""
    angles = np.linspace(-math.pi, math.pi, 360, endpoint=False)
    radius = 0.35

    def body(t: float) -> tuple[float, float]:
        return 4.0, -3.0 + 0.6 * t

    def scan(pose: tuple[float, float, float]) -> tuple[np.ndarray, np.ndarray]:
        x, y, yaw = pose
        bx, by = body(b.t)
        along = (bx - x) * np.cos(angles + yaw) + (by - y) * np.sin(angles + yaw)
        beside2 = (bx - x) ** 2 + (by - y) ** 2 - along ** 2
        hit = (along > 0) & (beside2 < radius ** 2)
        return np.where(hit, along - np.sqrt(np.maximum(radius ** 2 - beside2, 0.0)), np.inf), angles

    b = bench()
    b.send(order("o1", [(0, 0), (10, 0)]))
    closest, violated = math.inf, False
    while b.t < 30 and not done(b):
        b.step(scan)
        violated |= b.state.safety_state.field_violation
        if abs(b.v) > 0.05:  # the vehicle moving: how close it came
            gap = math.dist(b.pose[:2], body(b.t)) - radius - b.vehicle.description.limits.radius
            closest = min(closest, gap)
    assert closest > 0.1, closest
    assert violated and done(b) and math.dist(b.pose[:2], (10, 0)) < 0.1


def test_theta_speed_caps_and_e_stop() -> None:
    b = bench()
    b.send(order("o1", [(0, 0), (4, 0)], max_speed=0.3, theta={1: math.pi / 2}))
    b.run_until(lambda b: b.pose[0] > 2, timeout_s=20)
    b.vehicle.set_e_stop(EStop.REMOTE)
    b.step()
    assert b.v == 0 and b.state.safety_state.e_stop == "REMOTE"
    b.vehicle.set_e_stop(EStop.NONE)
    b.run_until(done, timeout_s=30)
    steps = [math.dist(a, c) / b.dt for a, c in zip(b.path, b.path[1:], strict=False)]
    assert max(steps) <= 0.3 + 1e-6
    assert b.pose[2] == pytest.approx(math.pi / 2, abs=0.08)  # it turned to the node's theta


# -- what it publishes ---------------------------------------------------------------------------------------
def test_cadence_header_ids_and_timestamps() -> None:
    b = bench()
    b.run(10)
    states, views = b.of(Topic.STATE), b.of(Topic.VISUALIZATION)
    assert 10 <= len(states) <= 12 and 99 <= len(views) <= 102
    assert [s.header_id for s in states] == list(range(len(states)))
    assert [v.header_id for v in views] == list(range(len(views)))
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", m.timestamp) for m in [*states, *views])
    assert states[-1].timestamp == format_timestamp(T0 + b.t)
    before = len(b.of(Topic.STATE))
    b.send(order("o1", [(0, 0), (1, 0)]))  # an event: a state at once
    assert len(b.of(Topic.STATE)) == before + 1
    quiet = bench(visualization_hz=0, state_period_s=5.0)
    quiet.run(10)
    assert quiet.of(Topic.VISUALIZATION) == [] and 2 <= len(quiet.of(Topic.STATE)) <= 4


def test_connection_messages_count_on_their_own() -> None:
    b = bench()
    vehicle = b.vehicle
    messages = [vehicle.connection_message(s) for s in (ConnectionState.CONNECTIONBROKEN, ConnectionState.ONLINE,
                                                         ConnectionState.OFFLINE)]
    assert [m.header_id for m in messages] == [0, 1, 2]
    assert [m.connection_state for m in messages] == ["CONNECTIONBROKEN", "ONLINE", "OFFLINE"]
    assert messages[0].serial_number == "SN1" and messages[0].version == "2.0.0"
