"""The vda5050 adapter (fleet_manager/adapters/vda5050.py) as the master control of the simulated VDA 5050
vehicle (vda5050.vehicle, on its VehicleLink), both on the real Mosquitto broker at 127.0.0.1:1883. Each test
has an interface name of its own, steps the vehicle on a unicycle base in its event loop (twice real time),
collects the adapter's reports, and records everything under `<interface>/v2/#`: what the adapter published
must validate against the VDA 5050 2.0.0 schema. No ROS. Without the broker these tests fail."""

from __future__ import annotations

import asyncio
import contextlib
import json
import math
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from jsonschema.validators import validator_for
from labfleet_robot.controller import Limits
from labfleet_sim.fleet_config import Pose, RobotConfig, RobotModel, Vda5050Identity
from paho.mqtt.enums import CallbackAPIVersion

from fleet_manager.adapters.base import Announced
from fleet_manager.adapters.vda5050 import Vda5050Adapter
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import (
    Command,
    CommandResult,
    RobotMode,
    RobotReport,
    TaskAction,
    TaskFeedback,
    TaskOutcome,
    TaskRequest,
    TaskResult,
    Waypoint,
)
from fleet_manager.robots.roster import Registration
from fleet_manager.settings import Settings
from vda5050.codec import parse
from vda5050.description import VehicleDescription
from vda5050.mqtt_vehicle import BrokerSettings, VehicleLink
from vda5050.schemas import load_schema, validate
from vda5050.topics import Topic
from vda5050.vehicle import Vehicle

BROKER = ("127.0.0.1", 1883)
MAP = "lab"  # the site's name: the default mapId
DT = 0.05  # simulated seconds per step
SPEEDUP = 2.0
LIMITS = Limits(max_speed=1.5, max_accel=1.5, max_yaw_rate=2.5, max_yaw_accel=5.0)
MODEL = RobotModel(name="carrier", kind="delivery", radius=0.3, mass_kg=40, max_speed=1.5, max_accel=1.5,
                   max_yaw_rate=2.5, max_yaw_accel=5.0, battery_capacity_wh=200, idle_power_w=10, drive_power_w=40)
ROBOT = Registration(RobotConfig(id="amr_1", model=MODEL, spawn=Pose(x=0, y=0), robot_api="vda5050",
                                 vda5050=Vda5050Identity(manufacturer="LabFleet", serial_number="SN1")), MAP, "amr 1")
ROBOT_2 = Registration(RobotConfig(id="amr_2", model=MODEL, spawn=Pose(x=0, y=3), robot_api="vda5050"), MAP, "amr 2",
                       {"manufacturer": "LabFleet", "serial_number": "SN2", "map_id": MAP})  # from its connection


def line(*xs: float, names: bool = True) -> tuple[Waypoint, ...]:
    return tuple(Waypoint(f"n{i}" if names else "", x, 0.0) for i, x in enumerate(xs))


async def until(check: Callable[[], object], what: str, timeout_s: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)
    return result


@dataclass
class Sim:
    """The simulated vehicle on a unicycle base, stepped every DT simulated seconds (SPEEDUP times real time)."""

    interface: str
    serial: str = "SN1"
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)
    stepping: bool = True
    path: list[tuple[float, float, float]] = field(default_factory=list)  # (monotonic, x, y)

    def __post_init__(self) -> None:
        self.vehicle = Vehicle(VehicleDescription("LabFleet", self.serial, MAP, limits=LIMITS),
                               actions={"load": (0.6, 1.0), "unload": (0.6, 1.0)}, state_period_s=1.0,
                               visualization_hz=5.0)
        self.link = VehicleLink(self.vehicle, BrokerSettings(interface=self.interface, reconnect_min_s=1,
                                                             reconnect_max_s=2))
        self.t, self.v, self.w = time.time(), 0.0, 0.0

    def step(self) -> None:
        x, y, yaw = self.pose
        self.pose = (x + self.v * math.cos(yaw) * DT, y + self.v * math.sin(yaw) * DT,
                     math.atan2(math.sin(yaw + self.w * DT), math.cos(yaw + self.w * DT)))
        self.t += DT
        self.path.append((time.monotonic(), self.pose[0], self.pose[1]))
        if self.stepping:
            self.v, self.w = self.link.step(self.t, self.pose, (self.v, self.w), 80.0, False)
        else:
            self.v = self.w = 0.0

    async def run(self) -> None:
        while True:
            self.step()
            await asyncio.sleep(DT / SPEEDUP)

    def max_x(self, before: float = math.inf) -> float:
        return max(x for t, x, _ in self.path if t < before)

    @property
    def stands(self) -> bool:
        return abs(self.v) < 1e-3 and abs(self.w) < 1e-3


class Monitor:
    """A client on `<interface>/v2/#` (this test's interface only): every message, and a publisher for faults."""

    def __init__(self, interface: str) -> None:
        self.interface = interface
        self.messages: list[tuple[float, str, bytes, bool]] = []
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-monitor-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.messages.append((time.monotonic(), m.topic,
                                                                         bytes(m.payload), bool(m.retain)))
        try:
            self.client.connect(*BROKER, keepalive=15)
        except OSError as exc:
            pytest.fail(f"the Mosquitto broker on {BROKER[0]}:{BROKER[1]} is required for this test: {exc}")
        self.client.subscribe(f"{interface}/v2/#", qos=1)
        self.client.loop_start()

    def topic(self, serial: str, topic: Topic) -> str:
        return f"{self.interface}/v2/LabFleet/{serial}/{topic}"

    def of(self, topic: Topic, after: float = -math.inf) -> list[dict[str, Any]]:
        return [json.loads(p) for t, name, p, _r in list(self.messages) if name.endswith(f"/{topic}") and p
                and t >= after]

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def close(self) -> None:
        retained = {name for _t, name, p, r in self.messages if r and p} | {
            name for _t, name, p, _r in self.messages if name.endswith(("/connection", "/factsheet"))}
        for name in retained:  # leave no retained messages behind
            self.client.publish(name, b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


def check_published(monitor: Monitor) -> int:
    """Every order and instantActions message (what the adapter sends) against the 2.0.0 schema: orders as
    they are; instantActions as the 2.0 text writes them (actionType), which the tag 2.0.0 schema calls
    actionName (vda5050/schemas/README.md): that, and only that, differs."""
    orders, instants = monitor.of(Topic.ORDER), monitor.of(Topic.INSTANT_ACTIONS)
    for data in orders:
        validate(Topic.ORDER, data, "2.0.0")
        parse(Topic.ORDER, json.dumps(data))
    schema = load_schema("2.0.0", Topic.INSTANT_ACTIONS)
    for data in instants:
        problems = {e.message for e in validator_for(schema)(schema).iter_errors(data)}
        assert problems <= {"'actionName' is a required property"}, problems
        as_2_0_0 = {**data, "actions": [{("actionName" if k == "actionType" else k): v for k, v in a.items()}
                                        for a in data["actions"]]}
        validate(Topic.INSTANT_ACTIONS, as_2_0_0, "2.0.0")
        validate(Topic.INSTANT_ACTIONS, data, "2.1.0")
        parse(Topic.INSTANT_ACTIONS, json.dumps(data))
    for data in orders + instants:
        assert (data["manufacturer"], data["version"]) == ("LabFleet", "2.0.0")
    return len(orders) + len(instants)


@dataclass
class Lab:
    adapter: Vda5050Adapter
    sims: dict[str, Sim]
    monitor: Monitor
    reports: list[RobotReport] = field(default_factory=list)
    announced: list[Announced] = field(default_factory=list)
    feedback: list[TaskFeedback] = field(default_factory=list)
    accepted: int = 0

    @property
    def sim(self) -> Sim:
        return self.sims["SN1"]

    def start(self, task: TaskRequest, robot: Registration = ROBOT) -> asyncio.Task[TaskResult]:
        async def accepted() -> None:
            self.accepted += 1

        return asyncio.create_task(self.adapter.execute(robot, task, accepted, self.feedback.append))

    def states(self) -> list[str]:
        return [f.state for f in self.feedback]

    def last(self) -> RobotReport:
        return self.reports[-1]


@contextlib.asynccontextmanager
async def lab(url: str = "mqtt://127.0.0.1:1883", timeout_s: float = 3.0,
              robots: tuple[Registration, ...] = (ROBOT,)) -> AsyncIterator[Lab]:
    interface = f"uagv_t{uuid.uuid4().hex[:10]}"
    monitor = Monitor(interface)
    sims = {f"SN{i + 1}": Sim(interface, f"SN{i + 1}", pose=(0.0, 3.0 * i, 0.0)) for i in range(len(robots))}
    for sim in sims.values():
        sim.link.start()
    stepping = [asyncio.create_task(sim.run()) for sim in sims.values()]
    settings = Settings(mqtt_url=url, vda5050_interface=interface, robot_timeout_s=timeout_s)
    here = Lab(None, sims, monitor)  # type: ignore[arg-type]
    adapter = Vda5050Adapter(settings, lambda name, batch: here.reports.extend(batch), here.announced.append,
                             backoff_s=(0.3, 1.0))
    here.adapter = adapter
    await adapter.start()
    assert not adapter.link.connected and await adapter.wait_connected(0.3) is False  # no vda5050 robot yet
    for robot in robots:
        adapter.attach(robot)
    try:
        assert await adapter.wait_connected(5), "the adapter did not connect to the broker"
        await until(lambda: {r.id for r in here.reports} == {r.id for r in robots}
                    and all(adapter.factsheet(r.id) for r in robots), "the vehicles' first reports and factsheets")
        yield here
    finally:
        await adapter.close()
        for task in stepping:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for sim in sims.values():
            sim.link.stop()
        await asyncio.sleep(0.1)
        monitor.close()
    assert check_published(monitor) > 0


def run(scenario: Callable[[], Coroutine[Any, Any, None]]) -> None:
    asyncio.run(scenario())


# -- tasks -----------------------------------------------------------------------------------------------------
def test_a_released_task_is_driven_and_its_actions_run() -> None:
    async def scenario() -> None:
        async with lab() as here:
            route = (Waypoint("start", 0.0, 0.0), Waypoint("", 2.0, 0.0, None, 1.0),
                     Waypoint("ward", 2.0, 1.5, math.pi / 2, caution=True))  # (a door into the ward)
            task = TaskRequest("1.0.aa.1.1", 1, route, (TaskAction("load", {"tray": "A"}),))
            result = await asyncio.wait_for(here.start(task), 20)
            assert result.outcome is TaskOutcome.SUCCEEDED, result.reason
            assert math.dist(here.sim.pose[:2], (2.0, 1.5)) < 0.1 and result.final_pose is not None
            assert 3.0 < result.distance_m < 4.5 and here.accepted == 1
            assert "acting:load" in here.states() and here.feedback[-1].waypoint_index == 3
            assert here.feedback[-1].progress == 1.0
            modes = {r.mode for r in here.reports if r.task_id == task.task_id}
            assert {RobotMode.MOVING, RobotMode.ACTING} <= modes
            (order,) = here.monitor.of(Topic.ORDER)  # all released: one order, no update
            assert [n["released"] for n in order["nodes"]] == [True] * 3
            # the zone's cap, then the model's caution speed (safety.caution_speed, 0.5 m/s by default) on the
            # lane through the door: the vehicle's own fields do not know the navgraph's caution places
            assert [e.get("maxSpeed") for e in order["edges"]] == [1.0, 0.5]
            status = here.adapter.vda_status(ROBOT.id)
            assert status is not None and status["online"] and status["orderId"] == task.task_id
            assert [a["actionStatus"] for a in status["actionStates"] if a["actionType"] == "load"] == ["FINISHED"]
            sheet = here.adapter.factsheet(ROBOT.id)
            assert sheet is not None and sheet["physicalParameters"]["speedMax"] == 1.5
            assert "load" in sheet["agvActions"]
            assert any(a["actionType"] == "factsheetRequest" for m in here.monitor.of(Topic.INSTANT_ACTIONS)
                       for a in m["actions"])
            assert here.last().task_id == "" and here.last().mode is RobotMode.IDLE
    run(scenario)


def test_a_route_released_in_three_steps_is_an_order_and_two_updates() -> None:
    async def scenario() -> None:
        async with lab() as here:
            xs = (0.0, 1.5, 3.0, 4.5, 6.0)
            task = TaskRequest("2.0.bb.1.1", 2, line(*xs), released=2)
            running = here.start(task)
            await until(lambda: "waiting_release" in here.states() and here.sim.stands, "a stop at node n1")
            first_release = time.monotonic()
            await here.adapter.release(ROBOT, task.task_id, 4)
            await until(lambda: here.feedback[-1].waypoint_index == 4 and here.states()[-1] == "waiting_release"
                        and here.sim.stands, "a stop at node n3")
            second_release = time.monotonic()
            await here.adapter.release(ROBOT, task.task_id, 0)
            result = await asyncio.wait_for(running, 20)
            assert result.outcome is TaskOutcome.SUCCEEDED, result.reason
            assert here.sim.max_x(first_release) <= xs[1] + 0.05  # never past a node before its release
            assert here.sim.max_x(second_release) <= xs[3] + 0.05
            assert here.sim.max_x() <= xs[4] + 0.05
            orders = here.monitor.of(Topic.ORDER)
            assert [o["orderUpdateId"] for o in orders] == [0, 1, 2]
            assert {o["orderId"] for o in orders} == {task.task_id}
            released = [[(n["nodeId"], n["sequenceId"], n["released"]) for n in o["nodes"]] for o in orders]
            assert released[0] == [("n0", 0, True), ("n1", 2, True), ("n2", 4, False), ("n3", 6, False),
                                   ("n4", 8, False)]
            assert released[1] == [("n1", 2, True), ("n2", 4, True), ("n3", 6, True), ("n4", 8, False)]
            assert released[2] == [("n3", 6, True), ("n4", 8, True)]
            assert orders[1]["nodes"][0] == orders[0]["nodes"][1]  # stitched on the base end, unchanged
            assert orders[2]["nodes"][0] == orders[1]["nodes"][2]
            assert [e["sequenceId"] for e in orders[2]["edges"]] == [7]
    run(scenario)


def test_one_connection_drives_a_fleet() -> None:
    async def scenario() -> None:
        async with lab(robots=(ROBOT, ROBOT_2)) as here:
            one = here.start(TaskRequest("2.1.ab.1.1", 2, line(0.0, 2.0)))
            two = here.start(TaskRequest("2.1.ab.1.2", 2, (Waypoint("b0", 0.0, 3.0), Waypoint("b1", 2.5, 3.0))),
                             ROBOT_2)
            results = await asyncio.wait_for(asyncio.gather(one, two), 20)
            assert [r.outcome for r in results] == [TaskOutcome.SUCCEEDED] * 2
            assert math.dist(here.sims["SN1"].pose[:2], (2.0, 0.0)) < 0.1
            assert math.dist(here.sims["SN2"].pose[:2], (2.5, 3.0)) < 0.1
            sent = [(t.split("/")[3], json.loads(p)["orderId"]) for _t, t, p, _r in here.monitor.messages
                    if t.endswith("/order")]
            assert sorted(sent) == [("SN1", "2.1.ab.1.1"), ("SN2", "2.1.ab.1.2")]  # each to its own vehicle
            by_robot = {r.id: r for r in here.reports}
            assert by_robot["amr_2"].y == pytest.approx(3.0, abs=0.1)
            assert by_robot["amr_1"].y == pytest.approx(0.0, abs=0.1)
            assert here.adapter.link.connections == 1
    run(scenario)


def test_pause_and_resume() -> None:
    async def scenario() -> None:
        async with lab() as here:
            running = here.start(TaskRequest("3.0.cc.1.1", 3, line(0.0, 5.0)))
            await until(lambda: here.sim.pose[0] > 1.0, "the vehicle under way")
            assert await here.adapter.command(ROBOT, Command.PAUSE, "") == (CommandResult.OK, "paused (startPause)")
            assert here.sim.stands
            await until(lambda: here.last().mode is RobotMode.PAUSED and "paused" in here.states(), "paused")
            x = here.sim.pose[0]
            await asyncio.sleep(0.5)
            assert here.sim.pose[0] == pytest.approx(x, abs=1e-3) and not running.done()
            result, text = await here.adapter.command(ROBOT, Command.RESUME, "")
            assert (result, text) == (CommandResult.OK, "resumed (stopPause)")
            done = await asyncio.wait_for(running, 20)
            assert done.outcome is TaskOutcome.SUCCEEDED and here.sim.pose[0] == pytest.approx(5.0, abs=0.1)
            assert await here.adapter.command(ROBOT, Command.DOCK, "") == (
                CommandResult.REJECTED, "docking needs a dock route: send a task to the charger")
            assert (await here.adapter.command(ROBOT, Command.RELEASE, ""))[0] is CommandResult.REJECTED
    run(scenario)


def test_cancelling_the_task_cancels_the_order() -> None:
    async def scenario() -> None:
        async with lab() as here:
            running = here.start(TaskRequest("4.0.dd.1.1", 4, line(0.0, 6.0)))
            await until(lambda: here.sim.pose[0] > 1.0, "the vehicle under way")
            running.cancel()
            with pytest.raises(asyncio.CancelledError):
                await running
            (cancel,) = await until(lambda: [a for m in here.monitor.of(Topic.INSTANT_ACTIONS)
                                             for a in m["actions"] if a["actionType"] == "cancelOrder"], "cancelOrder")
            await until(lambda: here.sim.stands and not here.sim.vehicle.has_order, "the vehicle stopped, no order")
            assert here.sim.pose[0] < 5.0
            await until(lambda: any(a["actionId"] == cancel["actionId"] and a["actionStatus"] == "FINISHED"
                                    for a in (here.adapter.vda_status(ROBOT.id) or {})["actionStates"]),
                        "cancelOrder FINISHED")
            back = here.start(TaskRequest("4.0.dd.2.2", 4, (Waypoint("here", *here.sim.pose[:2]),
                                                             Waypoint("home", 0.0, 0.0))))
            await until(lambda: here.sim.v > 0.5, "under way back")
            back.cancel()
            with pytest.raises(asyncio.CancelledError):
                await back
            # at once a new task: its order waits until the vehicle has ended the canceled one
            result = await asyncio.wait_for(here.start(TaskRequest("4.0.dd.3.3", 4, (
                Waypoint("", *here.sim.pose[:2]), Waypoint("n1", 1.0, 0.0)))), 20)
            assert result.outcome is TaskOutcome.SUCCEEDED, result.reason
            assert here.sim.pose[0] == pytest.approx(1.0, abs=0.1)
            assert [o["orderId"] for o in here.monitor.of(Topic.ORDER)] == ["4.0.dd.1.1", "4.0.dd.2.2", "4.0.dd.3.3"]
    run(scenario)


def test_an_estop_fails_the_task_and_holds_the_robot_until_released() -> None:
    async def scenario() -> None:
        async with lab() as here:
            running = here.start(TaskRequest("5.0.ee.1.1", 5, line(0.0, 6.0)))
            await until(lambda: here.sim.pose[0] > 1.0, "the vehicle under way")
            result, text = await here.adapter.command(ROBOT, Command.ESTOP, "test")
            assert result is CommandResult.OK and "no remote e-stop" in text
            failed = await asyncio.wait_for(running, 5)
            assert (failed.outcome, failed.reason) == (TaskOutcome.FAILED, "estop")
            await until(lambda: here.sim.stands and not here.sim.vehicle.has_order and here.sim.vehicle.paused,
                        "paused, order canceled")
            await until(lambda: here.last().mode is RobotMode.ESTOP, "mode estop")
            held = here.sim.pose
            with pytest.raises(Unavailable, match="e-stopped"):
                await here.adapter.execute(ROBOT, TaskRequest("5.0.ee.2.2", 5, line(held[0], 0.0)), _nothing,
                                           here.feedback.append)
            assert (await here.adapter.command(ROBOT, Command.RESUME, ""))[0] is CommandResult.REJECTED
            assert await here.adapter.command(ROBOT, Command.RELEASE, "") == (CommandResult.OK, "e-stop released")
            await until(lambda: here.last().mode is RobotMode.IDLE and not here.sim.vehicle.paused, "released")
            assert math.dist(here.sim.pose[:2], held[:2]) < 0.01  # no order left to drive on with
    run(scenario)


async def _nothing() -> None:
    return None


def test_an_order_the_vehicle_refuses_fails_the_task_with_its_reason() -> None:
    async def scenario() -> None:
        async with lab() as here:
            task = TaskRequest("6.0.ff.1.1", 6, line(0.0, 1.0), (TaskAction("teleport"),))
            result = await asyncio.wait_for(here.start(task), 10)
            assert result.outcome is TaskOutcome.FAILED
            assert "refused order 6.0.ff.1.1" in result.reason and "cannot run action teleport" in result.reason
            assert here.sim.pose[0] < 0.05 and here.accepted == 0
            fine = await asyncio.wait_for(here.start(TaskRequest("6.0.ff.2.2", 6, line(0.0, 1.0))), 15)
            assert fine.outcome is TaskOutcome.SUCCEEDED  # the adapter goes on
    run(scenario)
