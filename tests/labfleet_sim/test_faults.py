"""Fault bookkeeping of the simulator (labfleet_sim/faults.py), without ROS: what /sim/fault does."""

from __future__ import annotations

import math

import pytest
from labfleet_sim.faults import FaultInjector
from labfleet_sim.physics import Simulator
from labfleet_sim.world import parse_world

from tests.labfleet_sim.test_physics import BOX_ROOM, fleet_in_box


@pytest.fixture
def sim() -> Simulator:
    return Simulator(parse_world(BOX_ROOM), fleet_in_box([(1, 5, 0), (1, 8, 0)]))


def run(sim: Simulator, faults: FaultInjector, seconds: float) -> None:
    for _ in range(round(seconds / sim.dt)):
        sim.set_command("r0", 1.0, 0.0)
        sim.step()
        faults.expire()


def test_unknown_robots_faults_and_bad_values_are_refused_naming_what_exists(sim):
    faults = FaultInjector(sim)
    answer = faults.inject("r7", "slowdown", 1.0, 0.5)
    assert not answer.ok and "'r7'" in answer.message and "r0, r1" in answer.message
    answer = faults.inject("r0", "teleport", 1.0)
    assert not answer.ok and "'teleport'" in answer.message
    assert "localisation_dropout, slowdown, clear" in answer.message
    for duration, value in ((-1.0, 0.5), (math.nan, 0.5), (math.inf, 0.5), (1.0, 0.0), (1.0, 1.5), (1.0, math.nan)):
        answer = faults.inject("r0", "slowdown", duration, value)
        assert not answer.ok, (duration, value)
        assert ("duration_s" if duration != 1.0 else "value") in answer.message
    assert faults.active() == [] and sim.bodies["r0"].speed_factor == 1.0


def test_a_slowdown_caps_the_speed_for_its_duration(sim):
    faults = FaultInjector(sim)
    answer = faults.inject("r0", "slowdown", 4.0, 0.5)
    assert answer.ok and "r0" in answer.message and "4 s" in answer.message
    run(sim, faults, 3.9)
    assert sim.bodies["r0"].v == pytest.approx(0.5) and faults.active("r0")
    run(sim, faults, 0.2)  # its 4 s are over: full speed again
    assert not faults.active() and sim.bodies["r0"].speed_factor == 1.0
    run(sim, faults, 2.0)
    assert sim.bodies["r0"].v == pytest.approx(1.0)


def test_a_localisation_dropout_lasts_its_sim_time_and_only_for_its_robot(sim):
    faults = FaultInjector(sim)
    run(sim, faults, 1.0)
    assert faults.inject("r1", "localisation_dropout", 2.0).ok
    assert faults.dropped("r1") and not faults.dropped("r0") and faults.dropped_robots == {"r1"}
    run(sim, faults, 1.98)
    assert faults.dropped("r1")
    run(sim, faults, 0.04)
    assert not faults.dropped("r1") and faults.active() == []


def test_duration_zero_lasts_until_cleared_and_clear_ends_every_fault_of_the_robot(sim):
    faults = FaultInjector(sim)
    assert faults.inject("r0", "localisation_dropout", 0.0).ok
    assert faults.inject("r0", "slowdown", 0.0, 0.25).ok
    assert faults.inject("r1", "localisation_dropout", 0.0).ok
    run(sim, faults, 30.0)
    assert faults.dropped("r0") and sim.bodies["r0"].speed_factor == 0.25
    answer = faults.inject("r0", "clear", 0.0)
    assert answer.ok and "localisation_dropout" in answer.message and "slowdown" in answer.message
    assert not faults.dropped("r0") and sim.bodies["r0"].speed_factor == 1.0
    assert faults.dropped("r1") and [f.robot_id for f in faults.active()] == ["r1"]
    assert "nothing" in faults.inject("r0", "clear", 0.0).message


def test_injecting_again_replaces_the_fault(sim):
    faults = FaultInjector(sim)
    assert faults.inject("r0", "slowdown", 0.0, 0.5).ok
    assert faults.inject("r0", "slowdown", 1.0, 0.8).ok
    (only,) = faults.active("r0")
    assert (only.value, only.until) == (0.8, pytest.approx(sim.time + 1.0))
    assert sim.bodies["r0"].speed_factor == 0.8
    run(sim, faults, 1.02)
    assert sim.bodies["r0"].speed_factor == 1.0
