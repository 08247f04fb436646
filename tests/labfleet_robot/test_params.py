"""agent_params / write_params_file: the params file a launcher writes for each robot's agent."""

from __future__ import annotations

import pytest
import yaml
from labfleet_robot.params import NAV2_NODE, agent_params, format_docks, nav2_params, parse_docks, write_params_file

LIMITS = {"radius": 0.3, "max_speed": 1.0, "max_accel": 0.6, "max_yaw_rate": 1.5, "max_yaw_accel": 3}


def test_params_file_is_keyed_by_the_agent_node_with_use_sim_time(tmp_path):
    params = agent_params(robot_id="delivery_1", kind="delivery", model="deliverybot", seed=3,
                          actions={"unload": (4.0, 1.0), "handover": (6.0, 0.98)}, **LIMITS)
    path = tmp_path / "delivery_1.params.yaml"
    write_params_file(path, "delivery_1", params)
    doc = yaml.safe_load(path.read_text())
    assert list(doc) == ["/delivery_1/agent"]
    ros = doc["/delivery_1/agent"]["ros__parameters"]
    assert ros["use_sim_time"] is True
    assert ros["robot_id"] == "delivery_1" and ros["kind"] == "delivery" and ros["model"] == "deliverybot"
    assert ros["max_yaw_accel"] == 3.0 and isinstance(ros["max_yaw_accel"], float) and ros["seed"] == 3
    # parallel arrays, sorted by name
    assert ros["action_names"] == ["handover", "unload"]
    assert ros["action_durations"] == [6.0, 4.0]
    assert ros["action_success_rates"] == [0.98, 1.0]

    write_params_file(path, "delivery_1", params, use_sim_time=False)
    assert yaml.safe_load(path.read_text())["/delivery_1/agent"]["ros__parameters"]["use_sim_time"] is False


def test_no_actions_give_placeholder_arrays(tmp_path):
    for actions in (None, {}):
        params = agent_params(robot_id="r", kind="amr", model="m", actions=actions, **LIMITS)
        assert params["action_names"] == [""]
        assert params["action_durations"] == [0.0] and params["action_success_rates"] == [0.0]
    write_params_file(tmp_path / "p.yaml", "r", params)
    ros = yaml.safe_load((tmp_path / "p.yaml").read_text())["/r/agent"]["ros__parameters"]
    # typed placeholders: ROS infers an array parameter's type from its first entry
    assert ros["action_names"] == [""] and isinstance(ros["action_durations"][0], float)


def test_nav2_params_file_is_keyed_by_bt_navigator_and_round_trips_the_docks(tmp_path):
    docks = {"charger_1": (24.9, 2.0, -1.5708), "charger_2": (26.3, 2.0, 0.1)}
    params = nav2_params(robot_id="delivery_1", map_frame="delivery_1/map", docks=docks, **LIMITS)
    path = tmp_path / "delivery_1.nav2.params.yaml"
    write_params_file(path, "delivery_1", params, node=NAV2_NODE)
    doc = yaml.safe_load(path.read_text())
    assert list(doc) == ["/delivery_1/bt_navigator"]
    ros = doc["/delivery_1/bt_navigator"]["ros__parameters"]
    assert ros["use_sim_time"] is True and ros["docking"] is True and ros["map_frame"] == "delivery_1/map"
    assert ros["max_yaw_accel"] == 3.0 and isinstance(ros["max_yaw_accel"], float)
    assert ros["docks"] == ["charger_1:24.9:2.0:-1.5708", "charger_2:26.3:2.0:0.1"]
    assert parse_docks(ros["docks"]) == docks
    no_docks = nav2_params(robot_id="r", docking=False, **LIMITS)
    assert no_docks["docks"] == [""] and parse_docks(no_docks["docks"]) == {} and no_docks["docking"] is False


@pytest.mark.parametrize("entry", ["charger_1:1:2", "charger_1:x:2:0", ":1:2:0", "c:1:2:nan", "c:1:2:3:4"])
def test_bad_dock_entries_are_refused_with_the_entry_named(entry):
    with pytest.raises(ValueError, match="docks entry"):
        parse_docks([entry])


def test_a_dock_given_twice_or_an_id_with_a_colon_is_refused():
    with pytest.raises(ValueError, match="given twice"):
        parse_docks(["a:0:0:0", "a:1:1:1"])
    with pytest.raises(ValueError, match="dock id"):
        format_docks({"a:b": (0.0, 0.0, 0.0)})


def test_agent_params_carry_the_map_frame():
    assert agent_params(robot_id="r", kind="amr", model="m", **LIMITS)["map_frame"] == "map"
    assert agent_params(robot_id="r", kind="amr", model="m", map_frame="r/map", **LIMITS)["map_frame"] == "r/map"
