"""Every world and every robot model is valid SDF (`ign sdf -k`), and the validator does reject broken SDF."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from labfleet_gazebo.robot_sdf import TEMPLATE_ID, lidar_angles, model_config, model_sdf, robot_sdf
from labfleet_sim.fleet_config import load_fleet

from tests.gazebo.helpers import MODELS_DIR, SITES, ign_sdf_check

WORLDS = sorted(p / "world.sdf" for p in SITES)
GZ_WORLD_SYSTEMS = {"gz-sim-physics-system", "gz-sim-user-commands-system", "gz-sim-scene-broadcaster-system",
                    "gz-sim-sensors-system"}
ROBOT_SYSTEMS = {"gz-sim-diff-drive-system", "gz-sim-odometry-publisher-system",
                 "gz-sim-joint-state-publisher-system", "gz-sim-linearbatteryplugin-system"}


def _fleet_models():
    return sorted({(site.name, m.name): m for site in SITES for m in load_fleet(site / "fleet.yaml").models.values()
                   }.items())


def _fleet_robots():
    return [(site.name, robot) for site in SITES for robot in load_fleet(site / "fleet.yaml").robots]


def _assert_valid(path: Path) -> None:
    result = ign_sdf_check(path)
    assert result.returncode == 0 and "Valid." in result.stdout, \
        f"ign sdf -k {path} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"


def test_there_are_sites_and_models():
    assert WORLDS, "no sim_worlds/*/world.sdf found"
    assert _fleet_models()


@pytest.mark.parametrize("world", WORLDS, ids=lambda p: p.parent.name)
def test_world_is_valid_sdf(world):
    _assert_valid(world)


@pytest.mark.parametrize("world", WORLDS, ids=lambda p: p.parent.name)
def test_world_loads_the_gz_sim_systems(world):
    root = ET.parse(world).getroot()
    assert root.get("version") == "1.9"
    plugins = {p.get("filename") for p in root.findall("./world/plugin")}
    assert plugins >= GZ_WORLD_SYSTEMS, f"{world} lacks gz systems {sorted(GZ_WORLD_SYSTEMS - plugins)}"


@pytest.mark.parametrize(("key", "model"), _fleet_models(), ids=lambda v: "/".join(v) if isinstance(v, tuple) else "")
def test_model_template_is_checked_in_current_and_valid(key, model):
    folder = MODELS_DIR / model.name
    assert (folder / "model.sdf").read_text() == model_sdf(model), \
        f"{folder}/model.sdf is stale: run labfleet-gz-models sim_worlds/{key[0]} {MODELS_DIR}"
    assert (folder / "model.config").read_text() == model_config(model)
    _assert_valid(folder / "model.sdf")
    config = ET.parse(folder / "model.config").getroot()
    assert config.findtext("name") == model.name and config.findtext("sdf") == "model.sdf"


@pytest.mark.parametrize(("site", "robot"), _fleet_robots(), ids=lambda v: getattr(v, "id", v))
def test_robot_sdf_is_valid_and_names_the_robot(tmp_path, site, robot):
    text = robot_sdf(robot)
    assert TEMPLATE_ID not in text
    path = tmp_path / f"{robot.id}.sdf"
    path.write_text(text)
    _assert_valid(path)

    model = ET.fromstring(text).find("model")
    assert model is not None and model.get("name") == robot.id
    plugins = {p.get("filename"): p for p in model.findall("plugin")}
    assert set(plugins) >= ROBOT_SYSTEMS
    dd = plugins["gz-sim-diff-drive-system"]
    assert dd.findtext("topic") == f"/model/{robot.id}/cmd_vel"
    assert dd.findtext("odom_topic") == f"/model/{robot.id}/odometry"
    assert (dd.findtext("frame_id"), dd.findtext("child_frame_id")) == (f"{robot.id}/odom", f"{robot.id}/base_link")
    assert dd.findtext("tf_topic") == "/tf"  # odom → base_link of every robot on one gz topic, bridged to /tf
    truth = plugins["gz-sim-odometry-publisher-system"]  # ground truth: the world (site map) pose
    assert (truth.findtext("odom_frame"), truth.findtext("robot_base_frame")) == ("map", f"{robot.id}/base_link")
    assert truth.findtext("odom_topic") == f"/model/{robot.id}/ground_truth"
    assert truth.findtext("tf_topic") not in (None, "/tf")
    joints = {j.get("name"): j.get("type") for j in model.findall("joint")}
    assert joints[dd.findtext("left_joint")] == joints[dd.findtext("right_joint")] == "revolute"
    assert "ball" in joints.values(), "a caster on a ball joint"
    battery = plugins["gz-sim-linearbatteryplugin-system"]
    assert battery.findtext("battery_name") == "main_battery"
    assert float(battery.findtext("initial_charge")) == pytest.approx(
        float(battery.findtext("capacity")) * robot.battery / 100, rel=1e-4)

    lidar = robot.model.lidar
    sensor = model.find("./link/sensor[@type='gpu_lidar']")
    assert sensor is not None
    assert sensor.findtext("topic") == f"/model/{robot.id}/scan"
    assert sensor.findtext("gz_frame_id") == f"{robot.id}/base_link"
    h = sensor.find("./lidar/scan/horizontal")
    assert int(h.findtext("samples")) == lidar.samples
    lo, hi = lidar_angles(robot.model)
    assert (float(h.findtext("min_angle")), float(h.findtext("max_angle"))) == pytest.approx((lo, hi), abs=1e-6)
    assert float(sensor.findtext("./lidar/range/max")) == pytest.approx(lidar.range_max)
    radius = float(model.find("./link[@name='base_link']/collision/geometry/cylinder/radius").text)
    assert radius == pytest.approx(robot.model.radius)


BROKEN = {
    # a box whose size has two numbers instead of three
    "bad_box_size": """<world name="w"><model name="m"><static>true</static><link name="l">
        <collision name="c"><geometry><box><size>1 1</size></box></geometry></collision>
        </link></model></world>""",
    # a joint whose child link does not exist
    "dangling_joint": """<world name="w"><model name="m"><link name="base"/>
        <joint name="j" type="revolute"><parent>base</parent><child>no_such_link</child></joint>
        </model></world>""",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_world_is_rejected(tmp_path, name):
    path = tmp_path / f"{name}.sdf"
    path.write_text(f'<?xml version="1.0"?>\n<sdf version="1.9">{BROKEN[name]}</sdf>\n')
    result = ign_sdf_check(path)
    assert result.returncode != 0, f"ign sdf -k accepted a broken world:\n{result.stdout}"
    assert "Error" in result.stderr + result.stdout
