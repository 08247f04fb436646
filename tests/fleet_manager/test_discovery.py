"""LABFLEET_ROS_DISCOVERY as the environment ROS 2 Jazzy reads (no other mode is ever used by a test here)."""

from __future__ import annotations

import pytest

from fleet_manager.ros.discovery import apply, discovery_env
from fleet_manager.settings import Settings


def test_each_mode_sets_the_variables_jazzy_reads() -> None:
    assert discovery_env("localhost") == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    assert discovery_env("subnet") == {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    assert discovery_env("server:10.0.0.5:11811", super_client=True) == {
        "ROS_DISCOVERY_SERVER": "10.0.0.5:11811", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SYSTEM_DEFAULT",
        "ROS_SUPER_CLIENT": "TRUE"}


def test_apply_drops_what_another_mode_had_set() -> None:
    env = {"PATH": "/bin", "ROS_DISCOVERY_SERVER": "x:1", "ROS_SUPER_CLIENT": "TRUE"}
    assert apply(env, "localhost") == {"PATH": "/bin", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}


@pytest.mark.parametrize("bad", ["wifi", "server:host", "server::11811", "LOCALHOST"])
def test_settings_refuse_unknown_modes(bad: str) -> None:
    with pytest.raises(ValueError, match="ros_discovery"):
        Settings(ros_discovery=bad)


@pytest.mark.parametrize("bad", ["server:h:0", "server:h:99999"])
def test_ports_out_of_range_are_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="port"):
        discovery_env(bad)
