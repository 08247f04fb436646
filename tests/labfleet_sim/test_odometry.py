"""Odometry and localisation of the simulated robots (labfleet_sim/odometry.py, through Simulator.frames), pure:
odometry from zero at the spawn pose, drifting with seeded errors; map → odom corrected every period_s."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from labfleet_robot.frames import Transform
from labfleet_sim.fleet_config import FleetConfig, parse_fleet
from labfleet_sim.odometry import robot_rng
from labfleet_sim.physics import Simulator
from labfleet_sim.world import parse_world

EMPTY = '<sdf version="1.9"><world name="open"></world></sdf>'
MODEL = {"kind": "delivery", "radius": 0.3, "mass_kg": 40, "max_speed": 1.0, "max_accel": 0.5, "max_yaw_rate": 1.0,
         "max_yaw_accel": 2.0, "battery_capacity_wh": 1000, "idle_power_w": 10, "drive_power_w": 90}
DRIFTING = {"odom_scale_error": 0.05, "odom_yaw_drift": 0.05, "period_s": 2.0, "noise_m": 0.03, "noise_yaw": 0.01}


def fleet(*robots: dict[str, Any]) -> FleetConfig:
    """Robots r0, r1, ... far apart on an open floor; each dict adds to a robot's fleet.yaml entry."""
    entries = [{"id": f"r{i}", "model": "bot", "spawn": {"x": 3.0 + 20 * i, "y": -2.0, "yaw": 0.7}, **extra}
               for i, extra in enumerate(robots)]
    return parse_fleet({"site": "open", "models": {"bot": MODEL}, "robots": entries})


def sim_of(f: FleetConfig, seed: int = 0) -> Simulator:
    return Simulator(parse_world(EMPTY), f, seed=seed)


def truth(sim: Simulator, rid: str) -> tuple[float, float, float]:
    b = sim.bodies[rid]
    return b.x, b.y, b.yaw


def drive(sim: Simulator, seconds: float, v: float = 0.8, w: float = 0.25):
    """A curvy drive of every robot; yields after each step."""
    for _ in range(round(seconds / sim.dt)):
        for rid in sim.bodies:
            sim.set_command(rid, v, w * math.sin(sim.time / 3))
        sim.step()
        yield


def planar_close(a: tuple[float, float, float], b: tuple[float, float, float]) -> tuple[float, float]:
    """(position error, heading error) between two planar poses."""
    return math.hypot(a[0] - b[0], a[1] - b[1]), abs(math.atan2(math.sin(a[2] - b[2]), math.cos(a[2] - b[2])))


def test_with_perfect_localisation_the_map_pose_is_the_true_pose_and_map_to_odom_the_spawn():
    sim = sim_of(fleet({}))
    frames = sim.frames["r0"]
    assert (frames.x, frames.y, frames.yaw) == (0.0, 0.0, 0.0)  # odometry starts at zero at the spawn pose
    assert frames.map_frame == "map" and (frames.odom_frame, frames.base_frame) == ("r0/odom", "r0/base_link")
    spawn = Transform.planar(3.0, -2.0, 0.7)
    for _ in drive(sim, 60.0):
        assert frames.map_pose() == pytest.approx(truth(sim, "r0"), abs=1e-9)
        assert frames.map_to_odom.pose2d() == pytest.approx(spawn.pose2d(), abs=1e-9)
    # odometry is the true motion seen from the spawn pose
    assert frames.odom.pose2d() == pytest.approx((spawn.inverse() * Transform.planar(*truth(sim, "r0"))).pose2d(),
                                                 abs=1e-9)
    assert sim.bodies["r0"].distance_m > 40


def test_odometry_drifts_with_distance_and_corrections_keep_the_map_pose_within_the_noise():
    sim = sim_of(fleet({"localisation": DRIFTING}))
    frames = sim.frames["r0"]
    assert abs(frames.scale - 1) <= 0.05 and abs(frames.drift) <= 0.05 and (frames.scale, frames.drift) != (1, 0)
    spawn = Transform.planar(3.0, -2.0, 0.7)
    odom_error: dict[int, float] = {}  # odometry's error against the true motion, by metres driven
    after_correction: list[tuple[float, float]] = []
    before_correction: list[float] = []
    corrected = frames.corrected_at
    for _ in drive(sim, 120.0):
        body = sim.bodies["r0"]
        true_odom = (spawn.inverse() * Transform.planar(*truth(sim, "r0"))).pose2d()
        odom_error.setdefault(int(body.distance_m // 10) * 10, planar_close(frames.odom.pose2d(), true_odom)[0])
        if frames.corrected_at != corrected:
            corrected = frames.corrected_at
            after_correction.append(planar_close(frames.map_pose(), truth(sim, "r0")))
        elif sim.time - corrected > 1.9:  # just before the next one
            before_correction.append(planar_close(frames.map_pose(), truth(sim, "r0"))[0])
    errors = [odom_error[d] for d in sorted(odom_error)]
    assert sorted(odom_error)[-1] >= 80
    assert errors[-1] > 1.0 and errors[-1] > 5 * errors[1] > 0  # grows with the distance driven
    assert len(after_correction) == pytest.approx(60, abs=1)  # every 2 s of sim time
    assert max(e for e, _ in after_correction) < 5 * 0.03 and max(y for _, y in after_correction) < 5 * 0.01
    assert np.mean([e for e, _ in after_correction]) == pytest.approx(0.03 * math.sqrt(math.pi / 2), rel=0.35)
    assert np.mean(before_correction) > np.mean([e for e, _ in after_correction])  # drift shows in between


def test_the_scale_error_stretches_distances_and_the_drift_turns_the_heading_per_metre():
    sim = sim_of(fleet({"localisation": {"odom_scale_error": 0.1}}, {"localisation": {"odom_yaw_drift": 0.05}}))
    scaled, drifting = sim.frames["r0"], sim.frames["r1"]
    assert scaled.drift == drifting.scale - 1 == 0.0 and scaled.scale != 1.0 and drifting.drift != 0.0
    for _ in drive(sim, 20.0, w=0.0):  # straight ahead
        pass
    r0, r1 = sim.bodies["r0"], sim.bodies["r1"]
    assert r0.distance_m > 10
    assert (scaled.x, scaled.y, scaled.yaw) == pytest.approx((scaled.scale * r0.distance_m, 0.0, 0.0), abs=1e-9)
    turned = drifting.drift * r1.distance_m
    assert drifting.yaw == pytest.approx(math.atan2(math.sin(turned), math.cos(turned)), abs=1e-9)
    assert truth(sim, "r1")[2] == pytest.approx(0.7)  # the robot itself drove straight


def test_a_robot_with_its_own_map_reports_its_pose_in_that_map():
    placed = {"x": 10.0, "y": -5.0, "yaw": math.pi / 2, "scale": 1.0}
    sim = sim_of(fleet({"map_transform": placed}))
    frames = sim.frames["r0"]
    assert frames.map_frame == "r0/map"
    transform = sim.frames["r0"].robot.map_transform
    for _ in drive(sim, 20.0):
        pass
    own = transform.to_map(*truth(sim, "r0"))
    assert frames.map_pose() == pytest.approx(own, abs=1e-9)
    assert frames.site_pose() == pytest.approx(truth(sim, "r0"), abs=1e-9)
    assert frames.map_pose()[:2] != pytest.approx(truth(sim, "r0")[:2], abs=1.0)
    assert frames.map_to_odom.pose2d() == pytest.approx(transform.to_map(3.0, -2.0, 0.7), abs=1e-9)


def test_seeded_runs_are_identical_and_leave_the_physics_as_it_was():
    noisy = fleet({"localisation": DRIFTING}, {"localisation": DRIFTING})

    def run(f: FleetConfig, seed: int) -> tuple[list[Any], list[Any]]:
        sim = sim_of(f, seed)
        beliefs, bodies = [], []
        for _ in drive(sim, 30.0):
            beliefs.append([(fr.map_pose(), fr.odom.pose2d()) for fr in sim.frames.values()])
            bodies.append([truth(sim, rid) for rid in sim.bodies])
        assert sim.rng.random() == np.random.default_rng(seed).random()  # the physics' stream is untouched
        return beliefs, bodies

    first, second, other = run(noisy, 4), run(noisy, 4), run(noisy, 5)
    assert first == second
    assert first[0] != other[0] and first[1] == other[1]  # another seed: other errors, the same motion
    assert run(fleet({}, {}), 4)[1] == first[1]  # the same motion as with perfect localisation
    r0, r1 = (sim_of(noisy, 4).frames[r] for r in ("r0", "r1"))
    assert (r0.scale, r0.drift) != (r1.scale, r1.drift)  # a stream per robot


def test_a_robots_errors_do_not_depend_on_the_other_robots():
    alone = sim_of(fleet({"localisation": DRIFTING}, {}), seed=2).frames["r0"]
    beside_noisy = sim_of(fleet({"localisation": DRIFTING}, {"localisation": DRIFTING}), seed=2).frames["r0"]
    assert (alone.scale, alone.drift) == (beside_noisy.scale, beside_noisy.drift)
    assert robot_rng(2, 0).random() != robot_rng(2, 1).random() != np.random.default_rng(2).random()


def test_a_teleport_keeps_the_odometry_and_relocalises_at_once():
    sim = sim_of(fleet({"localisation": {**DRIFTING, "period_s": 30.0}}))
    for _ in drive(sim, 10.0):
        pass
    frames = sim.frames["r0"]
    odom = frames.odom.pose2d()
    sim.set_pose("r0", 40.0, 7.0, -1.0)
    assert frames.odom.pose2d() == odom
    error, heading = planar_close(frames.map_pose(), (40.0, 7.0, -1.0))
    assert error < 5 * 0.03 and heading < 5 * 0.01 and frames.corrected_at == sim.time
