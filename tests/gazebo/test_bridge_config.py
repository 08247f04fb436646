"""The ros_gz_bridge YAML of each site: the bridge's schema, the README's type pairs, the driver contract."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
import yaml
from labfleet_gazebo import bridge_config
from labfleet_gazebo.robot_sdf import robot_sdf
from labfleet_sim.fleet_config import load_fleet

from tests.gazebo.helpers import SITES

# ros_gz_bridge README (Jazzy, ros_gz 1.x): "The following message types can be bridged for topics"
README_TYPE_PAIRS = {
    ("actuator_msgs/msg/Actuators", "gz.msgs.Actuators"), ("builtin_interfaces/msg/Time", "gz.msgs.Time"),
    ("geometry_msgs/msg/Point", "gz.msgs.Vector3d"), ("geometry_msgs/msg/Pose", "gz.msgs.Pose"),
    ("geometry_msgs/msg/PoseArray", "gz.msgs.Pose_V"), ("geometry_msgs/msg/PoseStamped", "gz.msgs.Pose"),
    ("geometry_msgs/msg/PoseWithCovariance", "gz.msgs.PoseWithCovariance"),
    ("geometry_msgs/msg/PoseWithCovarianceStamped", "gz.msgs.PoseWithCovariance"),
    ("geometry_msgs/msg/Quaternion", "gz.msgs.Quaternion"), ("geometry_msgs/msg/Transform", "gz.msgs.Pose"),
    ("geometry_msgs/msg/TransformStamped", "gz.msgs.Pose"), ("geometry_msgs/msg/Twist", "gz.msgs.Twist"),
    ("geometry_msgs/msg/TwistStamped", "gz.msgs.Twist"),
    ("geometry_msgs/msg/TwistWithCovariance", "gz.msgs.TwistWithCovariance"),
    ("geometry_msgs/msg/TwistWithCovarianceStamped", "gz.msgs.TwistWithCovariance"),
    ("geometry_msgs/msg/Vector3", "gz.msgs.Vector3d"), ("geometry_msgs/msg/Wrench", "gz.msgs.Wrench"),
    ("geometry_msgs/msg/WrenchStamped", "gz.msgs.Wrench"), ("gps_msgs/msg/GPSFix", "gz.msgs.NavSat"),
    ("nav_msgs/msg/Odometry", "gz.msgs.Odometry"), ("nav_msgs/msg/Odometry", "gz.msgs.OdometryWithCovariance"),
    ("rcl_interfaces/msg/ParameterValue", "gz.msgs.Any"), ("rosgraph_msgs/msg/Clock", "gz.msgs.Clock"),
    ("sensor_msgs/msg/BatteryState", "gz.msgs.BatteryState"), ("sensor_msgs/msg/CameraInfo", "gz.msgs.CameraInfo"),
    ("sensor_msgs/msg/FluidPressure", "gz.msgs.FluidPressure"), ("sensor_msgs/msg/Image", "gz.msgs.Image"),
    ("sensor_msgs/msg/Imu", "gz.msgs.IMU"), ("sensor_msgs/msg/JointState", "gz.msgs.Model"),
    ("sensor_msgs/msg/Joy", "gz.msgs.Joy"), ("sensor_msgs/msg/LaserScan", "gz.msgs.LaserScan"),
    ("sensor_msgs/msg/MagneticField", "gz.msgs.Magnetometer"), ("sensor_msgs/msg/NavSatFix", "gz.msgs.NavSat"),
    ("sensor_msgs/msg/PointCloud2", "gz.msgs.PointCloudPacked"), ("std_msgs/msg/Bool", "gz.msgs.Boolean"),
    ("std_msgs/msg/ColorRGBA", "gz.msgs.Color"), ("std_msgs/msg/Empty", "gz.msgs.Empty"),
    ("std_msgs/msg/Float32", "gz.msgs.Float"), ("std_msgs/msg/Float64", "gz.msgs.Double"),
    ("std_msgs/msg/Header", "gz.msgs.Header"), ("std_msgs/msg/Int32", "gz.msgs.Int32"),
    ("std_msgs/msg/String", "gz.msgs.StringMsg"), ("std_msgs/msg/UInt32", "gz.msgs.UInt32"),
    ("tf2_msgs/msg/TFMessage", "gz.msgs.Pose_V"), ("trajectory_msgs/msg/JointTrajectory", "gz.msgs.JointTrajectory"),
}
REQUIRED_KEYS = {"ros_topic_name", "gz_topic_name", "ros_type_name", "gz_type_name", "direction"}
OPTIONAL_KEYS = {"subscriber_queue", "publisher_queue", "lazy"}
DIRECTIONS = {"ROS_TO_GZ", "GZ_TO_ROS", "BIDIRECTIONAL"}
# The built-in simulator's driver topics (DESIGN.md "ROS 2 contract"): ROS name -> (type, direction)
SIM_DRIVER_TOPICS = {
    "cmd_vel": ("geometry_msgs/msg/Twist", "ROS_TO_GZ"),
    "odom": ("nav_msgs/msg/Odometry", "GZ_TO_ROS"),
    "ground_truth": ("nav_msgs/msg/Odometry", "GZ_TO_ROS"),
    "scan": ("sensor_msgs/msg/LaserScan", "GZ_TO_ROS"),
    "battery_state": ("sensor_msgs/msg/BatteryState", "GZ_TO_ROS"),
}


@pytest.fixture(params=SITES, ids=lambda p: p.name)
def site(request, tmp_path):
    out = tmp_path / "bridge.yaml"
    bridge_config.main([str(request.param), str(out)])
    return request.param, yaml.safe_load(out.read_text())


def test_every_entry_follows_the_ros_gz_bridge_schema(site):
    _, entries = site
    assert isinstance(entries, list) and entries
    for i, entry in enumerate(entries):
        keys = set(entry)
        assert REQUIRED_KEYS <= keys <= REQUIRED_KEYS | OPTIONAL_KEYS, f"entry {i}: keys {sorted(keys)}"
        assert entry["direction"] in DIRECTIONS, f"entry {i}: direction {entry['direction']!r}"
        assert (entry["ros_type_name"], entry["gz_type_name"]) in README_TYPE_PAIRS, \
            f"entry {i}: {entry['ros_type_name']} <-> {entry['gz_type_name']} is not a ros_gz_bridge type pair"
        for key in ("ros_topic_name", "gz_topic_name"):
            assert entry[key].startswith("/") and " " not in entry[key], f"entry {i}: {key} {entry[key]!r}"
        assert isinstance(entry.get("lazy", False), bool)
    ros_names = [e["ros_topic_name"] for e in entries]
    assert len(ros_names) == len(set(ros_names)), "a ROS topic is bridged twice"


def test_clock_is_bridged_once_from_gazebo(site):
    _, entries = site
    clocks = [e for e in entries if e["ros_topic_name"] == "/clock"]
    assert clocks == [{"ros_topic_name": "/clock", "gz_topic_name": "/clock",
                       "ros_type_name": "rosgraph_msgs/msg/Clock", "gz_type_name": "gz.msgs.Clock",
                       "direction": "GZ_TO_ROS", "lazy": False}]


def test_tf_is_bridged_once_from_the_topic_every_diff_drive_publishes_on(site):
    site_dir, entries = site
    tf = [e for e in entries if e["ros_topic_name"] == "/tf"]
    assert tf == [{"ros_topic_name": "/tf", "gz_topic_name": "/tf", "ros_type_name": "tf2_msgs/msg/TFMessage",
                   "gz_type_name": "gz.msgs.Pose_V", "direction": "GZ_TO_ROS", "lazy": False,
                   "publisher_queue": 100}]  # tf2's broadcaster depth
    for robot in load_fleet(site_dir / "fleet.yaml").robots:
        plugins = {p.get("filename"): p for p in ET.fromstring(robot_sdf(robot)).find("model").findall("plugin")}
        assert plugins["gz-sim-diff-drive-system"].findtext("tf_topic") == tf[0]["gz_topic_name"]
        # the ground-truth publisher's own transforms (map → base_link) would give base_link a second parent
        truth_tf = plugins["gz-sim-odometry-publisher-system"].findtext("tf_topic")
        assert truth_tf not in {e["gz_topic_name"] for e in entries}, f"{truth_tf} must not be bridged"


def test_each_robot_has_the_simulator_topic_names_and_the_model_gz_names(site):
    site_dir, entries = site
    fleet = load_fleet(site_dir / "fleet.yaml")
    world = ET.parse(site_dir / "world.sdf").getroot().find("world").get("name")
    by_ros = {e["ros_topic_name"]: e for e in entries}
    expected_count = 2  # /clock and /tf
    for robot in fleet.robots:
        rid = robot.id
        for name, (ros_type, direction) in SIM_DRIVER_TOPICS.items():
            entry = by_ros.get(f"/{rid}/{name}")
            assert entry is not None, f"/{rid}/{name} is not bridged"
            assert (entry["ros_type_name"], entry["direction"]) == (ros_type, direction), entry
        joint = by_ros[f"/{rid}/joint_states"]
        assert (joint["ros_type_name"], joint["gz_type_name"], joint["direction"]) == \
            ("sensor_msgs/msg/JointState", "gz.msgs.Model", "GZ_TO_ROS")
        expected_count += len(SIM_DRIVER_TOPICS) + 1

        # gz names: exactly what this robot's model publishes and subscribes to
        model = ET.fromstring(robot_sdf(robot)).find("model")
        plugins = {p.get("filename"): p for p in model.findall("plugin")}
        dd = plugins["gz-sim-diff-drive-system"]
        battery = plugins["gz-sim-linearbatteryplugin-system"].findtext("battery_name")
        assert by_ros[f"/{rid}/cmd_vel"]["gz_topic_name"] == dd.findtext("topic") == f"/model/{rid}/cmd_vel"
        assert by_ros[f"/{rid}/odom"]["gz_topic_name"] == dd.findtext("odom_topic") == f"/model/{rid}/odometry"
        truth = plugins["gz-sim-odometry-publisher-system"]
        assert by_ros[f"/{rid}/ground_truth"]["gz_topic_name"] == truth.findtext("odom_topic") == \
            f"/model/{rid}/ground_truth"
        assert by_ros[f"/{rid}/scan"]["gz_topic_name"] == model.findtext("./link/sensor/topic") == f"/model/{rid}/scan"
        assert by_ros[f"/{rid}/battery_state"]["gz_topic_name"] == f"/model/{rid}/battery/{battery}/state" \
            == f"/model/{rid}/battery/main_battery/state"
        # JointStatePublisher without <topic> publishes on /world/<world>/model/<model>/joint_state
        assert plugins["gz-sim-joint-state-publisher-system"].find("topic") is None
        assert joint["gz_topic_name"] == f"/world/{world}/model/{rid}/joint_state"
    assert len(entries) == expected_count, "only the clock, /tf and the robots' topics are bridged"


def test_scan_publishers_get_sensor_data_qos(site):
    site_dir, _ = site
    fleet = load_fleet(site_dir / "fleet.yaml")
    overrides = bridge_config.qos_overrides(fleet)
    assert overrides == {f"qos_overrides./{r.id}/scan.publisher.reliability": "best_effort" for r in fleet.robots}


def test_world_name_needs_a_world(tmp_path):
    path = tmp_path / "model.sdf"
    path.write_text('<sdf version="1.9"><model name="m"><link name="l"/></model></sdf>')
    with pytest.raises(ValueError, match="no <world"):
        bridge_config.world_name(path)
