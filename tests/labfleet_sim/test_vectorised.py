"""The vectorised simulator (robot state in arrays, all lidars cast together, broad-phase collisions) against the
robot-at-a-time reference it replaced (labfleet_sim.reference): same seeded scenario, same commands, the same
contacts, the same poses (to the bit: a seeded run's robots steer on them, and a last bit rounded otherwise grows
into another trajectory) and the same scans within float rounding."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from labfleet_sim.fleet_config import parse_fleet
from labfleet_sim.people import PeopleSpec
from labfleet_sim.physics import Contact, Simulator
from labfleet_sim.reference import ReferenceSimulator
from labfleet_sim.world import load_world, parse_world

FACTORY = Path(__file__).resolve().parents[2] / "sim_worlds" / "smart_factory"
# a 12 x 10 m room with a rotated crate and a pillar (a 16-sided cylinder); two people walk their scripts: one
# across the robots' floor, one into a robot standing at (9, 8)
ROOM = """<sdf version="1.9"><world name="room">
  <model name="walls"><static>true</static><link name="l">
    <collision name="south"><pose>6 0 0 0 0 0</pose><geometry><box><size>12 0.2 1</size></box></geometry></collision>
    <collision name="north"><pose>6 10 0 0 0 0</pose><geometry><box><size>12 0.2 1</size></box></geometry></collision>
    <collision name="west"><pose>0 5 0 0 0 0</pose><geometry><box><size>0.2 10 1</size></box></geometry></collision>
    <collision name="east"><pose>12 5 0 0 0 0</pose><geometry><box><size>0.2 10 1</size></box></geometry></collision>
  </link></model>
  <model name="crate"><static>true</static><pose>4 8 0 0 0 0.5</pose><link name="l"><collision name="c">
    <geometry><box><size>1.2 0.8 1</size></box></geometry></collision></link></model>
  <model name="pillar"><static>true</static><pose>8 3 0 0 0 0</pose><link name="l"><collision name="c">
    <geometry><cylinder><radius>0.35</radius><length>2</length></cylinder></geometry></collision></link></model>
  <actor name="walker"><pose>1 2 0 0 0 0</pose><script><loop>true</loop><trajectory id="0" type="walk">
    <waypoint><time>0</time><pose>0 0 0 0 0 0</pose></waypoint>
    <waypoint><time>8</time><pose>9 6 0 0 0 0</pose></waypoint>
    <waypoint><time>16</time><pose>0 0 0 0 0 0</pose></waypoint></trajectory></script></actor>
  <actor name="hurried"><pose>11 8 0 0 0 0</pose><script><loop>false</loop><delay_start>3</delay_start>
    <trajectory id="0" type="walk">
    <waypoint><time>0</time><pose>0 0 0 0 0 0</pose></waypoint>
    <waypoint><time>4</time><pose>-3 0 0 0 0 0</pose></waypoint></trajectory></script></actor>
</world></sdf>"""
MODELS = {
    "bot": {"kind": "amr", "radius": 0.3, "mass_kg": 40, "max_speed": 1.0, "max_accel": 0.6, "max_yaw_rate": 1.2,
            "max_yaw_accel": 2.0, "battery_capacity_wh": 100, "idle_power_w": 10, "drive_power_w": 90,
            "lidar": {"samples": 360, "fov_deg": 360, "range_max": 8.0}},
    "scout": {"kind": "amr", "radius": 0.25, "mass_kg": 20, "max_speed": 1.2, "max_accel": 0.8, "max_yaw_rate": 1.5,
              "max_yaw_accel": 3.0, "battery_capacity_wh": 80, "idle_power_w": 8, "drive_power_w": 60,
              "lidar": {"samples": 181, "fov_deg": 270, "range_max": 6.0}},
}
# id, model, x, y, yaw: r0 and r1 meet head-on, r2 drives into the east wall, r6 stands on a charger where `hurried`
# walks, r7 drives into `walker`
ROBOTS = [("r0", "bot", 2.0, 5.0, 0.0), ("r1", "bot", 5.5, 5.0, math.pi), ("r2", "scout", 10.0, 2.0, 0.0),
          ("r3", "bot", 3.0, 2.0, 1.0), ("r4", "scout", 6.0, 7.5, -2.0), ("r5", "bot", 9.5, 5.0, 2.5),
          ("r6", "bot", 9.0, 8.0, 0.0), ("r7", "bot", 8.0, 6.67, math.atan2(-6, -9))]
STEPS = 600  # 12 s at 50 Hz


def room_fleet():
    robots = [{"id": rid, "model": model, "spawn": {"x": x, "y": y, "yaw": yaw}, "battery": 60.0}
              for rid, model, x, y, yaw in ROBOTS]
    return parse_fleet({"site": "room", "models": MODELS, "robots": robots})


def run(sim: Simulator, rng_seed: int = 7) -> tuple[list[Contact], list[dict[str, np.ndarray]], list[np.ndarray]]:
    """Scripted drives for r0..r2 and r7, seeded random ones (new every second) for r3..r5, r6 stands; the lidars
    at 10 Hz (all robots together, and r4 on its own)."""
    rng = np.random.default_rng(rng_seed)
    drives = {"r0": (0.8, 0.0), "r1": (0.8, 0.0), "r2": (1.2, 0.0), "r7": (0.3, 0.0)}
    contacts, scans, poses = [], [], []
    for step in range(STEPS):
        if step % 50 == 0:
            drives |= {rid: (float(rng.uniform(-0.3, 1.0)), float(rng.uniform(-1.0, 1.0)))
                       for rid in ("r3", "r4", "r5")}
        for rid, (v, w) in drives.items():
            sim.set_command(rid, v, w)
        if step % 2 == 0:
            scans.append(sim.scans())
            scans.append({"r4": sim.scan("r4")})
        contacts += sim.step()
        poses.append(np.array([(b.x, b.y, b.yaw, b.v, b.w, b.battery_wh, b.distance_m) for b in sim.bodies.values()]
                              + [(p.x, p.y, p.yaw, 0, 0, 0, 0) for p in sim.pedestrians()]))
    return contacts, scans, poses


def assert_same(new: tuple, ref: tuple) -> None:
    new_contacts, new_scans, new_poses = new
    ref_contacts, ref_scans, ref_poses = ref
    assert new_contacts == ref_contacts
    for a, b in zip(new_poses, ref_poses, strict=True):  # to the bit: seeded runs downstream steer on them
        np.testing.assert_array_equal(a, b)
    assert len(new_scans) == len(ref_scans)
    for a, b in zip(new_scans, ref_scans, strict=True):
        assert a.keys() == b.keys()
        for rid in a:
            np.testing.assert_allclose(a[rid], b[rid], rtol=1e-9, atol=1e-9, err_msg=rid)


@pytest.mark.parametrize("reactive", [False, True], ids=["scripted-people", "reactive-people"])
def test_room_with_people_and_contacts_matches_the_reference(reactive: bool):
    world = parse_world(ROOM)
    chargers = [(9.0, 8.0)]
    people = PeopleSpec(reactive=True) if reactive else None  # reactive: they step aside from the robots
    new = run(Simulator(world, room_fleet(), seed=3, chargers=chargers, people=people))
    ref = run(ReferenceSimulator(world, room_fleet(), seed=3, chargers=chargers, people=people))
    assert_same(new, ref)
    if reactive:
        assert new[2][-1][len(ROBOTS):, :2].tolist() != new[2][0][len(ROBOTS):, :2].tolist()  # they walked
        return
    kinds = {(c.other_kind, c.by) for c in new[0]}  # the scenario has every kind of contact
    assert {("robot", "robot"), ("obstacle", "robot"), ("person", "robot"), ("person", "person")} <= kinds, kinds
    assert any(c.robot_id == "r0" and c.other == "r1" for c in new[0])
    # the lidars saw the other robots, the people and the walls; r4's looks 270 degrees around
    r0 = new[1][0]["r0"]
    assert r0[180] == pytest.approx(3.5 - 0.3) and r0[0] == pytest.approx(1.9)  # r1 ahead, the west wall behind
    assert len(new[1][0]["r4"]) == 181 and np.isinf(new[1][0]["r4"]).any()


def test_many_robots_on_a_large_site_see_what_the_reference_sees():
    world = load_world(FACTORY / "world.sdf")
    rng = np.random.default_rng(11)
    lo, hi = np.array(world.bounds()[:2]), np.array(world.bounds()[2:])
    robots = [{"id": f"r{i:02d}", "model": "bot", "spawn": {"x": float(x), "y": float(y), "yaw": float(yaw)}}
              for i, (x, y, yaw) in enumerate(zip(*(rng.uniform(lo, hi, (60, 2)).T), rng.uniform(-4, 4, 60),
                                                   strict=True))]
    fleet = parse_fleet({"site": "f", "models": {"bot": MODELS["bot"]}, "robots": robots})
    new, ref = Simulator(world, fleet), ReferenceSimulator(world, fleet)  # some inside crates: seen as they were
    for _ in range(3):
        a, b = new.scans(), ref.scans()
        for rid in a:
            np.testing.assert_allclose(a[rid], b[rid], rtol=1e-9, atol=1e-9, err_msg=rid)
        for rid in new.bodies:
            new.set_command(rid, 1.0, 0.5)
            ref.set_command(rid, 1.0, 0.5)
        for _ in range(25):
            assert [c.other for c in new.step()] == [c.other for c in ref.step()]
