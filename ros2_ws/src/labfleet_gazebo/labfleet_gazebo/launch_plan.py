"""What the Gazebo launch starts, as plain data: the launch file only turns this plan into launch actions.

Keeping the plan free of `launch`/`launch_ros` lets it be tested on machines without Gazebo or a full
ROS 2 install, and keeps the launch file a thin adapter.

Frames (REP 105): each robot's DiffDrive publishes `<id>/odom → <id>/base_link` from zero where the robot
spawns; one tf2_ros static_transform_publisher per robot anchors that odometry on the robot's map:
`<map_frame> → <id>/odom` is the spawn pose (in the robot's own map, `<id>/map`, when it has a map_transform).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labfleet_robot.params import NAV2_NODE, agent_params, nav2_params
from labfleet_sim.fleet_config import FleetConfig, RobotConfig, load_fleet

from labfleet_gazebo import topics
from labfleet_gazebo.bridge_config import bridge_entries, dump, qos_overrides, world_name
from labfleet_gazebo.robot_sdf import write_robot_sdfs


@dataclass(frozen=True)
class NodeSpec:
    """A ROS 2 node to start: launch_ros.actions.Node(package, executable, name, namespace, ...)."""

    package: str
    executable: str
    name: str
    namespace: str | None = None
    arguments: list[str] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class GazeboPlan:
    world_file: Path
    world: str
    fleet: FleetConfig
    gz_command: list[str]  # the Gazebo server, headless
    spawns: list[NodeSpec]  # ros_gz_sim create, one per robot
    odom_anchors: list[NodeSpec]  # tf2_ros static_transform_publisher <map_frame> → <id>/odom, one per robot
    bridge: NodeSpec  # ros_gz_bridge parameter_bridge with the generated config
    agents: list[NodeSpec]  # each robot's own software on sim time: our agent, or the Nav2 stand-in for a nav2 robot
    resource_path: Path  # for GZ_SIM_RESOURCE_PATH (the model templates)


def robot_node(robot: RobotConfig, seed: int) -> NodeSpec:
    """The robot's own software: `labfleet-agent` (robot_api labfleet), or `labfleet-nav2`, the Nav2 stand-in
    (robot_api nav2; on a robot with Nav2 installed, its own Nav2 bringup takes this place). VDA 5050 vehicles
    live in the built-in simulator only: refused here."""
    model = robot.model
    if robot.robot_api == "vda5050":
        raise ValueError(f"robot {robot.id}: VDA 5050 vehicles run in the built-in simulator only (--sim lite)")
    if robot.robot_api == "nav2":
        params = nav2_params(robot_id=robot.id, radius=model.radius, max_speed=model.max_speed,
                             max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                             max_yaw_accel=model.max_yaw_accel, map_frame=robot.map_frame)
        return NodeSpec("labfleet_robot", "labfleet-nav2", NAV2_NODE, namespace=f"/{robot.id}",
                        parameters={**params, "use_sim_time": True})
    params = agent_params(robot_id=robot.id, kind=model.kind, model=model.name, radius=model.radius,
                          max_speed=model.max_speed, max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                          max_yaw_accel=model.max_yaw_accel, seed=seed, map_frame=robot.map_frame,
                          actions={name: (a.duration_s, a.success_rate) for name, a in model.actions.items()})
    return NodeSpec("labfleet_robot", "labfleet-agent", "agent", namespace=f"/{robot.id}",
                    parameters={**params, "use_sim_time": True})


def _fleet(site_dir: Path, robots: int | None) -> FleetConfig:
    fleet = load_fleet(site_dir / "fleet.yaml")
    if robots:
        fleet = fleet.model_copy(update={"robots": fleet.robots[:robots]})
    return fleet


def odom_anchor(robot: RobotConfig) -> NodeSpec:
    """The static `<map_frame> → <id>/odom` of a robot: its spawn pose in its own map (DiffDrive's odometry
    is zero there), published on /tf_static by tf2_ros's static_transform_publisher."""
    x, y, yaw = robot.map_transform.to_map(robot.spawn.x, robot.spawn.y, robot.spawn.yaw)
    return NodeSpec("tf2_ros", "static_transform_publisher", f"odom_anchor_{robot.id}", arguments=[
        "--x", f"{x:.10g}", "--y", f"{y:.10g}", "--z", "0", "--roll", "0", "--pitch", "0", "--yaw", f"{yaw:.10g}",
        "--frame-id", robot.map_frame, "--child-frame-id", topics.odom_frame(robot.id)])


def make_plan(site_dir: Path, run_dir: Path, models_dir: Path, *, robots: int | None = None,
              headless_rendering: bool = True, verbosity: int = 3, seed: int = 0) -> GazeboPlan:
    """Write the per-robot SDFs and the bridge config into run_dir and describe every process to start."""
    site_dir, run_dir = Path(site_dir), Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    world_file = site_dir / "world.sdf"
    world = world_name(world_file)
    fleet = _fleet(site_dir, robots)

    gz = ["gz", "sim", "-s", "-r", "-v", str(verbosity)]
    if headless_rendering:  # EGL off-screen rendering for the gpu_lidar sensors: no display needed
        gz.append("--headless-rendering")
    gz.append(str(world_file))

    sdf_files = write_robot_sdfs(fleet, run_dir / "robots")
    spawns = [
        NodeSpec("ros_gz_sim", "create", f"spawn_{robot.id}", arguments=[
            "-world", world, "-file", str(sdf_files[robot.id]), "-name", robot.id,
            "-x", f"{robot.spawn.x:g}", "-y", f"{robot.spawn.y:g}", "-z", "0.0", "-Y", f"{robot.spawn.yaw:g}",
        ])
        for robot in fleet.robots
    ]

    anchors = [odom_anchor(robot) for robot in fleet.robots]

    bridge_file = run_dir / "bridge.yaml"  # only the robots that are spawned
    bridge_file.write_text(dump(bridge_entries(fleet, world)))
    bridge = NodeSpec("ros_gz_bridge", "parameter_bridge", "labfleet_gz_bridge",
                      parameters={"config_file": str(bridge_file), **qos_overrides(fleet)})

    agents = [robot_node(robot, seed + i) for i, robot in enumerate(fleet.robots)]
    return GazeboPlan(world_file, world, fleet, gz, spawns, anchors, bridge, agents, Path(models_dir))
