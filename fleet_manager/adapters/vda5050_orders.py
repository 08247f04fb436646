"""The one place where VDA 5050 2.0.0 messages meet the fleet manager's types, for the vda5050 adapter.

- TaskRequest → order and order updates (2.0 text 6.6, 6.7): one node per waypoint (nodeId the place's name, or
  one made from the task id), sequenceIds 0, 2, 4, ... on nodes and 1, 3, ... on edges, the released waypoints
  as the base and the rest as the horizon. An update starts on the last base node already sent (the stitching
  node, sent again unchanged) and carries the new base and the rest as horizon.
- a vehicle's state → the progress of our order (which waypoint it heads to, what is left, whether it is
  done or failed) and → RobotReport.

Pure: no MQTT, no asyncio. Poses are in the vehicle's own map (RobotLink converts to and from the site's)."""

from __future__ import annotations

import itertools
import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from fleet_manager.core.robots import LOCALISATION_LOST, RobotMode, RobotReport, TaskAction, TaskRequest, Waypoint
from fleet_manager.robots.roster import Registration
from vda5050.enums import (
    TERMINAL,
    ActionStatus,
    ActionType,
    BlockingType,
    ErrorLevel,
    ErrorType,
    EStop,
    OperatingMode,
)
from vda5050.models import (
    PI_BOUND,
    Action,
    ActionParameter,
    AgvPosition,
    Edge,
    Error,
    Node,
    NodePosition,
    Order,
    State,
    format_timestamp,
)

VERSION = "2.0.0"  # the protocol version we write in every header
LANE_DEVIATION_M = 0.5  # allowedDeviationXY on the way where the lane's width is unknown
MIN_DEVIATION_M = 0.1  # allowedDeviationXY on the narrowest lane
LAST_DEVIATION_M = 0.2  # at the route's end, where the robot must stand on the place
FIRST_NODE_MARGIN_M = 0.25  # the first node counts as reached from where the vehicle stands (6.6.3.1)
# errors with which a vehicle refuses an order (6.6.4, figure 8): they fail the task when they name our order
ORDER_ERRORS = frozenset({ErrorType.ORDER, ErrorType.ORDER_UPDATE, ErrorType.NO_ROUTE, ErrorType.VALIDATION})
# instant actions of the protocol itself: running one is not "acting"
PROTOCOL_ACTIONS = frozenset({ActionType.START_PAUSE, ActionType.STOP_PAUSE, ActionType.CANCEL_ORDER,
                              ActionType.STATE_REQUEST, ActionType.FACTSHEET_REQUEST, ActionType.LOG_REPORT,
                              ActionType.INIT_POSITION})
ACTIVE = frozenset({ActionStatus.INITIALIZING, ActionStatus.RUNNING, ActionStatus.PAUSED})
MANUAL_MODES = frozenset({OperatingMode.MANUAL, OperatingMode.SERVICE, OperatingMode.TEACHIN})
_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # the characters 6.1.2 recommends for ids


def header(header_id: int, now: float, manufacturer: str, serial: str) -> dict[str, Any]:
    """The protocol header (6.4) of a message we send, as model fields."""
    return {"header_id": header_id, "timestamp": format_timestamp(now), "version": VERSION,
            "manufacturer": manufacturer, "serial_number": serial}


def seconds(timestamp: str | None) -> float | None:
    """A header's ISO 8601 timestamp as POSIX seconds (UTC when it names no zone); None when absent."""
    if timestamp is None:
        return None
    moment = datetime.fromisoformat(timestamp)
    return (moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)).timestamp()


def node_id(name: str, task_id: str, index: int) -> str:
    """The place's name when it can be an id (6.1.2), else one made from the task id and the index."""
    return name if _ID.match(name) else f"{task_id}.wp{index}"


def _param(value: Any) -> Any:
    """A parameter value the 2.0.0 schema takes (array, boolean, number, string); others as JSON text."""
    if isinstance(value, bool | int | float | str | list):
        return value
    return json.dumps(value, default=str, sort_keys=True)


def node_action(action: TaskAction, action_id: str) -> Action:
    """A template action (load, unload, pick, drop, hitch, ...) as a HARD node action with its parameters."""
    params = [ActionParameter(key=str(k), value=_param(v)) for k, v in action.params.items()]
    return Action(action_type=action.name, action_id=action_id, blocking_type=BlockingType.HARD,
                  action_parameters=params or None)


def lane_deviation(width: float | None, radius: float) -> float:
    """allowedDeviationXY on a lane `width` wide (the vehicle's map units) for a vehicle of `radius`: half the
    width less the radius (what keeps its body on the lane), at least MIN_DEVIATION_M; LANE_DEVIATION_M when the
    width is unknown."""
    if width is None or width <= 0:
        return LANE_DEVIATION_M
    return round(max(MIN_DEVIATION_M, width / 2 - radius), 3)


def _angle(yaw: float) -> float:
    wrapped = math.atan2(math.sin(yaw), math.cos(yaw))
    return max(-PI_BOUND, min(PI_BOUND, wrapped))


def released_count(released: int, n: int) -> int:
    """Waypoints released, 1..n (0 in a task: all of them; waypoint 0 is where the robot stands, always)."""
    return n if released <= 0 else max(1, min(released, n))


def _node_deviation(points: tuple[Waypoint, ...], i: int, radius: float) -> float:
    """Node i's allowedDeviationXY: LAST_DEVIATION_M at the route's end (not the first node), else from the
    narrower of the known lanes into it (waypoint i's, none into node 0) and out of it (waypoint i + 1's)."""
    if 0 < i == len(points) - 1:
        return LAST_DEVIATION_M
    widths = [w.lane_width for w in points[max(i, 1): i + 2] if w.lane_width is not None]
    return lane_deviation(min(widths) if widths else None, radius)


@dataclass(frozen=True)
class OrderPlan:
    """One task as a VDA 5050 order: everything needed to build the order and each of its updates alike."""

    order_id: str
    map_id: str
    points: tuple[Waypoint, ...]  # one node each: the task's route, or where the vehicle stands
    node_ids: tuple[str, ...]
    actions: tuple[Action, ...]  # at the last node, sent once that node is released
    deviations: tuple[float, ...]  # each node's allowedDeviationXY
    lead: int = 0  # 1: a node where the vehicle stands comes before the task's one waypoint (task index + lead)

    @classmethod
    def of(cls, task: TaskRequest, map_id: str, here: tuple[float, float] | None, radius: float = 0.0) -> OrderPlan:
        """The plan of a task for a vehicle of `radius` standing at `here` (its map; None when unknown). A task
        without a route (an action step) is one node where the vehicle stands; ValueError when that is unknown.
        A node's allowedDeviationXY comes from the narrower of the lanes into and out of it (lane_deviation), at
        the route's end it is LAST_DEVIATION_M."""
        points = task.route
        if not points:
            if here is None:
                raise ValueError("the vehicle reports no position: an action needs a node where it stands")
            points = (Waypoint("", here[0], here[1]),)
        lead = 0
        if (task.route and here is not None and len(points) == 1
                and math.dist(here, (points[0].x, points[0].y)) > LAST_DEVIATION_M):
            # a route of one place the vehicle does not stand on: its first node would count as reached from
            # where it stands (6.6.3.1), so it starts where it stands and drives onto the place
            points, lead = (Waypoint("", here[0], here[1], None, points[0].max_speed), *points), 1
        ids = tuple(node_id(w.name, task.task_id, i) for i, w in enumerate(points))
        deviations = [_node_deviation(points, i, radius) for i in range(len(points))]
        first = deviations[0]
        if here is not None:  # far from the route's start: counted as on it, it drives from where it is
            first = max(first, math.dist(here, (points[0].x, points[0].y)) + FIRST_NODE_MARGIN_M)
        actions = tuple(node_action(a, f"{task.task_id}.a{j}") for j, a in enumerate(task.actions))
        deviations[0] = round(first, 3)
        return cls(task.task_id, map_id, points, ids, actions, tuple(deviations), lead)

    @property
    def first_deviation(self) -> float:
        return self.deviations[0]

    @property
    def n(self) -> int:
        return len(self.points)

    def released(self, task_released: int) -> int:
        """The plan's nodes released when the task's first `task_released` waypoints are (0: all)."""
        return released_count(task_released + self.lead if task_released > 0 else 0, self.n)

    @property
    def action_ids(self) -> tuple[str, ...]:
        return tuple(a.action_id for a in self.actions)

    def length_to(self, index: int) -> float:
        """Metres along the route from node 0 to node `index`."""
        pts = self.points[: index + 1]
        return sum(math.dist((a.x, a.y), (b.x, b.y)) for a, b in itertools.pairwise(pts))

    def node(self, i: int, released: bool) -> Node:
        w = self.points[i]
        last = i == self.n - 1
        theta = _angle(w.yaw) if last and w.yaw is not None else None
        position = NodePosition(x=w.x, y=w.y, theta=theta, allowed_deviation_xy=self.deviations[i],
                                map_id=self.map_id)
        description = w.name if w.name and w.name != self.node_ids[i] else None
        return Node(node_id=self.node_ids[i], sequence_id=2 * i, node_description=description, released=released,
                    node_position=position, actions=list(self.actions) if last and released else [])

    def edge(self, i: int, released: bool) -> Edge:
        """The edge into node i (i >= 1): maxSpeed from the waypoint's cap (the first edge also takes the cap
        on the way from where the robot stands to the start)."""
        caps = [w.max_speed for w in (self.points[:2] if i == 1 else self.points[i:i + 1]) if w.max_speed > 0]
        a, b = self.node_ids[i - 1], self.node_ids[i]
        return Edge(edge_id=f"{a}--{b}", sequence_id=2 * i - 1, released=released, start_node_id=a, end_node_id=b,
                    max_speed=min(caps) if caps else None, actions=[])

    def message(self, head: dict[str, Any], update_id: int, start: int, released: int) -> Order:
        """The order (update_id 0, start 0) or an update starting on node `start`, the last base node already
        sent; nodes before `released` are the base, the rest the horizon."""
        nodes = [self.node(i, i < released) for i in range(start, self.n)]
        edges = [self.edge(i, i < released) for i in range(start + 1, self.n)]
        return Order(**head, order_id=self.order_id, order_update_id=update_id, nodes=nodes, edges=edges)


# -- state → progress of our order ------------------------------------------------------------------
@dataclass(frozen=True)
class Progress:
    ours: bool  # the state is of this order (the vehicle took it)
    update_id: int  # its orderUpdateId (-1 when not ours)
    traversed: int  # index of the last node traversed (-1: none of ours yet)
    done_m: float  # metres of the route behind the vehicle
    base_left: bool  # released nodes still ahead
    horizon_left: bool  # unreleased nodes still ahead
    acting: str | None  # the type of our node action that runs
    failure: str | None  # why the task fails, if it does
    finished: bool  # the whole route traversed and every action of the order over


def error_text(error: Error) -> str:
    """'VDA 5050 warning noRouteError: the vehicle is not on the first node ...'."""
    text = f"VDA 5050 {error.error_level.lower()} {error.error_type}"
    return f"{text}: {error.error_description}" if error.error_description else text


def _refs(error: Error) -> dict[str, str]:
    return {r.reference_key: r.reference_value for r in error.error_references or []}


def names_order(error: Error, order_id: str) -> bool:
    """Whether an error is about an order (its references name the orderId): a warning left from before (a
    noOrderToCancel, a refused instant action) is not."""
    return _refs(error).get("orderId") == order_id


def refuses(error: Error, order_id: str, header_ids: frozenset[int]) -> bool:
    """Whether an error is the vehicle refusing our order: it names the orderId, or (a message it could not
    read) the headerId of one of our order messages."""
    if error.error_type not in ORDER_ERRORS:
        return False
    if names_order(error, order_id):
        return True
    refs = _refs(error)
    header_id = refs.get("headerId", "")
    return refs.get("topic") == "order" and header_id.isdigit() and int(header_id) in header_ids


def progress(plan: OrderPlan, state: State, header_ids: frozenset[int]) -> Progress:
    """Where the vehicle is in our order, from one of its states (`header_ids`: those of our order messages)."""
    failure = None
    for error in state.errors:
        if error.error_level is ErrorLevel.FATAL:
            failure = f"the vehicle reports a fatal error ({error_text(error)})"
            break
        if refuses(error, plan.order_id, header_ids):
            failure = f"the vehicle refused order {plan.order_id} ({error_text(error)})"
            break
    if state.order_id != plan.order_id:
        return Progress(False, -1, -1, 0.0, False, False, None, failure, False)
    mine = set(plan.action_ids)
    statuses = {a.action_id: a for a in state.action_states if a.action_id in mine}
    acting = next((a.action_type or "action" for a in statuses.values() if a.action_status in ACTIVE), None)
    for action_id in plan.action_ids:  # in the order they run
        a = statuses.get(action_id)
        if failure is None and a is not None and a.action_status is ActionStatus.FAILED:
            failure = f"action {a.action_type or action_id} failed" + (
                f": {a.result_description}" if a.result_description else "")
    index = state.last_node_sequence_id // 2
    valid = state.last_node_sequence_id % 2 == 0 and index < plan.n and plan.node_ids[index] == state.last_node_id
    traversed = index if valid else -1
    done_m = 0.0
    if traversed >= 0:
        done_m = plan.length_to(traversed)
        if traversed + 1 < plan.n:
            seg = plan.length_to(traversed + 1) - done_m
            done_m += min(max(state.distance_since_last_node or 0.0, 0.0), seg)
    base_left = any(n.released for n in state.node_states)
    horizon_left = any(not n.released for n in state.node_states)
    route_done = traversed == plan.n - 1 and not state.node_states
    over = all(a in statuses and statuses[a].action_status in TERMINAL for a in plan.action_ids)
    if failure is None and not state.node_states and traversed < plan.n - 1:
        failure = (f"the vehicle ended order {plan.order_id} at node {state.last_node_id or '?'} short of its "
                   f"end (canceled on the vehicle?)")
    return Progress(True, state.order_update_id, traversed, done_m, base_left, horizon_left, acting, failure,
                    route_done and over)


def busy(state: State | None) -> bool:
    """Whether the vehicle still carries out an order: nodes ahead, or order actions not over."""
    if state is None:
        return False
    return bool(state.node_states) or any(a.action_status not in TERMINAL and a.action_type not in PROTOCOL_ACTIONS
                                          for a in state.action_states)


# -- state → RobotReport -----------------------------------------------------------------------------
def mode(state: State | None, *, estopped: bool, has_task: bool) -> RobotMode:
    if estopped or (state is not None and state.safety_state.e_stop is not EStop.NONE):
        return RobotMode.ESTOP
    if state is None:
        return RobotMode.WAITING if has_task else RobotMode.IDLE
    if state.operating_mode in MANUAL_MODES:
        return RobotMode.MANUAL
    if state.paused:
        return RobotMode.PAUSED
    if any(e.error_level is ErrorLevel.FATAL for e in state.errors):
        return RobotMode.ERROR
    if state.battery_state.charging:
        return RobotMode.CHARGING
    if state.driving:
        return RobotMode.MOVING
    if any(a.action_status in ACTIVE and a.action_type not in PROTOCOL_ACTIONS for a in state.action_states):
        return RobotMode.ACTING
    if has_task or state.node_states:
        return RobotMode.WAITING
    return RobotMode.IDLE


def localisation(position: AgvPosition | None, map_id: str) -> tuple[tuple[float, float, float] | None, list[str]]:
    """The vehicle's pose in its map, or None and why not (LOCALISATION_LOST among the errors)."""
    if position is None or not position.position_initialized:
        return None, [LOCALISATION_LOST]
    if position.map_id != map_id:
        return None, [LOCALISATION_LOST, f"VDA 5050: the vehicle localises on map {position.map_id!r}, its "
                                         f"registration says {map_id!r}"]
    return (position.x, position.y, position.theta), []


@dataclass(frozen=True)
class Snapshot:
    """What the adapter knows of a vehicle when it reports it."""

    state: State | None
    position: AgvPosition | None  # the newest of state and visualization
    velocity: tuple[float, float]  # vx, omega
    pose: tuple[float, float, float]  # the last known pose (while not localised: where it was)
    stamp: float  # the vehicle's clock, POSIX seconds


def robot_report(reg: Registration, snap: Snapshot, *, map_id: str, estopped: bool, task_id: str,
                 task_progress: float, now: float | None = None) -> RobotReport:
    """The vehicle's state as a RobotReport; `now` is the fleet manager's clock (sim time in simulation) for its
    stamp, the vehicle's own timestamp being its wall time."""
    pose, errors = localisation(snap.position, map_id)
    x, y, yaw = pose or snap.pose
    state = snap.state
    if state is not None:
        errors += [error_text(e) for e in state.errors]
    battery = state.battery_state if state is not None else None
    return RobotReport(
        id=reg.id, kind=reg.config.model.kind, model=reg.config.model.name,
        mode=mode(state, estopped=estopped, has_task=bool(task_id)), x=x, y=y, yaw=yaw, linear=snap.velocity[0],
        angular=snap.velocity[1], battery=max(0.0, min(100.0, battery.battery_charge)) if battery else 100.0,
        charging=battery.charging if battery else False, task_id=task_id, task_progress=task_progress,
        errors=tuple(errors), stamp=snap.stamp if now is None else now, wall_time=snap.stamp)
