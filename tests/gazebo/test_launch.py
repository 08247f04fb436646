"""The Gazebo launch: a valid launch_ros file (it cannot run here), and the plan it turns into actions."""

from __future__ import annotations

import ast
import math
import shutil

import pytest
import yaml
from labfleet_gazebo.launch_plan import NodeSpec, make_plan, odom_anchor
from labfleet_sim.fleet_config import MapTransform, load_fleet

from tests.gazebo.helpers import LAUNCH_FILE, MODELS_DIR, SITES

SITE = next(site for site in SITES if site.name == "living_lab")


def _tree() -> ast.Module:
    return ast.parse(LAUNCH_FILE.read_text(), filename=str(LAUNCH_FILE))


def declared_launch_arguments() -> set[str]:
    names = set()
    for node in ast.walk(_tree()):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "DeclareLaunchArgument":
            first = node.args[0]
            assert isinstance(first, ast.Constant)
            names.add(first.value)
    return names


def test_launch_file_follows_launch_ros_conventions():
    tree = _tree()
    functions = {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "generate_launch_description" in functions
    imported = {(n.module, a.name) for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert ("launch", "LaunchDescription") in imported and ("launch_ros.actions", "Node") in imported
    assert ("labfleet_gazebo.launch_plan", "make_plan") in imported
    assert {"site", "sites_dir", "robots", "gazebo", "bridge", "agents"} <= declared_launch_arguments()
    used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    assert {"spawns", "odom_anchors", "bridge", "agents"} <= used, "every part of the plan is launched"


def anchor_args(spec: NodeSpec) -> dict[str, str]:
    """static_transform_publisher's flag arguments (ROS 2 Jazzy: --x --y --z --roll --pitch --yaw --frame-id
    --child-frame-id), as a dict; every argument is a flag followed by its value."""
    assert (spec.package, spec.executable) == ("tf2_ros", "static_transform_publisher")
    flags, values = spec.arguments[::2], spec.arguments[1::2]
    assert all(f.startswith("--") for f in flags) and len(flags) == len(values)
    assert set(flags) == {"--x", "--y", "--z", "--roll", "--pitch", "--yaw", "--frame-id", "--child-frame-id"}
    return dict(zip(flags, values, strict=True))


def test_plan_starts_gz_headless_spawns_every_robot_bridges_and_runs_agents(tmp_path):
    fleet = load_fleet(SITE / "fleet.yaml")
    plan = make_plan(SITE, tmp_path, MODELS_DIR)
    assert plan.gz_command[:4] == ["gz", "sim", "-s", "-r"] and plan.gz_command[-1] == str(SITE / "world.sdf")
    assert "--headless-rendering" in plan.gz_command

    assert [s.name for s in plan.spawns] == [f"spawn_{r.id}" for r in fleet.robots]
    for spawn, robot in zip(plan.spawns, fleet.robots, strict=True):
        assert (spawn.package, spawn.executable) == ("ros_gz_sim", "create")
        args = dict(zip(spawn.arguments[::2], spawn.arguments[1::2], strict=True))
        assert args["-name"] == robot.id and args["-world"] == plan.world
        assert (float(args["-x"]), float(args["-y"]), float(args["-Y"])) == (robot.spawn.x, robot.spawn.y,
                                                                            robot.spawn.yaw)
        assert f"/model/{robot.id}/cmd_vel" in (tmp_path / "robots" / f"{robot.id}.sdf").read_text()

    assert (plan.bridge.package, plan.bridge.executable) == ("ros_gz_bridge", "parameter_bridge")
    entries = yaml.safe_load((tmp_path / "bridge.yaml").read_text())
    assert plan.bridge.parameters["config_file"] == str(tmp_path / "bridge.yaml")
    assert len(entries) == 2 + 6 * len(fleet.robots)  # /clock, /tf; per robot 6 topics
    assert plan.bridge.parameters[f"qos_overrides./{fleet.robots[0].id}/scan.publisher.reliability"] == "best_effort"

    # DiffDrive's odometry is zero at the spawn pose: map → <id>/odom is the spawn pose, one static per robot
    assert len({a.name for a in plan.odom_anchors}) == len(fleet.robots)
    for anchor, robot in zip(plan.odom_anchors, fleet.robots, strict=True):
        args = anchor_args(anchor)
        assert (args["--frame-id"], args["--child-frame-id"]) == ("map", f"{robot.id}/odom")
        assert (float(args["--x"]), float(args["--y"]), float(args["--yaw"])) == pytest.approx(
            (robot.spawn.x, robot.spawn.y, robot.spawn.yaw), abs=1e-9)
        assert float(args["--z"]) == float(args["--roll"]) == float(args["--pitch"]) == 0.0

    for agent, robot in zip(plan.agents, fleet.robots, strict=True):
        assert (agent.package, agent.executable, agent.name) == ("labfleet_robot", "labfleet-agent", "agent")
        assert agent.namespace == f"/{robot.id}"
        assert agent.parameters["robot_id"] == robot.id and agent.parameters["use_sim_time"] is True
        assert agent.parameters["max_speed"] == robot.model.max_speed


def test_plan_for_the_first_robots_only(tmp_path):
    plan = make_plan(SITE, tmp_path, MODELS_DIR, robots=1, headless_rendering=False)
    assert len(plan.spawns) == len(plan.agents) == 1 and "--headless-rendering" not in plan.gz_command
    entries = yaml.safe_load((tmp_path / "bridge.yaml").read_text())
    assert len(entries) == 8 and sorted(p.name for p in (tmp_path / "robots").iterdir()) == [
        f"{plan.fleet.robots[0].id}.sdf"]
    assert len(plan.odom_anchors) == 1


def test_nav2_robots_get_the_nav2_stand_in_and_vda5050_vehicles_are_refused(tmp_path):
    sites = tmp_path / "sites"
    shutil.copytree(SITE, sites / SITE.name)
    fleet_file = sites / SITE.name / "fleet.yaml"
    fleet = yaml.safe_load(fleet_file.read_text())
    fleet["robots"][0]["robot_api"] = "nav2"
    fleet["robots"][1] |= {"robot_api": "labfleet", "map_transform": {"x": 1.0, "y": 2.0, "yaw": 0.3}}
    fleet_file.write_text(yaml.safe_dump(fleet))
    plan = make_plan(sites / SITE.name, tmp_path / "run", MODELS_DIR, robots=2)
    nav2, agent = plan.agents
    first, second = (r["id"] for r in fleet["robots"][:2])
    assert (nav2.executable, nav2.name, nav2.namespace) == ("labfleet-nav2", "bt_navigator", f"/{first}")
    assert agent.executable == "labfleet-agent" and agent.parameters["map_frame"] == f"{second}/map"
    fleet["robots"][0]["robot_api"] = "vda5050"
    fleet_file.write_text(yaml.safe_dump(fleet))
    with pytest.raises(ValueError, match="VDA 5050 vehicles run in the built-in simulator only"):
        make_plan(sites / SITE.name, tmp_path / "run2", MODELS_DIR, robots=2)


def test_a_robot_with_a_map_of_its_own_is_anchored_in_it():
    robot = load_fleet(SITE / "fleet.yaml").robots[0]
    placed = MapTransform(x=-3.0, y=7.5, yaw=math.pi / 2)
    robot = robot.model_copy(update={"map_transform": placed})
    args = anchor_args(odom_anchor(robot))
    assert (args["--frame-id"], args["--child-frame-id"]) == (f"{robot.id}/map", f"{robot.id}/odom")
    x, y, yaw = float(args["--x"]), float(args["--y"]), float(args["--yaw"])
    assert (x, y, yaw) == pytest.approx(placed.to_map(robot.spawn.x, robot.spawn.y, robot.spawn.yaw), abs=1e-9)
    # odometry zero there, taken to the site with the map transform, is the spawn pose
    site = placed.to_site(x, y, yaw)
    assert site == pytest.approx((robot.spawn.x, robot.spawn.y, robot.spawn.yaw), abs=1e-9)
    assert (x, y) != pytest.approx((robot.spawn.x, robot.spawn.y))
