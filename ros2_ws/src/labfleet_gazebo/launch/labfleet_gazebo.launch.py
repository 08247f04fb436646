"""LabFleet on Gazebo Harmonic: gz sim (headless), one spawned robot per fleet.yaml entry, ros_gz_bridge, agents.

Needs ROS 2 Jazzy with ros_gz (Harmonic) and our ros2_ws built with colcon:

    ros2 launch labfleet_gazebo labfleet_gazebo.launch.py site:=living_lab sites_dir:=$PWD/sim_worlds

Arguments: site, sites_dir (default $LABFLEET_SITES_DIR or ./sim_worlds), robots (first N, 0 = all),
gazebo / bridge / agents (true|false: the Docker stack runs the agents in a service of their own),
headless_rendering, spawn_delay (s to wait for the gz server before spawning), run_dir (generated files;
default a fresh temporary folder), seed, verbosity. Every ROS node runs on /clock sim time. With gazebo:=true
a tf2_ros static_transform_publisher per robot anchors its odometry on the map (`<map_frame> → <id>/odom`,
the spawn pose).
The process plan lives in labfleet_gazebo.launch_plan; this file only turns it into launch actions.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ament_index_python.packages import get_package_share_directory
from labfleet_gazebo.launch_plan import NodeSpec, make_plan
from launch import LaunchContext, LaunchDescription
from launch.actions import (
    AppendEnvironmentVariable,
    DeclareLaunchArgument,
    ExecuteProcess,
    LogInfo,
    OpaqueFunction,
    TimerAction,
)
from launch.substitutions import EnvironmentVariable, LaunchConfiguration
from launch_ros.actions import Node

TRUE = ("1", "true", "yes", "on")


def _node(spec: NodeSpec, use_sim_time: bool) -> Node:
    return Node(
        package=spec.package,
        executable=spec.executable,
        name=spec.name,
        namespace=spec.namespace,
        arguments=spec.arguments,
        parameters=[{**spec.parameters, "use_sim_time": use_sim_time}],
        output="screen",
        emulate_tty=True,
    )


def _flag(context: LaunchContext, name: str) -> bool:
    return LaunchConfiguration(name).perform(context).strip().lower() in TRUE


def _launch_setup(context: LaunchContext) -> list:
    site_dir = Path(LaunchConfiguration("sites_dir").perform(context)) / LaunchConfiguration("site").perform(context)
    run_dir_arg = LaunchConfiguration("run_dir").perform(context)
    run_dir = Path(run_dir_arg) if run_dir_arg else Path(tempfile.mkdtemp(prefix="labfleet_gz_"))
    models_dir = Path(get_package_share_directory("labfleet_gazebo")) / "models"
    plan = make_plan(
        site_dir, run_dir, models_dir,
        robots=int(LaunchConfiguration("robots").perform(context)) or None,
        headless_rendering=_flag(context, "headless_rendering"),
        verbosity=int(LaunchConfiguration("verbosity").perform(context)),
        seed=int(LaunchConfiguration("seed").perform(context)),
    )
    actions: list = [LogInfo(msg=f"LabFleet Gazebo: world {plan.world!r} from {plan.world_file}, "
                                 f"{len(plan.fleet.robots)} robots, generated files in {run_dir}")]
    if _flag(context, "gazebo"):
        actions.append(AppendEnvironmentVariable("GZ_SIM_RESOURCE_PATH", str(plan.resource_path)))
        actions.append(ExecuteProcess(cmd=plan.gz_command, name="gz_sim", output="screen"))
        # ros_gz_sim create asks the world's /create service: give the server time to load the world
        actions.append(TimerAction(period=float(LaunchConfiguration("spawn_delay").perform(context)),
                                   actions=[_node(spawn, use_sim_time=False) for spawn in plan.spawns]))
        actions.extend(_node(anchor, use_sim_time=True) for anchor in plan.odom_anchors)
    if _flag(context, "bridge"):
        # the bridge publishes /clock itself: it runs on wall time
        actions.append(_node(plan.bridge, use_sim_time=False))
    if _flag(context, "agents"):
        actions.extend(_node(agent, use_sim_time=True) for agent in plan.agents)
    return actions


def generate_launch_description() -> LaunchDescription:
    default_sites = os.path.join(os.getcwd(), "sim_worlds")
    return LaunchDescription([
        DeclareLaunchArgument("site", default_value="living_lab", description="site folder under sites_dir"),
        DeclareLaunchArgument("sites_dir", default_value=EnvironmentVariable("LABFLEET_SITES_DIR",
                                                                             default_value=default_sites),
                              description="folder of the sites (sim_worlds)"),
        DeclareLaunchArgument("robots", default_value="0", description="spawn only the first N robots (0: all)"),
        DeclareLaunchArgument("gazebo", default_value="true", description="start gz sim and spawn the robots"),
        DeclareLaunchArgument("bridge", default_value="true", description="start ros_gz_bridge"),
        DeclareLaunchArgument("agents", default_value="true", description="start one labfleet agent per robot"),
        DeclareLaunchArgument("headless_rendering", default_value="true",
                              description="EGL off-screen rendering (gpu_lidar without a display)"),
        DeclareLaunchArgument("spawn_delay", default_value="5.0", description="seconds before spawning robots"),
        DeclareLaunchArgument("run_dir", default_value="", description="where generated SDF and bridge files go"),
        DeclareLaunchArgument("seed", default_value="0", description="agents' random seed (timed actions)"),
        DeclareLaunchArgument("verbosity", default_value="3", description="gz sim verbosity 0-4"),
        OpaqueFunction(function=_launch_setup),
    ])
