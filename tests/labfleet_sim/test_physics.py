from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from labfleet_sim.fleet_config import load_fleet
from labfleet_sim.physics import Simulator
from labfleet_sim.world import load_world, parse_world

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
BOX_ROOM = """<sdf version="1.9"><world name="box"><model name="walls"><static>true</static>
  <link name="l">
    <collision name="south"><pose>5 0 0 0 0 0</pose><geometry><box><size>10 0.2 1</size></box></geometry></collision>
    <collision name="north"><pose>5 10 0 0 0 0</pose><geometry><box><size>10 0.2 1</size></box></geometry></collision>
    <collision name="west"><pose>0 5 0 0 0 0</pose><geometry><box><size>0.2 10 1</size></box></geometry></collision>
    <collision name="east"><pose>10 5 0 0 0 0</pose><geometry><box><size>0.2 10 1</size></box></geometry></collision>
  </link></model></world></sdf>"""


def fleet_in_box(spawns):
    from labfleet_sim.fleet_config import parse_fleet

    model = {"kind": "delivery", "radius": 0.3, "mass_kg": 40, "max_speed": 1.0, "max_accel": 0.5,
             "max_yaw_rate": 1.0, "max_yaw_accel": 2.0, "battery_capacity_wh": 100, "idle_power_w": 10,
             "drive_power_w": 90, "lidar": {"samples": 360, "fov_deg": 360, "range_max": 8.0}}
    robots = [{"id": f"r{i}", "model": "bot", "spawn": {"x": x, "y": y, "yaw": yaw}}
              for i, (x, y, yaw) in enumerate(spawns)]
    return parse_fleet({"site": "box", "models": {"bot": model}, "robots": robots})


def run(sim, seconds, commands):
    contacts = []
    for _ in range(round(seconds / sim.dt)):
        for rid, (v, w) in commands.items():
            sim.set_command(rid, v, w)
        contacts += sim.step()
    return contacts


def test_straight_drive_with_acceleration_limit():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(1, 5, 0)]))
    body = sim.bodies["r0"]
    run(sim, 1.0, {"r0": (5.0, 0.0)})  # asks for 5 m/s: clamped to max_speed, ramped by max_accel
    assert body.v == pytest.approx(0.5, abs=1e-6)
    run(sim, 3.0, {"r0": (5.0, 0.0)})
    assert body.v == pytest.approx(1.0)
    # 2 s ramping to 1 m/s (1 m) then 2 s at 1 m/s (2 m)
    assert body.x == pytest.approx(1 + 3.0, abs=0.03) and body.y == pytest.approx(5.0)
    assert body.distance_m == pytest.approx(3.0, abs=0.03)


def test_wall_contact_stops_the_robot_and_is_reported_once():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(8, 5, 0)]))
    contacts = run(sim, 6.0, {"r0": (1.0, 0.0)})
    body = sim.bodies["r0"]
    assert len(contacts) == 1 and contacts[0].other == "walls" and contacts[0].robot_id == "r0"
    assert body.v == 0.0 and 10 - 0.1 - body.x >= 0.3 - 1e-9 and body.x > 9.4
    run(sim, 2.0, {"r0": (-0.5, 0.0)})  # backing away is allowed
    assert body.x < 9.0


def test_robot_robot_contact():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(2, 5, 0), (5, 5, math.pi)]))
    contacts = run(sim, 5.0, {"r0": (1.0, 0.0), "r1": (1.0, 0.0)})
    assert {(c.robot_id, c.other) for c in contacts} == {("r0", "r1"), ("r1", "r0")}
    a, b = sim.bodies["r0"], sim.bodies["r1"]
    assert math.hypot(a.x - b.x, a.y - b.y) >= 0.6 - 1e-9


def test_scan_sees_walls_and_robots():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(2, 5, 0), (5, 5, 0)]))
    ranges, angles = sim.scan("r0"), sim.scan_angles("r0")
    ahead = ranges[np.argmin(np.abs(angles))]
    left = ranges[np.argmin(np.abs(angles - math.pi / 2))]
    behind = ranges[np.argmin(np.abs(np.abs(angles) - math.pi))]
    assert ahead == pytest.approx(5 - 2 - 0.3, abs=1e-6)  # the other robot's surface
    assert left == pytest.approx(10 - 0.1 - 5, abs=1e-6)  # north wall
    assert behind == pytest.approx(2 - 0.1, abs=1e-6)  # west wall
    assert np.all(ranges[np.isfinite(ranges)] <= 8.0)


def test_battery_drains_faster_when_driving():
    fleet = fleet_in_box([(2, 3, 0), (2, 7, 0)])
    sim = Simulator(parse_world(BOX_ROOM), fleet)
    run(sim, 5.0, {"r0": (1.0, 0.0), "r1": (0.0, 0.0)})
    driving, parked = sim.bodies["r0"], sim.bodies["r1"]
    assert parked.energy_wh == pytest.approx(10 * 5 / 3600)
    assert driving.energy_wh > parked.energy_wh * 3
    assert driving.battery_percentage < parked.battery_percentage < 100.0


def test_same_seed_same_trajectory():
    world, fleet = load_world(SITE / "world.sdf"), load_fleet(SITE / "fleet.yaml")

    def trajectory(seed):
        sim = Simulator(world, fleet, seed=seed)
        out = []
        for k in range(400):
            sim.set_command("delivery_1", 0.8, 0.4 * math.sin(k / 40))
            sim.step()
            b = sim.bodies["delivery_1"]
            out.append((b.x, b.y, b.yaw))
        return out

    assert trajectory(3) == trajectory(3)


def test_speed_factor_and_pose_reset():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(1, 5, 0)]))
    sim.set_speed_factor("r0", 0.5)
    run(sim, 4.0, {"r0": (1.0, 0.0)})
    assert sim.bodies["r0"].v == pytest.approx(0.5)
    sim.set_pose("r0", 5, 5, 1.0)
    assert (sim.bodies["r0"].x, sim.bodies["r0"].v) == (5, 0.0)


def test_stale_command_counts_as_zero():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(1, 5, 0)]))
    run(sim, 2.0, {"r0": (0.8, 0.0)})
    assert sim.bodies["r0"].v == pytest.approx(0.8)
    run(sim, 0.4, {})  # still within the 0.5 s command timeout
    assert sim.bodies["r0"].v == pytest.approx(0.8)
    run(sim, 1.5, {})  # timed out: it brakes to a stop
    assert sim.bodies["r0"].v == 0.0


def test_yaw_rate_and_yaw_acceleration_are_clamped():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(5, 5, 0)]))
    body = sim.bodies["r0"]
    run(sim, 0.2, {"r0": (0.0, 10.0)})
    assert body.w == pytest.approx(2.0 * 0.2)  # max_yaw_accel 2 rad/s^2
    run(sim, 1.0, {"r0": (0.0, 10.0)})
    assert body.w == pytest.approx(1.0)  # max_yaw_rate
    assert (body.x, body.y, body.distance_m) == (5, 5, 0.0)  # turning in place does not move it


def test_contact_is_reported_again_after_backing_off():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(8, 5, 0)]))
    first = run(sim, 4.0, {"r0": (1.0, 0.0)})
    assert run(sim, 2.0, {"r0": (1.0, 0.0)}) == []  # pushing on: still the same contact
    run(sim, 3.0, {"r0": (-0.5, 0.0)})
    second = run(sim, 6.0, {"r0": (1.0, 0.0)})
    assert len(first) == 1 and len(second) == 1 and second[0].time > first[0].time
    assert second[0].x == pytest.approx(10 - 0.1 - 0.3, abs=0.03)


def test_battery_percentage_is_remaining_energy_over_capacity():
    fleet = fleet_in_box([(2, 5, 0)])
    sim = Simulator(parse_world(BOX_ROOM), fleet)
    body = sim.bodies["r0"]
    run(sim, 10.0, {"r0": (0.0, 0.0)})
    assert body.energy_wh == pytest.approx(10 * 10 / 3600)  # idle 10 W for 10 s
    assert body.battery_percentage == pytest.approx(100.0 * (100 - body.energy_wh) / 100)
    body.battery_wh = 0.0  # flat: the robot no longer drives
    run(sim, 2.0, {"r0": (1.0, 0.0)})
    assert body.v == 0.0 and body.battery_percentage == 0.0


def test_runs_are_identical_including_contacts_and_battery():
    world, fleet = load_world(SITE / "world.sdf"), load_fleet(SITE / "fleet.yaml")

    def final_state():
        sim = Simulator(world, fleet, seed=7)
        contacts = []
        for k in range(600):  # delivery_1 and delivery_2 drive out, turning towards each other
            sim.set_command("delivery_1", 0.9, -0.6 * math.sin(k / 50))
            sim.set_command("delivery_2", 0.7, 0.8)
            contacts += sim.step()
        bodies = [(b.x, b.y, b.yaw, b.v, b.w, b.battery_wh, b.energy_wh, b.distance_m) for b in sim.bodies.values()]
        return bodies, contacts, [sim.scan(rid).tolist() for rid in sim.bodies]

    first = final_state()
    assert first[1], "the scenario should produce contacts"
    assert final_state() == first


def test_scan_with_many_robots_in_the_corridor():
    """20 robots in a row along the living lab's corridor: each sees its neighbour ahead (scan speed is a
    benchmark matter, not asserted here)."""
    world = load_world(SITE / "world.sdf")
    spawns = [(2.0 + 1.3 * i, 9.5, 0.0) for i in range(20)]
    sim = Simulator(world, fleet_in_box(spawns))
    ranges, angles = sim.scan("r5"), sim.scan_angles("r5")
    assert ranges[np.argmin(np.abs(angles))] == pytest.approx(1.3 - 0.3, abs=1e-6)  # r6 ahead on the corridor


def test_state_snapshot():
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(1, 5, 0)]))
    run(sim, 2.0, {"r0": (1.0, 0.0)})
    state = sim.state("r0")
    body = sim.bodies["r0"]
    assert (state.x, state.v, state.distance_m, state.energy_wh) == (body.x, body.v, body.distance_m, body.energy_wh)
    assert 99.0 < state.battery_percentage < 100.0
    run(sim, 1.0, {"r0": (1.0, 0.0)})
    assert sim.state("r0").x > state.x  # a snapshot, not a view


def test_a_robot_standing_on_a_charger_charges_and_one_driving_past_does_not():
    # r0 stands on the charger at (2, 5); r1 stands 1 m away from it. Capacity 100 Wh, idle 10 W,
    # charge_power_w 300 (the default): in 60 s r0 gains (300 - 10) W * 60 s = 4.83 Wh, r1 loses 0.167 Wh.
    sim = Simulator(parse_world(BOX_ROOM), fleet_in_box([(2, 5, 0), (4, 5, 0)]), chargers=[(2.1, 5.0)])
    sim.bodies["r0"].battery_wh = sim.bodies["r1"].battery_wh = 50.0
    run(sim, 60.0, {})
    assert sim.state("r0").charging and not sim.state("r1").charging
    assert sim.bodies["r0"].battery_wh == pytest.approx(50.0 + 290 * 60 / 3600, abs=0.01)
    assert sim.bodies["r1"].battery_wh == pytest.approx(50.0 - 10 * 60 / 3600, abs=0.01)
    run(sim, 1.0, {"r0": (0.5, 0.0)})  # driving off the charger ends the charge
    assert not sim.state("r0").charging
    sim.bodies["r1"].battery_wh = 99.99
    sim.set_pose("r1", 2.1, 5.0, 0.0)
    sim.set_pose("r0", 6.0, 5.0, 0.0)
    run(sim, 30.0, {})
    assert sim.bodies["r1"].battery_wh == pytest.approx(100.0)  # full: capped at the capacity
