"""A simulated VDA 5050 vehicle: pure logic, stepped with explicit time, no MQTT and no ROS.

It follows the 2.0 text: order acceptance, updates and rejection (6.6.1-6.6.4, figure 8), node traversal and
edge entry (6.10.2), actions and their blocking types (6.8, 6.11, 6.12; see vda5050.actions), instant actions
(6.9: startPause, stopPause, cancelOrder per 6.6.3 and figure 9, stateRequest, initPosition, logReport,
startCharging, stopCharging, and factsheetRequest of 2.1), the state (6.10: published every state_period_s and
at once on each event), visualization (6.13), connection messages (6.14) and the factsheet (7). It drives a
differential-drive base with LabFleet's path follower along straight edges between node positions given in
the vehicle's own map frame (the caller converts poses into it). Given the base's lidar scan, it stops and slows
for what it sees as LabFleet's robot agent does (its safety layer's stop, slowdown and approach fields, per robot
model): a field violation is safetyState.fieldViolation.

Choices where the text leaves room: the first node of a new order is reached within its allowedDeviationXY
(node_tolerance_m when it gives none); nodes are driven through unless they carry SOFT or HARD actions, lead onto
an edge with such actions, or ask for a theta the vehicle would not have driving through; cancelOrder stops on
the spot (figure 9, left); built-in and instant actions finish at once where 6.8.2 allows it; an order with an
action the vehicle cannot run is rejected (orderError, figure 14's note), an unknown instant action FAILS with
an instantActionError.

Not done: trajectories (NURBS), zones, and of 2.1 corridors (accepted: they allow deviation, the vehicle never
deviates) and maps; operating modes other than AUTOMATIC; initPosition on a node (elevators); actions paused by
a field violation. Nothing of 3.0 (RETRIABLE actions, zone and response topics)."""

from __future__ import annotations

import logging
import math
import time
from typing import Any

import numpy as np
from labfleet_robot.controller import PathFollower, Status, Tuning, obstacle_distance
from labfleet_robot.safety import Measure, SafetyLayer, SafetyParams

from vda5050 import models as wire
from vda5050.actions import ACTIVE, ActionBoard, ActionRun, init_position, loads_after
from vda5050.codec import MessageError
from vda5050.description import BUILTIN_ACTIONS, ActionTable, VehicleDescription, action_scopes, make_factsheet
from vda5050.enums import (
    ActionScope,
    ActionStatus,
    ActionType,
    ConnectionState,
    ErrorLevel,
    ErrorType,
    EStop,
    OperatingMode,
)
from vda5050.factsheet import Factsheet
from vda5050.models import Action, Edge, InstantActions, Node, Order, WireModel, format_timestamp
from vda5050.order_check import Reference, Verdict, check_capability, decide, rejection
from vda5050.route import Frame, Pose, Route, deviation_xy
from vda5050.topics import Topic

log = logging.getLogger(__name__)

STILL = 0.01  # m/s and rad/s: slower than this the vehicle stands still
SLACK_S = 1e-3  # periods are met this early (POSIX seconds as floats are coarse)
MAX_ERRORS = 20
CHARGER_TIMEOUT_S = 10.0  # startCharging / stopCharging fail when the base has not followed by then
# errors about a received message or an earlier order, cleared when an order is accepted (6.6.4)
_ORDER_ERRORS = frozenset({ErrorType.VALIDATION, ErrorType.ORDER, ErrorType.ORDER_UPDATE, ErrorType.NO_ROUTE,
                           ErrorType.NO_ORDER_TO_CANCEL, ErrorType.INSTANT_ACTION})


class Vehicle:
    """One simulated vehicle. Feed it messages (on_order, on_instant_actions, on_invalid_message), step it
    with the base's pose and velocity, publish what take_outgoing() returns."""

    def __init__(self, description: VehicleDescription, *, actions: ActionTable | None = None, seed: int = 0,
                 tuning: Tuning | None = None, state_period_s: float = 1.0, visualization_hz: float = 10.0,
                 node_tolerance_m: float = 0.2, safety: SafetyParams | None = None) -> None:
        self.description = description
        self.actions: dict[str, tuple[float, float]] = dict(actions or {})  # type -> (duration s, success rate)
        self.follower = PathFollower(description.limits, tuning)
        # the vehicle's own protective fields (a real one has safety laser scanners): the same layer as the robot
        # agent's (labfleet_robot/safety.py), on every command, whatever the master control released
        self.safety = SafetyLayer(description.limits.radius, safety)
        self.state_period_s = state_period_s
        self.visualization_hz = visualization_hz
        self.node_tolerance_m = node_tolerance_m  # how near a node counts as on it when allowedDeviationXY is 0
        lim = description.limits
        self.base_request_m = lim.max_speed ** 2 / lim.max_accel + 0.5  # ask for more base this near its end
        self.charging_requested: bool | None = None  # what startCharging / stopCharging ask of the base
        self._board = ActionBoard(seed, self._start_builtin, self._action_ended)
        self._header_ids = dict.fromkeys(Topic, 0)
        self._outbox: list[tuple[Topic, WireModel]] = []
        self._now: float | None = None
        self._wall: float | None = None  # POSIX time of the last step, for timestamps
        self._raw: Pose | None = None  # the pose the caller gives
        self._frame = Frame()  # initPosition: the believed pose is this transform of the caller's pose
        self._map_id = description.map_id
        self._velocity = (0.0, 0.0)
        self._battery = (100.0, False)
        self._route: Route | None = None
        self._order_id, self._order_update_id = "", 0
        self._last_node: tuple[str, int] = ("", 0)
        self._since_node = 0.0
        self._leg_stop: int | None = None  # sequenceId of the node the current leg ends on
        self._edge_entered: int | None = None  # sequenceId of the edge whose actions were triggered
        self._canceling: ActionRun | None = None
        self._pausing: list[ActionRun] = []
        self._paused = False
        self._e_stop = EStop.NONE
        self._field_violation = False
        self._driving = False
        self._new_base_request = False
        self._errors: list[wire.Error] = []
        self._loads: list[wire.Load] = []
        self._state_due = True
        self._last_state = -math.inf
        self._last_vis = -math.inf

    # -- inputs ----------------------------------------------------------------------------------------------
    @property
    def pose(self) -> Pose | None:
        """Where the vehicle believes it is (its map frame), None before the first step."""
        return self._frame.apply(self._raw) if self._raw is not None else None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def has_order(self) -> bool:
        """Whether the vehicle still carries out an order (nodes ahead or order actions not over)."""
        return self._busy()

    def set_e_stop(self, e_stop: EStop) -> None:
        """An e-stop of the given acknowledge type (NONE: released): the base stops at once while it lasts."""
        if e_stop is not self._e_stop:
            self._e_stop = e_stop
            self._state_due = True

    def on_invalid_message(self, error: MessageError) -> None:
        """A payload on order or instantActions that could not be parsed: a validationError (6.6.4.1)."""
        self._error(ErrorType.VALIDATION, str(error), error.references())

    def on_order(self, order: Order) -> None:
        """Accept, stitch, ignore or reject an order (figure 8, see vda5050.order_check.decide)."""
        route = self._route
        end = route.base_end() if route is not None else None
        decision = decide(
            order, current=(self._order_id, self._order_update_id) if route is not None else None,
            busy=self._busy(), base_end=(end.node_id, end.sequence_id) if end is not None else None,
            last_node=self._last_node, reachable=self._reachable, used_action_ids=self._board.runs,
            capability=lambda o: check_capability(o, map_id=self._map_id, height_m=self.description.height_m,
                                                  scopes_of=lambda t: action_scopes(t, self.actions)),
            canceling=self._canceling is not None)
        if decision.verdict is Verdict.REJECT:
            error_type, description, refs = rejection(order, decision.problems)
            self._error(error_type, description, refs)
            log.info("%s: order %s refused: %s", self.description.serial_number, order.order_id, description)
        elif decision.verdict is Verdict.NEW:
            self._accept_new(order)
        elif decision.verdict is Verdict.UPDATE:
            self._accept_update(order)
        else:
            log.debug("%s: order %s update %d again, ignored", self.description.serial_number, order.order_id,
                      order.order_update_id)

    def on_instant_actions(self, message: InstantActions) -> None:
        """Run each instant action (6.9); each gets an actionState under its actionId."""
        for action in message.actions:
            if action.action_id in self._board:
                log.debug("%s: instant action %s again, ignored", self.description.serial_number, action.action_id)
                continue
            self._instant(action, message.header_id)
        self._board.start_ready()

    # -- outputs ---------------------------------------------------------------------------------------------
    def take_outgoing(self) -> list[tuple[Topic, WireModel]]:
        """The messages to publish since the last call, oldest first (a state at once if an event is pending)."""
        if self._state_due or self._board.changed:
            self._outbox.append((Topic.STATE, self._state()))
        out, self._outbox = self._outbox, []
        return out

    def request_state(self) -> None:
        """Publish a state with the next take_outgoing() (e.g. after reconnecting to the broker)."""
        self._state_due = True

    def connection_message(self, state: ConnectionState) -> wire.Connection:
        """The connection message (6.14): ONLINE after connecting, OFFLINE before a clean disconnect, and
        CONNECTIONBROKEN as the last will."""
        return wire.Connection(**self._header(Topic.CONNECTION), connection_state=state)

    def factsheet(self) -> Factsheet:
        head = self._header(Topic.FACTSHEET)
        return make_factsheet(self.description, self.actions, header_id=head["header_id"],
                              timestamp=head["timestamp"], state_period_s=self.state_period_s,
                              visualization_hz=self.visualization_hz, tuning=self.follower.tuning)

    # -- the control step ------------------------------------------------------------------------------------
    def step(self, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float, charging: bool,
             scan: tuple[np.ndarray, np.ndarray] | None = None, wall_s: float | None = None) -> tuple[float, float]:
        """One control cycle at the vehicle's time now_s (seconds; driving, actions and message periods follow
        it) with the base's pose in the vehicle's map frame, its velocity (v, w), battery and charging state, and
        optionally a lidar scan (ranges, angles): the velocity command (v, w) for the base. Timestamps are made
        from wall_s (POSIX seconds; default now_s): a simulator passes its sim time and the wall clock."""
        self._wall = wall_s if wall_s is not None else now_s
        dt = 0.05 if self._now is None else max(1e-3, min(0.5, now_s - self._now))
        if self._raw is not None:
            self._since_node += math.dist(self._raw[:2], pose[:2])
        self._now, self._raw, self._velocity = now_s, pose, velocity
        self._battery = (battery_pct, charging)
        self._board.standing = abs(velocity[0]) <= STILL and abs(velocity[1]) <= STILL
        self._board.tick(dt)
        self._builtin_progress(dt)
        if self._route is not None and self._canceling is None:
            self._progress()
        v, w = self._drive(dt, scan)
        self._update_flags()
        self._emit(now_s)
        return v, w

    def _drive(self, dt: float, scan: tuple[np.ndarray, np.ndarray] | None) -> tuple[float, float]:
        if self._e_stop is not EStop.NONE:
            return self.follower.stop()
        here = self.pose
        route = self._route
        if (here is None or route is None or self._paused or self._canceling is not None or self._leg_stop is None
                or self._board.blocks_driving()):
            return self.follower.stop(dt)
        obstacle = math.inf
        if scan is not None:
            obstacle = obstacle_distance(scan[0], scan[1], self.description.limits, self.follower.tuning)
            self.safety.observe(scan[0], scan[1], here, self._now or 0.0)
        v, w, status = self.follower.compute(*here, dt, obstacle)
        decision = self.safety.guard(self.follower, here, v, w)
        v, w = decision.v, decision.w
        if decision.action is Measure.STOP and status is Status.DRIVING:
            status = Status.WAITING_OBSTACLE  # a protective field violated: stopped as for an obstacle ahead
        if (status is Status.WAITING_OBSTACLE) is not self._field_violation:
            self._field_violation, self._state_due = not self._field_violation, True
        if status is Status.ARRIVED:  # on the leg's stop node, facing its theta
            while route.nodes and route.nodes[0].sequence_id != self._leg_stop:
                self._pass_node()
            if route.nodes:
                self._traverse()
            self._leg_stop = None
            return self.follower.stop(dt)
        cap = route.edges[0].max_rotation_speed if route.edges else None
        if cap is not None and abs(w) > cap:
            w = self.follower.w = math.copysign(cap, w)
        return v, w

    def _progress(self) -> None:
        """Traverse the nodes driven through, enter the next edge and plan the next leg when free to drive."""
        route, here = self._route, self.pose
        assert route is not None and here is not None
        while (self._leg_stop is not None and route.nodes and route.nodes[0].sequence_id != self._leg_stop
               and route.passed(here[:2], deviation_xy(route.nodes[0], self.node_tolerance_m))):
            self._pass_node()
        if self._leg_stop is not None or not route.nodes or not route.nodes[0].released:
            return
        if self._board.blocks_driving():
            return
        if self._edge_entered != route.edges[0].sequence_id:
            self._enter_edge()
            if self._board.blocks_driving():
                return
        stop, waypoints, speeds, final_yaw = route.leg(here[:2], self.follower.tuning.yaw_tolerance)
        self.follower.set_path(here[:2], waypoints, speeds, final_yaw, 0)
        self._leg_stop = route.nodes[stop].sequence_id

    def _pass_node(self) -> None:
        """A node of the leg driven through: traversed, and the edge after it entered at once."""
        self._traverse()
        if self._route is not None and self._route.nodes:
            self._enter_edge()

    def _enter_edge(self) -> None:
        """6.10.2: entering the next edge triggers its actions."""
        assert self._route is not None
        self._edge_entered = self._route.edges[0].sequence_id
        self._board.trigger(self._runs_of(ActionScope.EDGE, self._edge_entered))

    def _traverse(self) -> None:
        """The next node is reached (6.10.2): it and the edge into it leave the state, the edge's actions
        end, the node's actions start."""
        assert self._route is not None
        node, edge = self._route.pop()
        if edge is not None:
            self._board.end_edge(edge.sequence_id)
        self._last_node = (node.node_id, node.sequence_id)
        self._since_node = 0.0
        self._edge_entered = None
        self._board.trigger(self._runs_of(ActionScope.NODE, node.sequence_id))
        self._state_due = True

    def _update_flags(self) -> None:
        v, w = self._velocity
        driving = abs(v) > STILL or abs(w) > STILL
        route, here = self._route, self.pose
        request = bool(route is not None and here is not None and route.has_horizon() and self._canceling is None
                       and route.base_left(here[:2]) <= self.base_request_m)
        if (driving, request) != (self._driving, self._new_base_request):
            self._driving, self._new_base_request = driving, request
            self._state_due = True

    # -- orders ----------------------------------------------------------------------------------------------
    def _busy(self) -> bool:
        """Whether the vehicle still has an order: nodes to traverse or order actions not over (figure 8)."""
        return self._route is not None and (bool(self._route.nodes) or self._board.order_active())

    def _reachable(self, node: Node) -> bool:
        """The first node of a new order is trivially reachable: the vehicle is within its deviation range."""
        here, position = self.pose, node.node_position
        if here is None or position is None or position.map_id != self._map_id:
            return False
        return math.dist(here[:2], (position.x, position.y)) <= deviation_xy(node, self.node_tolerance_m)

    def _accept_new(self, order: Order) -> None:
        self._clear_errors(_ORDER_ERRORS | {ErrorType.ACTION_FAILED})
        self._board.forget_for_new_order()
        self._order_id, self._order_update_id = order.order_id, order.order_update_id
        self._route = Route.of(order)
        self._register(order.nodes, order.edges)
        self._leg_stop = self._edge_entered = None
        self._traverse()  # the first node: the vehicle stands on it
        log.info("%s: order %s accepted", self.description.serial_number, order.order_id)

    def _accept_update(self, order: Order) -> None:
        assert self._route is not None
        self._clear_errors(_ORDER_ERRORS)
        self._order_update_id = order.order_update_id
        nodes, edges = self._route.stitch(order)
        self._board.discard(ActionScope.NODE, {n.sequence_id for n in nodes})
        self._board.discard(ActionScope.EDGE, {e.sequence_id for e in edges})
        self._register(order.nodes[1:], order.edges)  # the stitching node keeps its first actions (6.6.2)
        self._leg_stop = None  # plan again through the longer base, without stopping
        self._state_due = True
        log.info("%s: order %s update %d accepted", self.description.serial_number, order.order_id,
                 order.order_update_id)

    def _register(self, nodes: list[Node], edges: list[Edge]) -> None:
        """The actions of new nodes and edges, WAITING until triggered."""
        for scope, items in ((ActionScope.NODE, nodes), (ActionScope.EDGE, edges)):
            for item in items:
                for action in item.actions:
                    self._board.add(self._new_run(action, scope, item.sequence_id))

    def _new_run(self, action: Action, scope: ActionScope, owner: int | None) -> ActionRun:
        timed = action.action_type in self.actions
        duration, success = self.actions.get(action.action_type, (0.0, 1.0))
        return ActionRun(action, scope, owner, timed, duration, success)

    def _runs_of(self, scope: ActionScope, owner: int) -> list[ActionRun]:
        return [r for r in self._board.runs.values() if r.scope is scope and r.owner == owner]

    # -- instant and built-in actions ------------------------------------------------------------------------
    def _instant(self, action: Action, header_id: int | None) -> None:
        run = self._board.add(self._new_run(action, ActionScope.INSTANT, None))
        if action.action_type in BUILTIN_ACTIONS:
            self._start_builtin(run)  # at once, also while paused
            return
        if ActionScope.INSTANT not in action_scopes(action.action_type, self.actions):
            refs = [("topic", str(Topic.INSTANT_ACTIONS))]
            if header_id is not None:
                refs.insert(0, ("headerId", str(header_id)))
            self._board.set_status(run, ActionStatus.FAILED, "not supported as an instant action")
            self._error(ErrorType.INSTANT_ACTION, f"the vehicle cannot run {action.action_type} as an instant action",
                        [*refs, ("actionId", action.action_id), ("actionType", action.action_type)])
            return
        self._board.trigger([run])

    def _start_builtin(self, run: ActionRun) -> None:
        """A built-in action starts (instant, or on a node for charging)."""
        kind, board = run.action.action_type, self._board
        if kind == ActionType.START_PAUSE:
            self._paused = True
            board.pause()
            board.set_status(run, ActionStatus.RUNNING)
            self._pausing.append(run)
        elif kind == ActionType.STOP_PAUSE:
            self._paused = False
            for waiting in self._pausing:
                board.set_status(waiting, ActionStatus.FINISHED)
            self._pausing.clear()
            board.resume()
            board.set_status(run, ActionStatus.FINISHED)
        elif kind == ActionType.CANCEL_ORDER:
            self._cancel(run)
        elif kind in (ActionType.START_CHARGING, ActionType.STOP_CHARGING):
            self.charging_requested = kind == ActionType.START_CHARGING
            run.remaining_s = self.actions.get(kind, (CHARGER_TIMEOUT_S, 1.0))[0] or CHARGER_TIMEOUT_S
            board.set_status(run, ActionStatus.RUNNING)
        elif kind == ActionType.INIT_POSITION:
            self._init_position(run)
        elif kind == ActionType.FACTSHEET_REQUEST:
            self._outbox.append((Topic.FACTSHEET, self.factsheet()))
            board.set_status(run, ActionStatus.FINISHED)
        else:  # stateRequest (the state goes out with this change), logReport
            if kind == ActionType.LOG_REPORT:
                log.info("%s: logReport: %s", self.description.serial_number, run.action.parameter("reason"))
            board.set_status(run, ActionStatus.FINISHED)
        self._state_due = True

    def _builtin_progress(self, dt: float) -> None:
        still = self._board.standing
        if still:
            for run in self._pausing:
                self._board.set_status(run, ActionStatus.FINISHED)
            self._pausing.clear()
        if self._canceling is not None and still and self._route is not None:
            self._route.clear()  # figure 9: stopped, the order's nodes and edges are dropped
            self._leg_stop = self._edge_entered = None
            self._board.set_status(self._canceling, ActionStatus.FINISHED)
            self._canceling = None
            self._state_due = True
        for run in [r for r in self._board.runs.values() if r.status in ACTIVE]:
            if (kind := run.action.action_type) in (ActionType.START_CHARGING, ActionType.STOP_CHARGING):
                run.remaining_s -= dt
                if self._battery[1] == (kind == ActionType.START_CHARGING):
                    self._board.set_status(run, ActionStatus.FINISHED)
                elif run.remaining_s <= 0:
                    self._board.set_status(run, ActionStatus.FAILED, "the charger did not follow")

    def _cancel(self, run: ActionRun) -> None:
        """cancelOrder (6.6.3, figure 9): stop where it is, order actions FAILED, then drop nodes and edges."""
        if not self._busy() or self._canceling is not None:
            self._board.set_status(run, ActionStatus.FAILED, "no order to cancel")
            self._error(ErrorType.NO_ORDER_TO_CANCEL, "the vehicle has no order to cancel",
                        [("actionId", run.action_id)])
            return
        self._board.fail_order_actions()
        self._board.set_status(run, ActionStatus.RUNNING)
        self._canceling = run
        self._leg_stop = None
        log.info("%s: order %s canceled", self.description.serial_number, self._order_id)

    def _init_position(self, run: ActionRun) -> None:
        """initPosition (6.8): from now on the vehicle believes the caller's present pose is the given one."""
        given = init_position(run.action)
        if self._busy() or self._raw is None or given is None:
            why = "the vehicle has an order" if self._busy() else "needs numbers x, y, theta and a mapId"
            self._board.set_status(run, ActionStatus.FAILED, why)
            self._error(ErrorType.INSTANT_ACTION, f"initPosition refused: {why}", [("actionId", run.action_id)])
            return
        pose, self._map_id, last = given
        self._frame = Frame.placing(self._raw, pose)
        if last is not None:
            self._last_node = (last, 0)
        self._board.set_status(run, ActionStatus.FINISHED)

    def _action_ended(self, run: ActionRun) -> None:
        """Effects of an action that ended: loads after pick and drop (6.8.2), an error when one failed."""
        charging = run.action.action_type in (ActionType.START_CHARGING, ActionType.STOP_CHARGING)
        if run.status is ActionStatus.FAILED and (run.timed or charging) and not run.canceled:
            self._error(ErrorType.ACTION_FAILED, f"action {run.action.action_type} failed",
                        [("actionId", run.action_id), ("actionType", run.action.action_type)])
        loads = loads_after(run, self._loads)
        if loads != self._loads:
            self._loads = loads
            self._state_due = True

    # -- errors ----------------------------------------------------------------------------------------------
    def _error(self, error_type: str, description: str, refs: list[Reference]) -> None:
        references = [wire.ErrorReference(reference_key=k, reference_value=v) for k, v in refs]
        error = wire.Error(error_type=error_type, error_description=description, error_level=ErrorLevel.WARNING,
                           error_references=references or None)
        if error not in self._errors:
            self._errors = [*self._errors, error][-MAX_ERRORS:]
            self._state_due = True

    def _clear_errors(self, types: frozenset[str]) -> None:
        kept = [e for e in self._errors if e.error_type not in types]
        if len(kept) != len(self._errors):
            self._errors = kept
            self._state_due = True

    # -- messages --------------------------------------------------------------------------------------------
    def _header(self, topic: Topic) -> dict[str, Any]:
        header_id, d = self._header_ids[topic], self.description
        self._header_ids[topic] = header_id + 1
        now = self._wall if self._wall is not None else time.time()  # before the first step
        return {"header_id": header_id, "timestamp": format_timestamp(now), "version": d.version,
                "manufacturer": d.manufacturer, "serial_number": d.serial_number}

    def _position(self) -> wire.AgvPosition | None:
        here = self.pose
        if here is None:
            return None
        return wire.AgvPosition(x=here[0], y=here[1], theta=here[2], map_id=self._map_id,
                                position_initialized=True, localization_score=1.0)

    def _emit(self, now: float) -> None:
        if self._state_due or self._board.changed or now - self._last_state >= self.state_period_s - SLACK_S:
            self._outbox.append((Topic.STATE, self._state()))
        if self.visualization_hz > 0 and now - self._last_vis >= 1.0 / self.visualization_hz - SLACK_S:
            self._last_vis = now
            v, w = self._velocity
            self._outbox.append((Topic.VISUALIZATION, wire.Visualization(
                **self._header(Topic.VISUALIZATION), agv_position=self._position(),
                velocity=wire.Velocity(vx=v, vy=0.0, omega=w))))

    def _state(self) -> wire.State:
        self._state_due = self._board.changed = False
        self._last_state = self._now if self._now is not None else -math.inf
        route = self._route
        v, w = self._velocity
        return wire.State(
            **self._header(Topic.STATE), order_id=self._order_id, order_update_id=self._order_update_id,
            last_node_id=self._last_node[0], last_node_sequence_id=self._last_node[1], driving=self._driving,
            paused=self._paused, new_base_request=self._new_base_request,
            distance_since_last_node=round(self._since_node, 3), operating_mode=OperatingMode.AUTOMATIC,
            node_states=route.node_states() if route else [], edge_states=route.edge_states() if route else [],
            agv_position=self._position(), velocity=wire.Velocity(vx=v, vy=0.0, omega=w), loads=list(self._loads),
            action_states=self._board.states(),
            battery_state=wire.BatteryState(battery_charge=self._battery[0], charging=self._battery[1]),
            errors=list(self._errors), information=[],
            safety_state=wire.SafetyState(e_stop=self._e_stop, field_violation=self._field_violation))


