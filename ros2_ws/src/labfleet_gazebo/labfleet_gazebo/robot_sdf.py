"""Robot models for Gazebo Harmonic, generated from the robot models of a site's fleet.yaml.

Every model is a differential-drive base: a cylindrical chassis the size of the footprint in fleet.yaml,
two driven wheels, front and rear casters on ball joints, a 2D gpu_lidar matching the model's lidar spec,
and the gz-sim systems DiffDrive (odometry from zero at the spawn pose, and its `<id>/odom → <id>/base_link`
transform on the gz topic /tf), OdometryPublisher (the true pose in the site's `map`: ground truth),
JointStatePublisher and LinearBatteryPlugin.

Robot names in topics and frames are set at spawn time: gz topics and frame ids must name the robot
(`/model/delivery_1/cmd_vel`, `delivery_1/odom`), so a spawned robot is the model text with its id
substituted. `robot_sdf(robot)` builds that text for one robot of the fleet (its battery charge too);
the launch file writes one file per robot and spawns it with `ros_gz_sim create -file`. The templates
checked in under `models/<model>/model.sdf` are the same text for the placeholder id `ROBOT_ID`
(`sed 's/ROBOT_ID/delivery_1/g'` gives a spawnable robot); `labfleet-gz-models SITE_DIR OUT_DIR`
regenerates them and a test keeps them in step with fleet.yaml.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from labfleet_sim.fleet_config import FleetConfig, RobotConfig, RobotModel, load_fleet

from labfleet_gazebo import topics

TEMPLATE_ID = "ROBOT_ID"
NOMINAL_VOLTAGE = 48.0  # the built-in simulator's pack voltage (labfleet_sim.conversions)
LIDAR_HEIGHT = 0.20  # m above the floor; the chassis visuals leave a slot there for the beams
ODOM_RATE_HZ = 20.0  # as the built-in simulator's defaults
SCAN_RATE_HZ = 10.0
# body height by robot kind (the footprint radius comes from fleet.yaml)
KIND_HEIGHT = {"delivery": 0.8, "guide": 1.2, "amr": 0.3, "cleaning": 0.4, "patrol": 0.6, "manipulator": 0.9}
DEFAULT_HEIGHT = 0.6


@dataclass(frozen=True)
class BaseGeometry:
    """Derived dimensions of a model's base (m, kg): everything the SDF and DiffDrive need."""

    radius: float
    height: float
    clearance: float
    wheel_radius: float
    wheel_width: float
    wheel_y: float
    caster_radius: float
    caster_x: float
    wheel_mass: float
    caster_mass: float
    chassis_mass: float

    @property
    def wheel_separation(self) -> float:
        return 2 * self.wheel_y

    @classmethod
    def of(cls, model: RobotModel) -> BaseGeometry:
        r = model.radius
        wheel_radius = round(0.25 * r, 4)
        wheel_width = 0.04
        caster_radius = round(wheel_radius / 2, 4)
        wheel_mass = max(1.0, round(0.02 * model.mass_kg, 2))
        caster_mass = 0.5
        return cls(
            radius=r, height=max(KIND_HEIGHT.get(model.kind, DEFAULT_HEIGHT), LIDAR_HEIGHT + 0.1), clearance=0.03,
            wheel_radius=wheel_radius, wheel_width=wheel_width, wheel_y=round(r - 0.05 - wheel_width / 2, 4),
            caster_radius=caster_radius, caster_x=round(r - 0.05 - caster_radius, 4),
            wheel_mass=wheel_mass, caster_mass=caster_mass,
            chassis_mass=round(model.mass_kg - 2 * wheel_mass - 2 * caster_mass, 3),
        )


def _f(x: float) -> str:
    """A number as SDF text: short, no exponent surprises."""
    return f"{x:.6g}"


def _cylinder_inertia(mass: float, radius: float, length: float) -> str:
    ixx = mass * (3 * radius**2 + length**2) / 12
    izz = mass * radius**2 / 2
    return (f"<inertial><mass>{_f(mass)}</mass><inertia><ixx>{_f(ixx)}</ixx><iyy>{_f(ixx)}</iyy>"
            f"<izz>{_f(izz)}</izz><ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia></inertial>")


def _sphere_inertia(mass: float, radius: float) -> str:
    i = 2 * mass * radius**2 / 5
    return (f"<inertial><mass>{_f(mass)}</mass><inertia><ixx>{_f(i)}</ixx><iyy>{_f(i)}</iyy>"
            f"<izz>{_f(i)}</izz><ixy>0</ixy><ixz>0</ixz><iyz>0</iyz></inertia></inertial>")


def lidar_angles(model: RobotModel) -> tuple[float, float]:
    """(min_angle, max_angle) of the scan, as the built-in simulator's scan_angles: a full circle
    leaves out its end point (samples evenly spaced over 2 pi), a sector includes both ends."""
    lidar = model.lidar
    if lidar.fov_deg >= 360:
        return -math.pi, math.pi - 2 * math.pi / lidar.samples
    half = math.radians(lidar.fov_deg) / 2
    return -half, half


def _chassis(g: BaseGeometry) -> str:
    top = g.clearance + g.height
    lower = LIDAR_HEIGHT - 0.05 - g.clearance  # visuals leave a 10 cm slot for the lidar beams
    upper = top - (LIDAR_HEIGHT + 0.05)
    colour = "<material><ambient>0.2 0.35 0.6 1</ambient><diffuse>0.2 0.35 0.6 1</diffuse></material>"
    return f"""
    <link name="base_link">
      <pose>0 0 0 0 0 0</pose>
      <inertial>
        <pose>0 0 {_f(g.clearance + g.height / 2)} 0 0 0</pose>
        <mass>{_f(g.chassis_mass)}</mass>
        <inertia>
          <ixx>{_f(g.chassis_mass * (3 * g.radius**2 + g.height**2) / 12)}</ixx>
          <iyy>{_f(g.chassis_mass * (3 * g.radius**2 + g.height**2) / 12)}</iyy>
          <izz>{_f(g.chassis_mass * g.radius**2 / 2)}</izz>
          <ixy>0</ixy><ixz>0</ixz><iyz>0</iyz>
        </inertia>
      </inertial>
      <collision name="chassis">
        <pose>0 0 {_f(g.clearance + g.height / 2)} 0 0 0</pose>
        <geometry><cylinder><radius>{_f(g.radius)}</radius><length>{_f(g.height)}</length></cylinder></geometry>
      </collision>
      <visual name="chassis_lower">
        <pose>0 0 {_f(g.clearance + lower / 2)} 0 0 0</pose>
        <geometry><cylinder><radius>{_f(g.radius)}</radius><length>{_f(lower)}</length></cylinder></geometry>
        {colour}
      </visual>
      <visual name="chassis_upper">
        <pose>0 0 {_f(top - upper / 2)} 0 0 0</pose>
        <geometry><cylinder><radius>{_f(g.radius)}</radius><length>{_f(upper)}</length></cylinder></geometry>
        {colour}
      </visual>"""


def _lidar(model: RobotModel, robot_id: str) -> str:
    lidar = model.lidar
    lo, hi = lidar_angles(model)
    return f"""
      <sensor name="lidar" type="gpu_lidar">
        <pose>0 0 {_f(LIDAR_HEIGHT)} 0 0 0</pose>
        <topic>{topics.gz_scan(robot_id)}</topic>
        <gz_frame_id>{topics.base_frame(robot_id)}</gz_frame_id>
        <update_rate>{_f(SCAN_RATE_HZ)}</update_rate>
        <always_on>true</always_on>
        <visualize>false</visualize>
        <lidar>
          <scan>
            <horizontal>
              <samples>{lidar.samples}</samples>
              <resolution>1</resolution>
              <min_angle>{lo:.9g}</min_angle>
              <max_angle>{hi:.9g}</max_angle>
            </horizontal>
            <vertical><samples>1</samples><resolution>1</resolution><min_angle>0</min_angle><max_angle>0</max_angle></vertical>
          </scan>
          <range><min>0.05</min><max>{_f(lidar.range_max)}</max><resolution>0.01</resolution></range>
          <noise><type>gaussian</type><mean>0</mean><stddev>0.01</stddev></noise>
        </lidar>
      </sensor>
    </link>"""


def _wheel(g: BaseGeometry, side: str) -> str:
    y = g.wheel_y if side == "left" else -g.wheel_y
    return f"""
    <link name="{side}_wheel">
      <pose>0 {_f(y)} {_f(g.wheel_radius)} -1.5707963 0 0</pose>
      {_cylinder_inertia(g.wheel_mass, g.wheel_radius, g.wheel_width)}
      <collision name="collision">
        <geometry><cylinder><radius>{_f(g.wheel_radius)}</radius><length>{_f(g.wheel_width)}</length></cylinder></geometry>
        <surface><friction><ode><mu>1.0</mu><mu2>1.0</mu2></ode></friction></surface>
      </collision>
      <visual name="visual">
        <geometry><cylinder><radius>{_f(g.wheel_radius)}</radius><length>{_f(g.wheel_width)}</length></cylinder></geometry>
        <material><ambient>0.1 0.1 0.1 1</ambient><diffuse>0.1 0.1 0.1 1</diffuse></material>
      </visual>
    </link>
    <joint name="{side}_wheel_joint" type="revolute">
      <parent>base_link</parent>
      <child>{side}_wheel</child>
      <axis>
        <xyz>0 0 1</xyz>
        <limit><lower>-1e16</lower><upper>1e16</upper></limit>
      </axis>
    </joint>"""


def _caster(g: BaseGeometry, where: str) -> str:
    x = g.caster_x if where == "front" else -g.caster_x
    return f"""
    <link name="caster_{where}">
      <pose>{_f(x)} 0 {_f(g.caster_radius)} 0 0 0</pose>
      {_sphere_inertia(g.caster_mass, g.caster_radius)}
      <collision name="collision">
        <geometry><sphere><radius>{_f(g.caster_radius)}</radius></sphere></geometry>
        <surface><friction><ode><mu>0.01</mu><mu2>0.01</mu2></ode></friction></surface>
      </collision>
      <visual name="visual">
        <geometry><sphere><radius>{_f(g.caster_radius)}</radius></sphere></geometry>
      </visual>
    </link>
    <joint name="caster_{where}_joint" type="ball">
      <parent>base_link</parent>
      <child>caster_{where}</child>
    </joint>"""


def _systems(model: RobotModel, robot_id: str, g: BaseGeometry, battery_percent: float) -> str:
    capacity_ah = model.battery_capacity_wh / NOMINAL_VOLTAGE
    return f"""
    <plugin filename="gz-sim-diff-drive-system" name="gz::sim::systems::DiffDrive">
      <left_joint>left_wheel_joint</left_joint>
      <right_joint>right_wheel_joint</right_joint>
      <wheel_separation>{_f(g.wheel_separation)}</wheel_separation>
      <wheel_radius>{_f(g.wheel_radius)}</wheel_radius>
      <odom_publish_frequency>{_f(ODOM_RATE_HZ)}</odom_publish_frequency>
      <max_linear_velocity>{_f(model.max_speed)}</max_linear_velocity>
      <min_linear_velocity>{_f(-model.max_speed)}</min_linear_velocity>
      <max_angular_velocity>{_f(model.max_yaw_rate)}</max_angular_velocity>
      <min_angular_velocity>{_f(-model.max_yaw_rate)}</min_angular_velocity>
      <max_linear_acceleration>{_f(model.max_accel)}</max_linear_acceleration>
      <min_linear_acceleration>{_f(-model.max_decel)}</min_linear_acceleration>
      <max_angular_acceleration>{_f(model.max_yaw_accel)}</max_angular_acceleration>
      <min_angular_acceleration>{_f(-model.max_yaw_accel)}</min_angular_acceleration>
      <topic>{topics.gz_cmd_vel(robot_id)}</topic>
      <odom_topic>{topics.gz_odometry(robot_id)}</odom_topic>
      <tf_topic>{topics.GZ_TF}</tf_topic>
      <frame_id>{topics.odom_frame(robot_id)}</frame_id>
      <child_frame_id>{topics.base_frame(robot_id)}</child_frame_id>
    </plugin>
    <!-- ground truth: the model's world (site map) pose; its Pose_V stays off /tf -->
    <plugin filename="gz-sim-odometry-publisher-system" name="gz::sim::systems::OdometryPublisher">
      <odom_frame>{topics.SITE_FRAME}</odom_frame>
      <robot_base_frame>{topics.base_frame(robot_id)}</robot_base_frame>
      <odom_publish_frequency>{_f(ODOM_RATE_HZ)}</odom_publish_frequency>
      <odom_topic>{topics.gz_ground_truth(robot_id)}</odom_topic>
      <tf_topic>{topics.gz_ground_truth_tf(robot_id)}</tf_topic>
      <dimensions>2</dimensions>
    </plugin>
    <!-- publishes on /world/<world>/model/{robot_id}/joint_state (the system's default topic) -->
    <plugin filename="gz-sim-joint-state-publisher-system" name="gz::sim::systems::JointStatePublisher">
      <joint_name>left_wheel_joint</joint_name>
      <joint_name>right_wheel_joint</joint_name>
    </plugin>
    <!-- publishes on {topics.gz_battery(robot_id)}; {_f(model.battery_capacity_wh)} Wh at {_f(NOMINAL_VOLTAGE)} V,
         idle load {_f(model.idle_power_w)} W (the drive load of the built-in simulator is not modelled here) -->
    <plugin filename="gz-sim-linearbatteryplugin-system" name="gz::sim::systems::LinearBatteryPlugin">
      <battery_name>{topics.BATTERY_NAME}</battery_name>
      <voltage>{_f(NOMINAL_VOLTAGE)}</voltage>
      <open_circuit_voltage_constant_coef>{_f(NOMINAL_VOLTAGE * 1.05)}</open_circuit_voltage_constant_coef>
      <open_circuit_voltage_linear_coef>{_f(-NOMINAL_VOLTAGE * 0.175)}</open_circuit_voltage_linear_coef>
      <initial_charge>{_f(capacity_ah * battery_percent / 100.0)}</initial_charge>
      <capacity>{_f(capacity_ah)}</capacity>
      <resistance>0.07</resistance>
      <smooth_current_tau>2.0</smooth_current_tau>
      <power_load>{_f(model.idle_power_w)}</power_load>
      <start_draining>true</start_draining>
      <fix_issue_225>true</fix_issue_225>
    </plugin>"""


def model_sdf(model: RobotModel, robot_id: str = TEMPLATE_ID, battery_percent: float = 100.0) -> str:
    """The SDF 1.9 text of one robot of this model (the template when robot_id is TEMPLATE_ID)."""
    g = BaseGeometry.of(model)
    name = escape(model.name)
    return f"""<?xml version="1.0" ?>
<!-- LabFleet robot model {name} ({escape(model.kind)}), generated by labfleet_gazebo.robot_sdf from fleet.yaml:
     do not edit by hand; run `labfleet-gz-models SITE_DIR ros2_ws/src/labfleet_gazebo/models`. -->
<sdf version="1.9">
  <model name="{robot_id}">
    <static>false</static>{_chassis(g)}{_lidar(model, robot_id)}{_wheel(g, "left")}{_wheel(g, "right")}\
{_caster(g, "front")}{_caster(g, "rear")}{_systems(model, robot_id, g, battery_percent)}
  </model>
</sdf>
"""


def model_config(model: RobotModel) -> str:
    """model.config: the Gazebo model database entry of a model folder."""
    name = escape(model.name)
    return f"""<?xml version="1.0" ?>
<model>
  <name>{name}</name>
  <version>1.0</version>
  <sdf version="1.9">model.sdf</sdf>
  <author>
    <name>LabFleet developers</name>
    <email>dev@labfleet.org</email>
  </author>
  <description>LabFleet {escape(model.kind)} robot {name}: differential drive, radius {_f(model.radius)} m,
    {_f(model.mass_kg)} kg, 2D lidar {model.lidar.samples} samples over {_f(model.lidar.fov_deg)} deg to
    {_f(model.lidar.range_max)} m. Topics name the robot: replace {TEMPLATE_ID} with its id to spawn it.</description>
</model>
"""


def robot_sdf(robot: RobotConfig) -> str:
    """The spawnable SDF of one robot of the fleet: its id in every topic and frame, its battery charge."""
    return model_sdf(robot.model, robot.id, robot.battery)


def write_models(fleet: FleetConfig, out_dir: Path) -> list[Path]:
    """models/<model>/model.sdf and model.config for every robot model of the fleet; returns the SDF paths."""
    written = []
    for model in fleet.models.values():
        folder = Path(out_dir) / model.name
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "model.sdf").write_text(model_sdf(model))
        (folder / "model.config").write_text(model_config(model))
        written.append(folder / "model.sdf")
    return written


def write_robot_sdfs(fleet: FleetConfig, out_dir: Path) -> dict[str, Path]:
    """One spawnable <robot_id>.sdf per robot of the fleet, in out_dir."""
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    paths = {}
    for robot in fleet.robots:
        path = Path(out_dir) / f"{robot.id}.sdf"
        path.write_text(robot_sdf(robot))
        paths[robot.id] = path
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="labfleet-gz-models", description="Write the Gazebo model templates of a site's robot models.")
    parser.add_argument("site_dir", type=Path, help="sim_worlds/<site> (reads its fleet.yaml)")
    parser.add_argument("out_dir", type=Path, help="models folder, e.g. ros2_ws/src/labfleet_gazebo/models")
    args = parser.parse_args(argv)
    for path in write_models(load_fleet(args.site_dir / "fleet.yaml"), args.out_dir):
        sys.stdout.write(f"wrote {path}\n")


if __name__ == "__main__":
    main()
