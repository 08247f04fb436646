"""The simulator's VDA 5050 vehicles (fleet.yaml `robot_api: vda5050`), pure Python: no ROS, and MQTT only behind
a `VehicleBus` (vda5050.mqtt_vehicle.MqttVehicleRunner on a broker; a fake in tests).

Each such robot is a `vda5050.vehicle.Vehicle` that the built-in controller drives. Every control period of sim
time (`rate_hz`, 20 Hz by default) `VdaFleet.step` gives each vehicle what the robot itself knows:
- its pose in its own map frame as its localisation estimates it (`RobotFrames.map_pose()`: map → odom · odom →
  base_link, the same map pose a ROS robot reads from /tf), never the simulator's ground truth;
- its velocity (v, w) and battery (percent, charging) from the body; its lidar scan (ranges, angles), so that
  obstacles stop it as they stop our agent;
and hands the vehicle's (v, w) to `Simulator.set_command`, as a cmd_vel would. startCharging / stopCharging
allow or stop charging on a charger (`Simulator.set_charging_allowed`); the simulator charges a robot standing
still on a charger unless told otherwise. During a `localisation_dropout` fault (faults.py) the vehicle holds its
last pose, reports it with positionInitialized false and localizationScore 0, and stops; it drives on when the
localisation is back.

The vehicle runs on sim time (driving, action durations, its state period); its messages' timestamps come from
`clock`, the wall clock by default, as a real vehicle's would.

The vehicle's description (factsheet) comes from the robot's model: speeds and accelerations, the footprint
from its radius, the model's `actions` table (name → duration, success rate) beside the standard actions the
vehicle carries out itself; manufacturer and serial number from fleet.yaml (`vda5050:`), the map id from the
caller (the site's name unless configured).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Protocol

import numpy as np
from labfleet_robot.controller import Limits

from labfleet_sim.faults import FaultInjector
from labfleet_sim.fleet_config import FleetConfig, RobotConfig
from labfleet_sim.physics import Every, Simulator
from vda5050.description import VehicleDescription
from vda5050.enums import AgvClass
from vda5050.models import State, Visualization, WireModel
from vda5050.mqtt_vehicle import BrokerSettings, MqttVehicleRunner
from vda5050.route import Pose
from vda5050.topics import Topic, topic_name
from vda5050.vehicle import Vehicle

log = logging.getLogger(__name__)
BROKER_CHECK_S = (5.0, 30.0)  # seconds after start, then between checks, that not being connected is logged
PASSWORD_ENV = "LABFLEET_MQTT_PASSWORD"  # the broker password when none is given (never on a command line)
RECONNECT_MAX_S = 5  # a broker back after an outage is found within this
VEHICLE_STREAM = 5050  # spawn key of the vehicles' random streams (action outcomes), apart from the physics'
Scan = tuple[np.ndarray, np.ndarray]  # (ranges, angles in the robot frame)


class VehicleBus(Protocol):
    """Where the vehicles meet their master control: MqttVehicleRunner, or a fake in tests."""

    def start(self) -> None: ...

    def stop(self) -> None: ...

    def wait_connected(self, timeout_s: float) -> bool: ...

    def step(self, serial: str, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float,
             charging: bool, scan: Scan | None = None, wall_s: float | None = None) -> tuple[float, float]: ...


BusFactory = Callable[[list[Vehicle]], VehicleBus]


def broker_settings(url: str, interface: str = "uagv", username: str = "", password: str = "",
                    environ: Mapping[str, str] = os.environ) -> BrokerSettings:
    """How the vehicles reach the broker: `url` mqtt://host:port (mqtts:// for TLS), the first topic level
    `interface`; an empty password is taken from the environment's LABFLEET_MQTT_PASSWORD. ValueError for a URL
    or an interface name MQTT cannot use."""
    password = password or environ.get(PASSWORD_ENV, "")
    settings = BrokerSettings(url=url, username=username or None, password=password or None, interface=interface,
                              reconnect_max_s=RECONNECT_MAX_S)
    settings.endpoint()
    topic_name(interface, manufacturer="m", serial="s", topic=Topic.STATE)
    return settings


def mqtt_bus(settings: BrokerSettings) -> BusFactory:
    """The vehicles on an MQTT broker (one client each, with its last will; paho reconnects by itself)."""
    def make(vehicles: list[Vehicle]) -> VehicleBus:
        return MqttVehicleRunner(vehicles, settings)
    return make


def vda_robots(fleet: FleetConfig) -> list[RobotConfig]:
    """The robots of a fleet that are VDA 5050 vehicles."""
    return [r for r in fleet.robots if r.robot_api == "vda5050"]


def describe(robot: RobotConfig, map_id: str) -> VehicleDescription:
    """A robot's vehicle description (its factsheet's source): identity, kinematic limits, footprint."""
    model = robot.model
    limits = Limits(max_speed=model.max_speed, max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                    max_yaw_accel=model.max_yaw_accel, radius=model.radius)
    return VehicleDescription(
        manufacturer=robot.vda5050.manufacturer, serial_number=robot.serial_number, map_id=map_id, limits=limits,
        series_name=f"LabFleet {model.name}",
        series_description=f"{model.name} ({model.kind}) in LabFleet's built-in simulator", max_decel=model.max_decel,
        agv_class=AgvClass.TUGGER if "tow_hitch" in model.capabilities else AgvClass.CARRIER)


def vehicle_seed(seed: int, index: int) -> int:
    """The seed of the vehicle of robot `index` (fleet order) of a simulation seeded with `seed`."""
    return int(np.random.SeedSequence(seed, spawn_key=(VEHICLE_STREAM, index)).generate_state(1)[0])


class SimVehicle(Vehicle):
    """A Vehicle on a simulated base whose localisation can drop out: while it is lost the vehicle reports its
    last position with positionInitialized false and localizationScore 0 (2.0 text 6.10.6) and commands a stop;
    a state goes out at once when the localisation is lost and when it returns."""

    _localised = True

    @property
    def localised(self) -> bool:
        return self._localised

    def set_localised(self, localised: bool) -> None:
        if localised is not self._localised:
            self._localised = localised
            self.request_state()  # an event: the position is (no longer) initialised

    def step(self, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float, charging: bool,
             scan: Scan | None = None, wall_s: float | None = None) -> tuple[float, float]:
        command = super().step(now_s, pose, velocity, battery_pct, charging, scan, wall_s)
        return command if self._localised else (0.0, 0.0)

    def take_outgoing(self) -> list[tuple[Topic, WireModel]]:
        out = super().take_outgoing()
        if self._localised:
            return out
        return [(topic, _unlocalised(model)) for topic, model in out]


def _unlocalised(model: WireModel) -> WireModel:
    if isinstance(model, State | Visualization) and model.agv_position is not None:
        lost = model.agv_position.model_copy(update={"position_initialized": False, "localization_score": 0.0})
        return model.model_copy(update={"agv_position": lost})
    return model


class VdaFleet:
    """The VDA 5050 vehicles of a Simulator's robots, stepped every control period of sim time."""

    def __init__(self, sim: Simulator, robots: Sequence[RobotConfig], bus: BusFactory, *, map_id: str,
                 faults: FaultInjector | None = None, rate_hz: float = 20.0, seed: int = 0,
                 clock: Callable[[], float] = time.time) -> None:
        """`robots`: those of sim's fleet to run as vehicles; `bus`: builds their master-control side from the
        vehicles; `faults`: where localisation dropouts come from; `clock`: POSIX seconds for the timestamps.
        ValueError for a robot the simulator does not have, or two vehicles with one identity on the broker."""
        if rate_hz <= 0:
            raise ValueError(f"the vehicles' control rate ({rate_hz} Hz) must be positive")
        index = {rid: i for i, rid in enumerate(sim.bodies)}
        self.sim = sim
        self.faults = faults
        self.map_id = map_id
        self.vehicles: dict[str, SimVehicle] = {}
        owners: dict[tuple[str, str], str] = {}
        for robot in robots:
            if robot.id not in index:
                raise ValueError(f"robot {robot.id!r} is not simulated (robots: {', '.join(sim.bodies)})")
            key = (robot.vda5050.manufacturer, robot.serial_number)
            if key in owners:
                raise ValueError(f"robots {owners[key]} and {robot.id} are both VDA 5050 vehicle {key[0]}/{key[1]}: "
                                 f"give one another vda5050.serial_number")
            owners[key] = robot.id
            actions = {name: (spec.duration_s, spec.success_rate) for name, spec in robot.model.actions.items()}
            self.vehicles[robot.id] = SimVehicle(describe(robot, map_id), actions=actions,
                                                 seed=vehicle_seed(seed, index[robot.id]),
                                                 safety=robot.model.safety_params())
        self.bus = bus(list(self.vehicles.values()))
        self._clock = clock
        self._every = Every(rate_hz)
        self._held: dict[str, Pose] = {}  # the last localised pose of each vehicle
        self._broker_check = float("inf")

    def __len__(self) -> int:
        return len(self.vehicles)

    def start(self) -> None:
        """Connect (in the background: a broker that is down is retried, the vehicles step meanwhile)."""
        self.bus.start()
        self._broker_check = self._clock() + BROKER_CHECK_S[0]

    def stop(self) -> None:
        """Disconnect cleanly (connection OFFLINE)."""
        self.bus.stop()

    def serial(self, robot_id: str) -> str:
        return self.vehicles[robot_id].description.serial_number

    def step(self) -> bool:
        """Call after every physics step: when a control period of sim time is due, step each vehicle with what
        its robot knows and apply its command. True when it stepped."""
        if not self.vehicles or not self._every.due(self.sim.time):
            return False
        now = self._clock()
        if now >= self._broker_check:
            self._broker_check = now + BROKER_CHECK_S[1]
            if not self.bus.wait_connected(0.0):
                log.warning("VDA 5050: not every vehicle is connected to the broker; retrying (meanwhile they drive "
                            "on and stop at the end of their base)")
        ranges = self.sim.scans(list(self.vehicles))  # cast together (commands do not move anything until the step)
        for rid, vehicle in self.vehicles.items():
            body = self.sim.bodies[rid]
            localised = self.faults is None or not self.faults.dropped(rid)
            vehicle.set_localised(localised)
            if localised or rid not in self._held:
                self._held[rid] = self.sim.frames[rid].map_pose()
            scan = (ranges[rid], self.sim.scan_angles(rid))
            v, w = self.bus.step(vehicle.description.serial_number, self.sim.time, self._held[rid],
                                 (body.v, body.w), body.battery_percentage, body.charging, scan, wall_s=now)
            self.sim.set_charging_allowed(rid, vehicle.charging_requested is not False)
            self.sim.set_command(rid, v, w)
        return True
