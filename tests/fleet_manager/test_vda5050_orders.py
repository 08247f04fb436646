"""The vda5050 adapter's conversions (fleet_manager/adapters/vda5050_orders.py), without a broker: tasks as
orders and order updates that validate against the VDA 5050 2.0.0 schema, and states read back as the
progress of our order and as RobotReports."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from labfleet_sim.fleet_config import MapTransform, Pose, RobotConfig, RobotModel, Vda5050Identity

from fleet_manager.adapters import vda5050_orders as conv
from fleet_manager.adapters.base import to_robot_task
from fleet_manager.core.lanes import floor_across
from fleet_manager.core.navgraph import Lane
from fleet_manager.core.robots import LOCALISATION_LOST, RobotMode, TaskAction, TaskRequest, Waypoint
from fleet_manager.robots.roster import Registration
from vda5050.codec import parse, to_json
from vda5050.enums import ActionStatus, ErrorLevel, EStop, OperatingMode
from vda5050.models import (
    ActionState,
    AgvPosition,
    BatteryState,
    Error,
    ErrorReference,
    NodeState,
    Order,
    SafetyState,
    State,
    Velocity,
)
from vda5050.schemas import validate
from vda5050.topics import Topic

T = 1_767_225_600.0
MODEL = RobotModel(name="carrier", kind="delivery", radius=0.3, mass_kg=40, max_speed=1.5, max_accel=1.5,
                   max_yaw_rate=2.0, max_yaw_accel=4.0, battery_capacity_wh=200, idle_power_w=10, drive_power_w=40)
ROBOT = Registration(RobotConfig(id="amr_1", model=MODEL, spawn=Pose(x=0, y=0), robot_api="vda5050",
                                 vda5050=Vda5050Identity(serial_number="SN1")), "lab", "amr 1")
ROUTE = (Waypoint("dock", 0.0, 0.0, None, 0.3), Waypoint("", 2.0, 0.0, 0.5, 0.0),
         Waypoint("corridor#2", 2.0, 2.0, None, 0.8), Waypoint("ward", 4.0, 2.0, 4.0, 0.5))
TASK = TaskRequest("7.2.ab12cd.1.3", 7, ROUTE, (TaskAction("load", {"tray": "A", "kg": 2.5, "meta": {"k": 1}}),),
                   released=2)


def sent(order: Order) -> dict[str, Any]:
    """The order as it goes on the wire, checked against the 2.0.0 schema and parsed back."""
    data = json.loads(to_json(order))
    validate(Topic.ORDER, data, "2.0.0")
    assert parse(Topic.ORDER, to_json(order)) == order
    return data


def head(header_id: int = 0) -> dict[str, Any]:
    return conv.header(header_id, T, "LabFleet", "SN1")


def test_an_order_holds_the_released_waypoints_as_its_base() -> None:
    plan = conv.OrderPlan.of(TASK, "lab", here=(0.1, 0.0))
    data = sent(plan.message(head(), 0, 0, 2))
    assert (data["orderId"], data["orderUpdateId"], data["version"]) == ("7.2.ab12cd.1.3", 0, "2.0.0")
    nodes, edges = data["nodes"], data["edges"]
    assert [n["nodeId"] for n in nodes] == ["dock", "7.2.ab12cd.1.3.wp1", "7.2.ab12cd.1.3.wp2", "ward"]
    assert nodes[2]["nodeDescription"] == "corridor#2"  # a name that cannot be an id (6.1.2) is described
    assert [n["sequenceId"] for n in nodes] == [0, 2, 4, 6] and [e["sequenceId"] for e in edges] == [1, 3, 5]
    assert [n["released"] for n in nodes] == [True, True, False, False]
    assert [e["released"] for e in edges] == [True, False, False]
    assert [(e["startNodeId"], e["endNodeId"]) for e in edges] == [(nodes[i]["nodeId"], nodes[i + 1]["nodeId"])
                                                                    for i in range(3)]
    positions = [n["nodePosition"] for n in nodes]
    assert {p["mapId"] for p in positions} == {"lab"}
    assert [p["allowedDeviationXY"] for p in positions] == [0.5, 0.5, 0.5, 0.2]  # tighter at the end
    assert [p.get("theta") for p in positions] == [None, None, None, pytest.approx(4.0 - 2 * math.pi)]
    assert [e.get("maxSpeed") for e in edges] == [0.3, 0.8, 0.5]  # the cap into each waypoint (0: none)
    assert all(n["actions"] == [] for n in nodes)  # the last node's actions go with its release
    everything = sent(plan.message(head(1), 0, 0, 4))
    (load,) = everything["nodes"][3]["actions"]
    assert load == {"actionType": "load", "actionId": "7.2.ab12cd.1.3.a0", "blockingType": "HARD",
                    "actionParameters": [{"key": "tray", "value": "A"}, {"key": "kg", "value": 2.5},
                                         {"key": "meta", "value": '{"k": 1}'}]}


def test_an_update_starts_on_the_last_base_node_sent() -> None:
    plan = conv.OrderPlan.of(TASK, "lab", here=(0.0, 0.0))
    first = plan.message(head(0), 0, 0, 2)
    one = plan.message(head(1), 1, 1, 3)  # released 3: from node 1, the base end of the first
    two = plan.message(head(2), 2, 2, 4)
    for update in (one, two):
        sent(update)
    assert one.nodes[0] == first.nodes[1]  # the stitching node, unchanged (6.6.2)
    assert two.nodes[0] == one.nodes[1]
    assert [(n.node_id, n.sequence_id, n.released) for n in one.nodes] == [
        ("7.2.ab12cd.1.3.wp1", 2, True), ("7.2.ab12cd.1.3.wp2", 4, True), ("ward", 6, False)]
    assert [(e.sequence_id, e.released) for e in one.edges] == [(3, True), (5, False)]
    assert [(n.sequence_id, n.released) for n in two.nodes] == [(4, True), (6, True)]
    assert [a.action_type for a in two.nodes[-1].actions] == ["load"] and plan.action_ids == ("7.2.ab12cd.1.3.a0",)


def test_the_first_node_is_reached_from_where_the_vehicle_stands() -> None:
    assert conv.OrderPlan.of(TASK, "lab", here=(0.0, 0.0)).first_deviation == 0.5
    assert conv.OrderPlan.of(TASK, "lab", here=(3.0, 0.0)).first_deviation == pytest.approx(3.25)  # 6.6.3.1
    assert conv.OrderPlan.of(TASK, "lab", here=None).first_deviation == 0.5
    act = TaskRequest("9.1.x.1.1", 9, (), (TaskAction("unload"),))
    plan = conv.OrderPlan.of(act, "lab", here=(1.5, -2.0))  # an action step: one node where it stands
    data = sent(plan.message(head(), 0, 0, conv.released_count(act.released, plan.n)))
    (node,) = data["nodes"]
    assert (node["nodeId"], node["nodePosition"]["x"], node["nodePosition"]["y"]) == ("9.1.x.1.1.wp0", 1.5, -2.0)
    assert [a["actionType"] for a in node["actions"]] == ["unload"] and data["edges"] == []
    with pytest.raises(ValueError, match="no position"):
        conv.OrderPlan.of(act, "lab", here=None)
    assert [conv.released_count(r, 4) for r in (0, 1, 2, 9, -1)] == [4, 1, 2, 4, 4]


def test_a_route_of_one_place_away_from_the_vehicle_starts_where_it_stands() -> None:
    """Else its only node would count as reached from where the vehicle stands, and it would never drive there."""
    task = TaskRequest("9.2.x.1.1", 9, (Waypoint("ward", 4.0, 2.0, 1.0, 0.5),), released=1)
    plan = conv.OrderPlan.of(task, "lab", here=(4.0, 1.1))  # 0.9 m short of the place
    assert (plan.n, plan.lead, plan.released(1), plan.released(0)) == (2, 1, 2, 2)
    data = sent(plan.message(head(), 0, 0, plan.released(task.released)))
    first, last = data["nodes"]
    assert (first["nodePosition"]["x"], first["nodePosition"]["y"]) == (4.0, 1.1) and first["released"]
    assert (last["nodePosition"]["x"], last["nodePosition"]["y"], last["released"]) == (4.0, 2.0, True)
    assert last["nodePosition"]["allowedDeviationXY"] == conv.LAST_DEVIATION_M
    assert data["edges"][0]["maxSpeed"] == 0.5
    on_it = conv.OrderPlan.of(task, "lab", here=(4.0, 1.9))  # on the place: nothing to drive
    assert (on_it.n, on_it.lead) == (1, 0)


def test_the_allowed_deviation_follows_the_lane_width() -> None:
    """Half the lane's width less the vehicle's radius (at least 0.1 m), the narrower of the lanes meeting at a node;
    0.5 m where no width is known, 0.2 m at the route's end. The width reaches the order from the lane graph (a
    wide lane's carriageway is half of it) through the robot's map transform."""
    route = (Waypoint("dock", 0.0, 0.0), Waypoint("a", 2.0, 0.0, lane_width=2.0),
             Waypoint("b", 4.0, 0.0, lane_width=1.0), Waypoint("c", 6.0, 0.0), Waypoint("d", 8.0, 0.0),
             Waypoint("e", 10.0, 0.0, lane_width=3.0), Waypoint("ward", 12.0, 0.0, lane_width=3.0))
    task = TaskRequest("9.3.x.1.1", 9, route, released=0)
    plan = conv.OrderPlan.of(task, "lab", here=(0.0, 0.0), radius=0.3)
    data = sent(plan.message(head(), 0, 0, plan.n))
    assert [n["nodePosition"]["allowedDeviationXY"] for n in data["nodes"]] == [0.7, 0.2, 0.2, 0.5, 1.2, 1.2, 0.2]
    assert conv.OrderPlan.of(task, "lab", here=(3.0, 0.0), radius=0.3).first_deviation == pytest.approx(3.25)
    assert conv.lane_deviation(0.5, 0.3) == conv.MIN_DEVIATION_M and conv.lane_deviation(None, 0.3) == 0.5
    corridor = Lane("corridor_1@+", "a@s", "b@s", True, None, 3.0)
    assert (floor_across(corridor), floor_across(Lane("door", "a", "b", width=1.2)),
            floor_across(Lane("aisle", "a", "b"))) == (1.5, 1.2, None)
    scaled = to_robot_task(MapTransform(scale=2.0), task)
    assert [w.lane_width for w in scaled.route] == [None, 1.0, 0.5, None, None, 1.5, 1.5]


def a_state(**fields: Any) -> State:
    base: dict[str, Any] = {
        "header_id": 1, "timestamp": "2026-01-01T00:00:00.000Z", "version": "2.0.0", "manufacturer": "LabFleet",
        "serial_number": "SN1", "order_id": "", "order_update_id": 0, "last_node_id": "", "last_node_sequence_id": 0,
        "driving": False, "operating_mode": OperatingMode.AUTOMATIC, "node_states": [], "edge_states": [],
        "action_states": [], "battery_state": BatteryState(battery_charge=80.0, charging=False), "errors": [],
        "safety_state": SafetyState(e_stop=EStop.NONE, field_violation=False),
        "agv_position": AgvPosition(x=1.0, y=2.0, theta=0.5, map_id="lab", position_initialized=True)}
    return State(**(base | fields))


def nodes_ahead(plan: conv.OrderPlan, first: int, released: int) -> list[NodeState]:
    return [NodeState(node_id=plan.node_ids[i], sequence_id=2 * i, released=i < released)
            for i in range(first, plan.n)]


def test_progress_of_our_order_from_states() -> None:
    plan = conv.OrderPlan.of(TASK, "lab", here=(0.0, 0.0))
    oid = plan.order_id
    other = conv.progress(plan, a_state(order_id="old", node_states=nodes_ahead(plan, 1, 2)), frozenset())
    assert (other.ours, other.failure) == (False, None)
    p = conv.progress(plan, a_state(order_id=oid, last_node_id=plan.node_ids[1], last_node_sequence_id=2,
                                    distance_since_last_node=0.5, node_states=nodes_ahead(plan, 2, 3)), frozenset())
    assert (p.ours, p.traversed, p.base_left, p.horizon_left, p.failure) == (True, 1, True, True, None)
    assert p.done_m == pytest.approx(2.5)
    waiting = conv.progress(plan, a_state(order_id=oid, last_node_id=plan.node_ids[1], last_node_sequence_id=2,
                                          node_states=nodes_ahead(plan, 2, 2)), frozenset())
    assert (waiting.base_left, waiting.horizon_left) == (False, True)
    refused = Error(error_type="noRouteError", error_level=ErrorLevel.WARNING, error_description="not on dock",
                    error_references=[ErrorReference(reference_key="orderId", reference_value=oid)])
    assert "refused order" in (conv.progress(plan, a_state(order_id="old", errors=[refused]), frozenset()).failure
                               or "")
    unreadable = Error(error_type="validationError", error_level=ErrorLevel.WARNING, error_description="bad JSON",
                       error_references=[ErrorReference(reference_key="headerId", reference_value="4"),
                                         ErrorReference(reference_key="topic", reference_value="order")])
    assert conv.progress(plan, a_state(errors=[unreadable]), frozenset({4})).failure is not None
    assert conv.progress(plan, a_state(errors=[unreadable]), frozenset({5})).failure is None  # not ours
    fatal = Error(error_type="motorFault", error_level=ErrorLevel.FATAL)
    assert "fatal" in (conv.progress(plan, a_state(errors=[fatal]), frozenset()).failure or "")
    at_end = {"order_id": oid, "last_node_id": "ward", "last_node_sequence_id": 6}
    running = ActionState(action_id=plan.action_ids[0], action_type="load", action_status=ActionStatus.RUNNING)
    p = conv.progress(plan, a_state(**at_end, action_states=[running]), frozenset())
    assert (p.acting, p.finished, p.failure) == ("load", False, None)
    done = running.model_copy(update={"action_status": ActionStatus.FINISHED})
    assert conv.progress(plan, a_state(**at_end, action_states=[done]), frozenset()).finished
    failed = running.model_copy(update={"action_status": ActionStatus.FAILED, "result_description": "tray jammed"})
    assert conv.progress(plan, a_state(**at_end, action_states=[failed]), frozenset()).failure == \
        "action load failed: tray jammed"
    short = conv.progress(plan, a_state(order_id=oid, last_node_id=plan.node_ids[1], last_node_sequence_id=2),
                          frozenset())
    assert "short of its end" in (short.failure or "")


def report(state: State | None, **kw: Any) -> Any:
    snap = conv.Snapshot(state, state.agv_position if state else None, (0.4, 0.1), (9.0, 9.0, 0.0), T)
    args: dict[str, Any] = {"estopped": False, "task_id": "", "task_progress": 0.0} | kw
    return conv.robot_report(ROBOT, snap, map_id="lab", **args)


def test_states_become_robot_reports() -> None:
    r = report(a_state(driving=True, velocity=Velocity(vx=0.4, omega=0.1)))
    assert (r.id, r.kind, r.model, r.mode, r.x, r.y, r.yaw) == ("amr_1", "delivery", "carrier", RobotMode.MOVING,
                                                                  1.0, 2.0, 0.5)
    assert (r.linear, r.angular, r.battery, r.charging, r.localised, r.stamp) == (0.4, 0.1, 80.0, False, True, T)
    warning = Error(error_type="noRouteError", error_level=ErrorLevel.WARNING, error_description="not on node n0")
    assert report(a_state(errors=[warning])).errors == ("VDA 5050 warning noRouteError: not on node n0",)
    assert report(a_state(errors=[warning.model_copy(update={"error_level": ErrorLevel.FATAL})])).mode is \
        RobotMode.ERROR
    assert report(a_state(paused=True, driving=True)).mode is RobotMode.PAUSED
    assert report(a_state(driving=True), estopped=True).mode is RobotMode.ESTOP
    assert report(a_state(safety_state=SafetyState(e_stop=EStop.MANUAL, field_violation=False))).mode is \
        RobotMode.ESTOP
    assert report(a_state(operating_mode=OperatingMode.MANUAL)).mode is RobotMode.MANUAL
    assert report(a_state(battery_state=BatteryState(battery_charge=50, charging=True))).mode is RobotMode.CHARGING
    acting = ActionState(action_id="a", action_type="load", action_status=ActionStatus.RUNNING)
    assert report(a_state(action_states=[acting])).mode is RobotMode.ACTING
    pausing = ActionState(action_id="p", action_type="startPause", action_status=ActionStatus.RUNNING)
    assert report(a_state(action_states=[pausing])).mode is RobotMode.IDLE  # the protocol's own: not acting
    assert report(a_state(), task_id="t1", task_progress=0.4).mode is RobotMode.WAITING
    lost = report(a_state(agv_position=None))
    assert LOCALISATION_LOST in lost.errors and (lost.x, lost.y) == (9.0, 9.0)  # where it was last known
    uninitialised = a_state(agv_position=AgvPosition(x=1, y=2, theta=0, map_id="lab", position_initialized=False))
    assert not report(uninitialised).localised
    elsewhere = report(a_state(agv_position=AgvPosition(x=1, y=2, theta=0, map_id="floor2",
                                                       position_initialized=True)))
    assert not elsewhere.localised and "map 'floor2'" in elsewhere.errors[1]
    assert report(None).mode is RobotMode.IDLE and not report(None).localised


def test_timestamps_and_ids() -> None:
    assert conv.seconds("2026-01-01T00:00:00.000Z") == T
    assert conv.seconds("2026-01-01T00:00:00") == T  # no zone: UTC
    assert conv.seconds(None) is None
    assert conv.node_id("ward_3", "t", 2) == "ward_3" and conv.node_id("ward 3", "t", 2) == "t.wp2"
    assert conv.node_id("", "t", 0) == "t.wp0"
