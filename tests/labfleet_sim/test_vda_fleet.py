"""The simulator's VDA 5050 vehicles without a broker (labfleet_sim.vda_fleet, a fake bus): what each vehicle is
fed (the localised pose in the robot's own map, velocity, battery, scan), where its commands go (the physics),
localisation dropouts, charging, its description; and the pieces of the bench that need no process."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from labfleet_sim.faults import FaultInjector
from labfleet_sim.fleet_config import FleetConfig, parse_fleet
from labfleet_sim.physics import Simulator
from labfleet_sim.site import SimConfigError, load_simulation
from labfleet_sim.vda_bench import Bench, build, parse_args
from labfleet_sim.vda_fleet import PASSWORD_ENV, VdaFleet, broker_settings, describe, vda_robots
from labfleet_sim.world import World

from tests.labfleet_sim.vda_helpers import FakeBus, instant_actions, make_order
from tests.vda5050.bench import action, check_message
from vda5050.enums import ActionStatus, BlockingType
from vda5050.topics import Topic
from vda5050.vehicle import Vehicle

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
HALL = World(name="hall", obstacles=())
SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
MODEL = {"kind": "delivery", "radius": 0.3, "mass_kg": 40, "max_speed": 1.0, "max_accel": 0.6, "max_decel": 2.0,
         "max_yaw_rate": 1.5, "max_yaw_accel": 3.0, "battery_capacity_wh": 400, "idle_power_w": 15,
         "drive_power_w": 60, "actions": {"load": {"duration_s": 2.0, "success_rate": 1.0}}}


def fleet_of(*robots: dict[str, Any]) -> FleetConfig:
    return parse_fleet({"site": "hall", "models": {"bot": MODEL}, "robots": list(robots)})


@dataclass
class Rig:
    sim: Simulator
    faults: FaultInjector
    vda: VdaFleet
    bus: FakeBus

    def tick(self) -> None:
        """One physics step as the node and the bench take it."""
        self.sim.step()
        self.faults.expire()
        self.vda.step()

    def run(self, seconds: float) -> None:
        for _ in range(round(seconds / self.sim.dt)):
            self.tick()

    def run_until(self, done: Callable[[], object], timeout_s: float, what: str) -> float:
        start = self.sim.time
        while not done():
            assert self.sim.time - start < timeout_s, f"no {what} after {timeout_s} s of sim time"
            self.tick()
        return self.sim.time - start


def rig(fleet: FleetConfig, chargers: list[tuple[float, float]] | None = None) -> Rig:
    sim = Simulator(HALL, fleet, dt=0.02, seed=3, chargers=chargers or [])
    faults = FaultInjector(sim)
    buses: list[FakeBus] = []

    def bus(vehicles: list[Vehicle]) -> FakeBus:
        buses.append(FakeBus(vehicles))
        return buses[-1]

    vda = VdaFleet(sim, vda_robots(fleet), bus, map_id="hall", faults=faults, seed=3, clock=lambda: T0 + sim.time)
    vda.start()
    return Rig(sim, faults, vda, buses[0])


def ahead(pose: tuple[float, float, float], metres: float) -> tuple[float, float]:
    return pose[0] + metres * math.cos(pose[2]), pose[1] + metres * math.sin(pose[2])


def order_done(bus: FakeBus, serial: str, order_id: str) -> Callable[[], bool]:
    def done() -> bool:
        state = bus.state(serial)
        return bool(state.order_id == order_id and not state.node_states and not state.driving)
    return done


def position(state: Any) -> tuple[float, float, float]:
    p = state.agv_position
    return p.x, p.y, p.theta


def test_it_drives_an_order_in_its_own_map_from_its_localised_pose() -> None:
    """The robot's map lies elsewhere on the site (map_transform) and its localisation is noisy: the vehicle
    reports and drives by its localised pose in its own map, and its commands move the body in the physics."""
    placed = {"x": 2.0, "y": 1.0, "yaw": 0.5}
    r = rig(fleet_of(
        {"id": "amr_1", "model": "bot", "spawn": {"x": 5.0, "y": 5.0, "yaw": 0.0}, "robot_api": "vda5050",
         "map_transform": placed, "localisation": {"noise_m": 0.03, "noise_yaw": 0.01, "period_s": 0.5},
         "vda5050": {"manufacturer": "LabFleet", "serial_number": "SIM-0001"}},
        {"id": "bystander", "model": "bot", "spawn": {"x": 1.0, "y": 9.0, "yaw": 0.0}}))
    robot = r.sim.bodies["amr_1"].config
    r.tick()
    first = r.bus.state("SIM-0001")
    here = position(first)
    assert here == pytest.approx(r.sim.frames["amr_1"].map_pose(), abs=1e-9)  # what TF would say
    truth_in_own_map = robot.map_transform.to_map(5.0, 5.0, 0.0)
    assert here[:2] == pytest.approx(truth_in_own_map[:2], abs=0.15)  # the truth in its map, within the noise
    assert here[:2] != pytest.approx(truth_in_own_map[:2], abs=1e-6)  # ... but not the truth itself
    assert here[:2] != pytest.approx((5.0, 5.0), abs=1.0)  # and not the site frame
    assert first.agv_position.map_id == "hall" and first.agv_position.position_initialized
    assert first.battery_state.battery_charge == pytest.approx(100.0, abs=0.01)

    goal = ahead(here, 3.0)
    r.vda.vehicles["amr_1"].on_order(make_order("SIM-0001", "hall", "o1", [("n0", *here[:2]), ("n1", *goal)]))
    r.run_until(order_done(r.bus, "SIM-0001", "o1"), 20, "order done")
    states = r.bus.of("SIM-0001", Topic.STATE)
    assert next(s.last_node_id for s in states if s.order_id == "o1") == "n0"
    assert states[-1].last_node_id == "n1" and any(s.driving for s in states)
    body = r.sim.bodies["amr_1"]
    assert body.distance_m == pytest.approx(3.0, abs=0.3)  # its (v, w) drove the physics
    assert (body.x, body.y) == pytest.approx(robot.map_transform.to_site(*goal)[:2], abs=0.3)
    assert r.sim.bodies["bystander"].distance_m == 0.0  # robots that are not vehicles are not driven
    assert len(r.bus.of("SIM-0001", Topic.VISUALIZATION)) > 10


def test_a_localisation_dropout_stops_it_and_it_reports_no_position() -> None:
    r = rig(fleet_of({"id": "amr_1", "model": "bot", "spawn": {"x": 0.0, "y": 0.0, "yaw": 0.0},
                      "robot_api": "vda5050"}))
    r.tick()
    r.vda.vehicles["amr_1"].on_order(make_order("amr_1", "hall", "o1", [("a", 0.0, 0.0), ("b", 8.0, 0.0)]))
    body = r.sim.bodies["amr_1"]
    r.run_until(lambda: body.v > 0.5, 10, "driving")
    assert r.faults.inject("amr_1", "localisation_dropout", 0.0).ok
    seen = len(r.bus.sent)
    r.run(0.06)  # one control period: the state goes out at once (an event)
    lost: list[Any] = [m for s, t, m in r.bus.sent[seen:] if t in (Topic.STATE, Topic.VISUALIZATION)]
    assert any(isinstance(m, type(r.bus.state("amr_1"))) for m in lost)
    assert all(not m.agv_position.position_initialized and m.agv_position.localization_score == 0.0 for m in lost)
    r.run(2.0)
    assert body.v == 0.0 and body.w == 0.0
    stopped_at = (body.x, body.y)
    assert stopped_at[0] < 4.0
    r.run(1.0)
    assert (body.x, body.y) == stopped_at  # it stays stopped while lost
    state = r.bus.state("amr_1")
    assert not state.agv_position.position_initialized and state.node_states  # the order is still there
    assert not state.driving

    assert r.faults.inject("amr_1", "clear", 0.0).ok
    r.run(0.06)
    assert r.bus.state("amr_1").agv_position.position_initialized
    assert r.bus.state("amr_1").agv_position.localization_score == 1.0
    r.run_until(order_done(r.bus, "amr_1", "o1"), 20, "order done")
    assert (body.x, body.y) == pytest.approx((8.0, 0.0), abs=0.25)


def test_its_lidar_stops_it_before_an_obstacle() -> None:
    r = rig(fleet_of({"id": "amr_1", "model": "bot", "spawn": {"x": 0.0, "y": 0.0, "yaw": 0.0}, "robot_api": "vda5050"},
                     {"id": "parked", "model": "bot", "spawn": {"x": 3.0, "y": 0.0, "yaw": 0.0}}))
    contacts = []
    r.tick()
    r.vda.vehicles["amr_1"].on_order(make_order("amr_1", "hall", "o1", [("a", 0.0, 0.0), ("b", 6.0, 0.0)]))
    for _ in range(round(8.0 / r.sim.dt)):
        contacts += r.sim.step()
        r.vda.step()
    body = r.sim.bodies["amr_1"]
    assert not contacts and body.v == 0.0
    assert 0.6 < 3.0 - body.x < 1.5  # stopped short of the parked robot
    state = r.bus.state("amr_1")
    assert state.safety_state.field_violation and state.node_states  # waiting, not done


def test_stop_and_start_charging_on_a_charger() -> None:
    r = rig(fleet_of({"id": "amr_1", "model": "bot", "spawn": {"x": 1.0, "y": 1.0, "yaw": 0.0}, "battery": 50,
                      "robot_api": "vda5050"}), chargers=[(1.0, 1.0)])
    r.run(0.2)
    assert r.bus.state("amr_1").battery_state.charging  # the simulator charges it standing on the charger
    vehicle = r.vda.vehicles["amr_1"]
    vehicle.on_instant_actions(instant_actions("amr_1", action("stopCharging", "stop-1", BlockingType.HARD)))
    r.run(0.5)
    state = r.bus.state("amr_1")
    assert not state.battery_state.charging and not r.sim.bodies["amr_1"].charging
    assert {a.action_id: a.action_status for a in state.action_states}["stop-1"] is ActionStatus.FINISHED
    before = r.sim.bodies["amr_1"].battery_percentage
    r.run(2.0)
    assert r.sim.bodies["amr_1"].battery_percentage < before  # not charging: it drains
    vehicle.on_instant_actions(instant_actions("amr_1", action("startCharging", "start-1", BlockingType.HARD),
                                               header_id=1))
    r.run(0.5)
    state = r.bus.state("amr_1")
    assert state.battery_state.charging
    assert {a.action_id: a.action_status for a in state.action_states}["start-1"] is ActionStatus.FINISHED


def test_the_description_and_factsheet_come_from_the_model() -> None:
    sim = load_simulation(SITE / "world.sdf", SITE / "fleet.yaml", robots=["amr_1", "guide_1"])
    assert list(sim.sim.bodies) == ["guide_1", "amr_1"]  # the fleet's order
    tugger = sim.fleet.robot("amr_1")
    d = describe(tugger, "living_lab")
    assert (d.manufacturer, d.serial_number, d.map_id) == ("LabFleet", "amr_1", "living_lab")
    assert (d.limits.max_speed, d.limits.max_accel, d.limits.radius) == (1.2, 0.4, 0.4)
    vda = VdaFleet(sim.sim, [tugger], FakeBus, map_id="living_lab")
    factsheet = vda.vehicles["amr_1"].factsheet()
    data = check_message(Topic.FACTSHEET, factsheet)
    physical = data["physicalParameters"]
    assert (physical["speedMax"], physical["accelerationMax"], physical["width"]) == (1.2, 0.4, 0.8)
    assert data["typeSpecification"]["agvClass"] == "TUGGER"
    offered = {a["actionType"] for a in data["protocolFeatures"]["agvActions"]}
    assert {"hitch", "unhitch", "startPause", "stopPause", "cancelOrder", "startCharging", "stopCharging"} <= offered
    assert vda.vehicles["amr_1"].actions == {"hitch": (8.0, 0.99), "unhitch": (8.0, 0.99)}

    twin = parse_fleet({"site": "hall", "models": {"bot": MODEL}, "robots": [
        {"id": "a", "model": "bot", "spawn": {"x": 0, "y": 0}, "vda5050": {"serial_number": "SN"}},
        {"id": "b", "model": "bot", "spawn": {"x": 3, "y": 0}, "vda5050": {"serial_number": "SN"}}]})
    with pytest.raises(ValueError, match="a and b are both VDA 5050 vehicle LabFleet/SN"):
        VdaFleet(Simulator(HALL, twin), twin.robots, FakeBus, map_id="hall")


def test_broker_settings() -> None:
    settings = broker_settings("mqtt://broker.lab:1884", "uagv_x", "sim", "", environ={PASSWORD_ENV: "s3cret"})
    assert settings.endpoint() == ("broker.lab", 1884, False, "sim", "s3cret")
    assert broker_settings("mqtts://b", password="given", environ={PASSWORD_ENV: "s3cret"}).endpoint()[2:] == (
        True, None, "given")
    assert broker_settings("mqtt://b", environ={}).endpoint()[3:] == (None, None)
    with pytest.raises(ValueError, match="scheme"):
        broker_settings("http://b")
    with pytest.raises(ValueError, match="interface"):
        broker_settings("mqtt://b", "uagv/x")


def test_bench_arguments_and_pacing() -> None:
    base = ["--vda5050-only", "--world", str(SITE / "world.sdf"), "--fleet", str(SITE / "fleet.yaml")]
    with pytest.raises(SimConfigError, match="no robot has robot_api: vda5050"):
        build(parse_args(base))
    with pytest.raises(SimConfigError, match="no robot robot_9"):
        build(parse_args([*base, "--robots", "delivery_1,robot_9"]))
    with pytest.raises(SimConfigError, match="scheme"):
        build(parse_args([*base, "--robots", "delivery_1", "--mqtt-url", "http://x"]))
    loaded, vda = build(parse_args([*base, "--robots", "delivery_2, delivery_1", "--speed", "2", "--map-id", "lab_a"]))
    assert list(vda.vehicles) == ["delivery_1", "delivery_2"] and list(loaded.sim.bodies) == list(vda.vehicles)
    assert vda.vehicles["delivery_1"].description.map_id == "lab_a"

    now = [0.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(s)
        now[0] += s

    ticks = 0

    def stopping() -> bool:
        nonlocal ticks
        ticks += 1
        return ticks > 100

    Bench(loaded, vda, speed=2.0, clock=lambda: now[0], sleep=sleep).run(stopping)
    assert loaded.sim.time == pytest.approx(100 * loaded.sim.dt)
    assert now[0] == pytest.approx(100 * loaded.sim.dt / 2.0)  # paced at twice real time
