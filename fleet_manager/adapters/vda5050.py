"""The vda5050 adapter: LabFleet as the master control of VDA 5050 2.0.0 vehicles (AGVs, AMRs) over MQTT.

One MQTT connection for the fleet (vda5050_mqtt.py) reads every vehicle's state, connection, visualization and
factsheet under `<interface>/v2/+/+/`. A registered vda5050 robot is the vehicle of its (manufacturer, serial
number); a vehicle that is not registered is announced and never commanded.
- A task is an order: its released waypoints as the base, the rest as the horizon; a longer release is an
  order update stitched on the last base node (vda5050_job.py; the messages: vda5050_orders.py). Cancelling
  `execute` cancels the order (instant action cancelOrder). A route to a charger is driven like any other (no
  startCharging is sent); template actions run as HARD node actions at the route's end, for as long as the
  vehicle takes.
- pause / resume are startPause / stopPause. A master control has no remote e-stop: an e-stop pauses the
  vehicle, cancels its order (the task fails "estop": its mission is held, missions/holds.py) and holds it until
  released (stopPause); dock is refused.
  A command answers with the vehicle's actionState of the instant action (bounded wait).
- Every state and visualization message becomes a RobotReport, and the last known state is reported again
  every REREPORT_S while the vehicle is heard from (states may come only every 30 s), never once its
  connection says OFFLINE / CONNECTIONBROKEN or after robot_timeout_s without a message: it goes offline.
Faults (issue 15) never end the adapter: a malformed message, one from an unknown vehicle, a headerId going
backwards, a stale message, a state of an order we did not send, the broker going away each give a logged
warning (at most once per WARN_EVERY_S per vehicle and kind). After the broker returns, every robot's current
order is sent again (the same orderId and orderUpdateId)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable, Coroutine
from typing import Any

from fleet_manager.adapters import vda5050_orders as conv
from fleet_manager.adapters.base import Accepted, Announced, OnFeedback
from fleet_manager.adapters.vda5050_job import Job
from fleet_manager.adapters.vda5050_mqtt import BrokerUnavailable, MqttLink
from fleet_manager.adapters.vda5050_vehicles import VehicleRecord, Vehicles, next_header_id
from fleet_manager.aio import within
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import (
    Command,
    CommandResult,
    RobotReport,
    TaskOutcome,
    TaskRequest,
    TaskResult,
    with_caution_caps,
)
from fleet_manager.robots.roster import Registration
from fleet_manager.settings import Settings
from vda5050.codec import to_json
from vda5050.enums import TERMINAL, ActionStatus, ActionType, BlockingType
from vda5050.factsheet import Factsheet
from vda5050.models import Action, ActionState, Connection, InstantActions, Order, State, Visualization
from vda5050.topics import MAJOR_VERSION, Topic, topic_name

log = logging.getLogger(__name__)

REREPORT_S = 0.4  # the last known state again this often (>= 2 Hz) while the vehicle is heard from
COMMAND_WAIT_S = 3.0  # for the vehicle's actionState of a command's instant action
SETTLE_S = 5.0  # for a canceled order to end before a new one is sent
ESTOP_NOTE = ("the vehicle is paused and its order canceled (a VDA 5050 master control has no remote e-stop: "
              "for safety, use the vehicle's own)")


class Vda5050Adapter:
    name = "vda5050"

    def __init__(self, settings: Settings, on_states: Callable[[str, list[RobotReport]], None],
                 on_announce: Callable[[Announced], None], *, backoff_s: tuple[float, float] = (0.5, 5.0),
                 clock: Callable[[], float | None] = lambda: None) -> None:
        self.interface = settings.vda5050_interface
        self._clock = clock  # the fleet manager's clock (sim time in simulation) for report stamps
        self._on_states = on_states  # (adapter name, reports in the robots' own maps), on the event loop
        self._on_announce = on_announce
        self.vehicles = Vehicles(self.interface, settings.robot_timeout_s)
        self.link = MqttLink(settings, self._on_message, self._on_connected, self._on_lost, backoff_s)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._started = False

    # -- life -----------------------------------------------------------------------------------
    async def start(self) -> None:
        """Start reporting, and connect (in the background: the broker may come later) once a vda5050 robot is
        registered (the settings' vda5050_enabled: no MQTT traffic, nor warnings, for a fleet without one)."""
        self._started = True
        if self.vehicles.by_id:
            self.link.start()
        if self._ticker is None:
            self._ticker = asyncio.create_task(self._rereport(), name="vda5050-rereport")

    async def wait_connected(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while not self.link.connected and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        return self.link.connected

    async def close(self) -> None:
        for v in self.vehicles.by_id.values():
            if v.job is not None:
                v.job.abandon("the fleet manager is stopping")
        tasks = [t for t in (self._ticker, *self._tasks) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._ticker = None
        await self.link.close()

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- robots ---------------------------------------------------------------------------------
    def attach(self, robot: Registration) -> None:
        record, replaced = self.vehicles.add(robot)
        if replaced is not None and replaced.job is not None:
            replaced.job.abandon("the robot's VDA 5050 identity changed")
        if record is not None and record.state is None:
            self._request_factsheet(record)
        if record is not None and self._started:
            self.link.start()  # the first vda5050 robot: connect

    def detach(self, robot_id: str) -> None:
        v = self.vehicles.remove(robot_id)
        if v is not None and v.job is not None:
            v.job.abandon("the robot was retired or moved to another adapter")

    def _vehicle(self, robot: Registration) -> VehicleRecord:
        v = self.vehicles.by_id.get(robot.id)
        if v is None:
            raise Unavailable(f"robot {robot.id!r} is not attached to the vda5050 adapter")
        return v

    # -- accessors for the console --------------------------------------------------------------
    def factsheet(self, robot_id: str) -> dict[str, Any] | None:
        """The vehicle's factsheet (type, physical parameters, protocol limits, actions); None before it."""
        v = self.vehicles.by_id.get(robot_id)
        return self.vehicles.factsheet_view(v) if v is not None else None

    async def factsheet_of(self, manufacturer: str, serial: str, wait_s: float) -> Factsheet | None:
        """The factsheet of a vehicle, registered or not (a registration fills its model from it): the one
        known, else (wait_s > 0) the one it sends on a factsheetRequest within wait_s (connecting first)."""
        key = (manufacturer, serial)
        if key in self.vehicles.sheets or wait_s <= 0:
            return self.vehicles.sheets.get(key)
        deadline = time.monotonic() + wait_s
        self.link.start()
        if not await self.wait_connected(wait_s):
            return None
        with contextlib.suppress(BrokerUnavailable):
            await self._instant_to(manufacturer, serial, self.vehicles.headers_of(key),
                                   self._action(ActionType.FACTSHEET_REQUEST, BlockingType.NONE))
        while key not in self.vehicles.sheets and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # a retained factsheet comes with the subscription, else the answer
        return self.vehicles.sheets.get(key)

    def vda_status(self, robot_id: str) -> dict[str, Any] | None:
        """What the vehicle last said: connection, order, errors and action states (None: unknown robot)."""
        v = self.vehicles.by_id.get(robot_id)
        return self.vehicles.status_view(v) if v is not None else None

    # -- messages in ----------------------------------------------------------------------------
    def _on_message(self, topic: str, payload: bytes) -> None:
        v, message, unknown = self.vehicles.intake(topic, payload)
        if unknown is not None:  # (manufacturer, serial) of a vehicle that is not registered
            self._on_announce(Announced(unknown[1], self.name, "/".join(unknown)))
        if v is None or message is None:
            return
        if isinstance(message, State):
            self._on_state(v, message)
        elif isinstance(message, Visualization):
            if message.agv_position is not None and (v.state is None or v.state.agv_position is not None):
                v.position = message.agv_position  # newer than the state's, while the state has one
            if message.velocity is not None:
                v.velocity = (message.velocity.vx or 0.0, message.velocity.omega or 0.0)
            self.vehicles.track(v)
            self._report([v])
        elif isinstance(message, Connection):
            if self.vehicles.came_online(v, message.connection_state):
                self._request_factsheet(v)
        elif isinstance(message, Factsheet):
            v.factsheet, v.factsheet_wanted = message, False
            self.vehicles.keep_sheet((v.manufacturer, v.serial), message)

    def _on_state(self, v: VehicleRecord, state: State) -> None:
        v.state = state
        v.position = state.agv_position  # the state's word on the position counts (none: not localised)
        if state.velocity is not None:
            v.velocity = (state.velocity.vx or 0.0, state.velocity.omega or 0.0)
        self.vehicles.track(v)
        if state.new_base_request and not v.base_request:
            log.info("VDA 5050: robot %s asks for more base (newBaseRequest) on order %s", v.who, state.order_id)
        v.base_request = bool(state.new_base_request)
        if state.order_id and state.order_id not in v.orders and conv.busy(state):
            self.vehicles.warn.warning((v.id, "foreign order"), "VDA 5050: robot %s carries out order %s, which "
                                       "this fleet manager did not send", v.who, state.order_id)
        if v.canceling is not None and not conv.busy(state):
            v.canceling = None
        for a in state.action_states:
            if a.action_id in v.waiters:
                v.statuses[a.action_id] = a.action_status
                future = v.waiters[a.action_id]
                if a.action_status in TERMINAL and not future.done():
                    future.set_result(a)
        if v.job is not None:
            v.job.on_state(state)
        self._report([v])

    # -- reports --------------------------------------------------------------------------------
    def _report(self, vehicles: list[VehicleRecord], again: bool = False) -> None:
        now = time.monotonic()
        reports = []
        for v in vehicles:
            stamp = v.stamp + (now - v.heard_at if again and v.heard_at is not None else 0.0)
            job = v.job
            snap = conv.Snapshot(v.state, v.position, v.velocity, v.pose, stamp)
            reports.append(conv.robot_report(v.reg, snap, map_id=v.map_id, estopped=v.estopped,
                                             task_id=job.order_id if job else "",
                                             task_progress=job.task_progress if job else 0.0, now=self._clock()))
        if reports:
            self._on_states(self.name, reports)

    async def _rereport(self) -> None:
        """Every REREPORT_S: the last known state of each vehicle still heard from."""
        while True:
            await asyncio.sleep(REREPORT_S)
            alive = []
            for v in list(self.vehicles.by_id.values()):
                if self.vehicles.online(v):
                    alive.append(v)
                elif v.heard_at is not None and not v.quiet_warned:
                    v.quiet_warned = True
                    self.vehicles.warn.warning((v.id, "quiet"), "VDA 5050: %s: no longer reported",
                                               self.vehicles.offline_reason(v))
            try:
                self._report(alive, again=True)
            except Exception:
                log.exception("VDA 5050: reporting the vehicles failed")

    # -- messages out ---------------------------------------------------------------------------
    def _topic(self, v: VehicleRecord, topic: Topic) -> str:
        return v.topic(self.interface, topic)

    def _header(self, v: VehicleRecord, topic: Topic) -> dict[str, Any]:
        return conv.header(v.next_header_id(topic), time.time(), v.manufacturer, v.serial)

    async def _send_order(self, v: VehicleRecord, build: Callable[[dict[str, Any]], Order]) -> int:
        head = self._header(v, Topic.ORDER)
        order = build(head)
        try:
            await self.link.publish(self._topic(v, Topic.ORDER), to_json(order), qos=0)  # QoS 0 (6.2)
        except BrokerUnavailable as exc:
            self.vehicles.warn.warning((v.id, "order unsent"), "VDA 5050: order %s for robot %s not sent (%s): it "
                                       "goes once the broker is back", order.order_id, v.who, exc)
            raise
        return int(head["header_id"])

    async def _instant(self, v: VehicleRecord, *actions: Action) -> None:
        await self._instant_to(v.manufacturer, v.serial, v.headers, *actions)

    async def _instant_to(self, manufacturer: str, serial: str, headers: dict[Topic, int], *actions: Action) -> None:
        """instantActions to a vehicle, registered or not (`headers`: its next headerIds)."""
        head = conv.header(next_header_id(headers, Topic.INSTANT_ACTIONS), time.time(), manufacturer, serial)
        topic = topic_name(self.interface, MAJOR_VERSION, manufacturer=manufacturer, serial=serial,
                           topic=Topic.INSTANT_ACTIONS)
        await self.link.publish(topic, to_json(InstantActions(**head, actions=list(actions))), qos=1)

    @staticmethod
    def _action(kind: str, blocking: BlockingType = BlockingType.HARD) -> Action:
        return Action(action_type=kind, action_id=f"{kind}.{secrets.token_hex(6)}", blocking_type=blocking)

    def _request_factsheet(self, v: VehicleRecord) -> None:
        v.factsheet_wanted = True
        if self.link.connected:
            self._spawn(self._ask_factsheet(v))

    async def _ask_factsheet(self, v: VehicleRecord) -> None:
        with contextlib.suppress(BrokerUnavailable):  # asked again after reconnecting
            await self._instant(v, self._action(ActionType.FACTSHEET_REQUEST, BlockingType.NONE))

    async def _cancel_order(self, v: VehicleRecord, order_id: str) -> None:
        """cancelOrder for our order (once); when the broker is away, as soon as it is back."""
        if v.canceling == order_id:
            return
        v.canceling, v.cancel_pending = order_id, None
        try:
            await self._instant(v, self._action(ActionType.CANCEL_ORDER))
            log.info("VDA 5050: order %s of robot %s canceled", order_id, v.who)
        except BrokerUnavailable:
            v.canceling, v.cancel_pending = None, order_id

    def _on_connected(self) -> None:
        self._spawn(self._after_connect())

    async def _after_connect(self) -> None:
        """The broker is (back): pending cancels, every current order again, factsheets not yet had."""
        for v in list(self.vehicles.by_id.values()):
            if v.cancel_pending is not None:
                await self._cancel_order(v, v.cancel_pending)
            if v.job is not None:
                v.job.resend()
            if v.factsheet_wanted:
                await self._ask_factsheet(v)

    def _on_lost(self, reason: str) -> None:
        for v in self.vehicles.by_id.values():
            if v.job is not None:
                log.info("VDA 5050: robot %s keeps order %s while the broker is away (%s)", v.who, v.job.order_id,
                         reason)

    # -- tasks ----------------------------------------------------------------------------------
    def _check_reachable(self, v: VehicleRecord) -> None:
        if not self.link.connected:
            raise Unavailable(f"the MQTT broker {self.link.where} of the VDA 5050 vehicles is out of reach")
        if not self.vehicles.online(v):
            raise Unavailable(f"{self.vehicles.offline_reason(v)}: it is offline")

    async def execute(self, robot: Registration, task: TaskRequest, on_accepted: Accepted,
                      on_feedback: OnFeedback) -> TaskResult:
        v = self._vehicle(robot)
        if v.estopped:
            raise Unavailable(f"robot {robot.id!r} is e-stopped: release the e-stop first")
        self._check_reachable(v)
        if v.job is not None:
            v.job.abandon(f"preempted by task {task.task_id}")
        await self._settle(v)
        task = with_caution_caps(task, robot.config.model.safety_params().caution_speed)  # as edges' maxSpeed
        try:
            plan = conv.OrderPlan.of(task, v.map_id, v.pose[:2] if v.localised else None,
                                     robot.config.model.radius / robot.map_transform.scale)
        except ValueError as exc:
            return TaskResult(TaskOutcome.FAILED, str(exc))
        job = Job(plan, task.released, lambda build: self._send_order(v, build), on_feedback,
                  lambda: v.pose if v.localised else None)
        v.job = job
        v.orders.append(task.task_id)
        try:
            result = await job.run(on_accepted)
        except asyncio.CancelledError:
            if job.header_ids:  # the order went out: the vehicle may have it
                await self._cancel_order(v, job.order_id)
            raise
        finally:
            if v.job is job:
                v.job = None
                if v.state is not None:
                    self._report([v])  # at once without the task: the registry sees the robot free
        if result.outcome is not TaskOutcome.SUCCEEDED and job.holds_vehicle and not v.estopped:
            await self._cancel_order(v, job.order_id)
        return result

    async def _settle(self, v: VehicleRecord) -> None:
        """Before a new order: an order still on the vehicle (ours, being canceled; or another's) ends first."""
        state = v.state
        if not conv.busy(state):
            return
        assert state is not None
        if v.canceling != state.order_id:
            if state.order_id not in v.orders:
                log.warning("VDA 5050: robot %s still carries out order %s: canceled for the new task", v.who,
                            state.order_id)
            await self._cancel_order(v, state.order_id)
        deadline = time.monotonic() + SETTLE_S
        while conv.busy(v.state) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)

    async def release(self, robot: Registration, task_id: str, waypoints: int) -> None:
        v = self._vehicle(robot)
        if v.job is not None and v.job.order_id == task_id:
            v.job.release(waypoints)

    # -- commands -------------------------------------------------------------------------------
    async def command(self, robot: Registration, command: Command, reason: str) -> tuple[CommandResult, str]:
        v = self.vehicles.by_id.get(robot.id)
        if v is None:
            return CommandResult.UNAVAILABLE, f"robot {robot.id!r} is not attached to the vda5050 adapter"
        if command is Command.DOCK:
            return CommandResult.REJECTED, "docking needs a dock route: send a task to the charger"
        if command not in (Command.PAUSE, Command.RESUME, Command.ESTOP, Command.RELEASE):
            return CommandResult.UNKNOWN_COMMAND, f"unknown command {command}"
        if command is Command.RELEASE and not v.estopped:
            return CommandResult.REJECTED, "not e-stopped"
        if command is Command.RESUME and v.estopped:
            return CommandResult.REJECTED, "e-stopped: release the e-stop first"
        try:
            self._check_reachable(v)
        except Unavailable as exc:
            return CommandResult.UNAVAILABLE, exc.message
        if command is Command.ESTOP:
            return await self._estop(v)
        try:
            if command is Command.RELEASE:
                result, text = await self._answered(v, [self._action(ActionType.STOP_PAUSE)], "e-stop released")
                if result is CommandResult.OK:
                    v.estopped = False
                    self._report([v])
                return result, text
            if command is Command.PAUSE:
                return await self._answered(v, [self._action(ActionType.START_PAUSE)], "paused (startPause)")
            return await self._answered(v, [self._action(ActionType.STOP_PAUSE)], "resumed (stopPause)")
        except BrokerUnavailable as exc:
            return CommandResult.UNAVAILABLE, str(exc)

    async def _estop(self, v: VehicleRecord) -> tuple[CommandResult, str]:
        """startPause, and cancelOrder for the order it carries out: its task fails "estop", the robot is held
        (no task is sent to it) until the e-stop is released."""
        job, state = v.job, v.state
        order = job.order_id if job is not None else state.order_id if state is not None and conv.busy(state) else ""
        v.estopped = True
        if job is not None:
            job.stop("estop")
        actions = [self._action(ActionType.START_PAUSE)]
        if order:
            actions.append(self._action(ActionType.CANCEL_ORDER))
            v.canceling = order
        try:
            result, text = await self._answered(v, actions, "e-stop: " + ESTOP_NOTE)
        except BrokerUnavailable as exc:
            if order:
                v.canceling, v.cancel_pending = None, order
            result, text = CommandResult.UNAVAILABLE, f"{exc}: the robot is held, but the e-stop did not reach it"
        self._report([v])
        return result, text

    async def _answered(self, v: VehicleRecord, actions: list[Action], done: str) -> tuple[CommandResult, str]:
        """Send instant actions; the answer is the vehicle's actionState of the first one (bounded wait)."""
        first = actions[0]
        future: asyncio.Future[ActionState] = asyncio.get_running_loop().create_future()
        v.waiters[first.action_id] = future
        try:
            await self._instant(v, *actions)  # BrokerUnavailable: to the caller
            answer = await within(future, COMMAND_WAIT_S)
        except TimeoutError:
            status = v.statuses.get(first.action_id)
            if status is not None:
                return CommandResult.OK, f"{done}; the vehicle reports {first.action_type} {status}"
            return CommandResult.UNAVAILABLE, (f"the vehicle did not answer {first.action_type} within "
                                               f"{COMMAND_WAIT_S:g} s")
        finally:
            v.waiters.pop(first.action_id, None)
            v.statuses.pop(first.action_id, None)
        if answer.action_status is ActionStatus.FINISHED:
            return CommandResult.OK, done + (f" ({answer.result_description})" if answer.result_description else "")
        return CommandResult.REJECTED, (f"the vehicle refused {first.action_type}: "
                                        f"{answer.result_description or 'FAILED'}")
