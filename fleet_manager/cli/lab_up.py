"""`labfleet up`: the simulator, one agent per robot and the fleet manager as supervised children."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from urllib.parse import urlsplit

import httpx
import yaml
from labfleet_robot import command_auth
from labfleet_robot.params import NAV2_NODE, agent_params, nav2_params, write_params_file
from labfleet_sim.fleet_config import RobotConfig, load_fleet

from fleet_manager.auth.startup import DEMO_PASSWORD_FILE
from fleet_manager.cli.supervisor import Supervisor
from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.zones import SpeedCaps, load_zones_file, parse_speed_caps
from fleet_manager.ros import discovery
from fleet_manager.settings import Settings

READY_TIMEOUT_S = 60.0
SERVING = "Application startup complete"  # uvicorn's line once the app serves


def cluster_problem(settings: Settings) -> str | None:
    """Why `--replicas` cannot run with these settings: "database" (SQLite) or "nats" (out of reach); None: it can."""
    if settings.database_url.startswith("sqlite"):
        return "database"
    url = urlsplit(settings.nats_url)
    try:
        with socket.create_connection((url.hostname or "127.0.0.1", url.port or 4222), timeout=2):
            return None
    except OSError:
        return "nats"


class LabUp:
    def __init__(
        self, settings: Settings, *, robots: int | None, backend: str, port: int, seed: int, domain_id: int,
        speed: float = 1.0, replicas: int | None = None,
    ) -> None:
        self.settings = settings
        self.robots = robots
        self.speed = speed  # real-time factor of the built-in simulator
        self.backend = backend  # lite (built-in simulator) | gazebo | none (real robots)
        self.port = port
        self.seed = seed
        self.domain_id = domain_id
        self.replicas = replicas  # None: one fleet manager; N: two leader candidates and N replicas on one port
        self._manager_env: dict[str, str] = {}
        self.run_dir = settings.data_dir / "run" / f"{settings.site}-{port}"
        self.supervisor = Supervisor()
        self._stop = False

    def _env(self) -> dict[str, str]:
        env = discovery.apply(dict(os.environ), self.settings.ros_discovery)
        env["ROS_DOMAIN_ID"] = str(self.domain_id)
        env["PYTHONUNBUFFERED"] = "1"
        env["RCUTILS_COLORIZED_OUTPUT"] = "0"
        return env

    def _command_key_env(self) -> dict[str, str]:
        """The lab's robot command key for the fleet manager and the agents (labfleet_robot/command_auth.py): the
        one provisioned in the environment, or one made for this run in a 0600 file of the run directory. It goes
        by the environment (the file's path), never on a command line."""
        if self.settings.command_key_file is not None:  # provisioned
            return {command_auth.KEY_FILE_ENV: str(self.settings.command_key_file)}
        if self.settings.command_key is not None:
            return {command_auth.KEY_ENV: self.settings.command_key.get_secret_value()}
        path = self.run_dir / "command.key"
        command_auth.write_key_file(path, command_auth.new_key())
        return {command_auth.KEY_FILE_ENV: str(path)}

    def _fleet_file(self) -> Path:
        """The fleet file (fleet.yaml or the --fleet variant), or a resolved copy holding only the first N robots
        when --robots is given."""
        source = self.settings.fleet_file
        if self.robots is None:
            return source
        fleet = load_fleet(source)
        data = {"site": fleet.site, "models": {n: m.model_dump(mode="json", exclude={"name"})
                                               for n, m in fleet.models.items()},
                "robots": [r.model_dump(mode="json") | {"model": r.model.name} for r in fleet.robots[: self.robots]]}
        target = self.run_dir / "fleet.yaml"
        target.write_text(yaml.safe_dump(data, sort_keys=False))
        return target

    def _speed_caps(self) -> SpeedCaps:
        """The site's speed caps per robot model (zones.yaml `speed_caps`; by default the mass tiers)."""
        zones_file = self.settings.site_dir / "zones.yaml"
        try:
            return parse_speed_caps(load_zones_file(zones_file).get("speed_caps"))
        except InvalidInput as exc:
            raise ValueError(f"{zones_file}: {exc.message.removeprefix('zones.yaml: ')}") from None

    def _bin(self, name: str) -> str:
        return str(Path(sys.executable).parent / name)

    def start_children(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        env = self._env() | self._command_key_env()
        fleet_file = self._fleet_file()
        fleet = load_fleet(fleet_file)
        sup = self.supervisor
        where = {"none": "real robots (no simulator, no agents)", "gazebo": "Gazebo"}.get(self.backend,
                                                                                      "the built-in simulator")
        sup.say(f"site {self.settings.site}: {len(fleet.robots)} robots in fleet.yaml, {where}, "
                f"ROS_DOMAIN_ID={self.domain_id}, discovery {self.settings.ros_discovery}")
        if self.backend == "gazebo":  # gz sim, the bridge and the agents, from the labfleet_gazebo launch file
            sup.start("gazebo", ["ros2", "launch", "labfleet_gazebo", "labfleet_gazebo.launch.py",
                                 f"site:={self.settings.site}", f"sites_dir:={self.settings.sites_dir}",
                                 f"robots:={self.robots or 0}", f"seed:={self.seed}"], env, critical=True)
        if self.backend == "lite":  # a dead simulator is reported and left dead: its robots go offline, their
            # missions follow the offline policy, and the fleet manager keeps serving (the console shows it)
            vda = [r for r in fleet.robots if r.robot_api == "vda5050"]
            mqtt = ["-p", f"mqtt_url:={self.settings.mqtt_url}",
                    "-p", f"vda5050_interface:={self.settings.vda5050_interface}"] if vda else []
            if vda and self.settings.mqtt_username:  # the password goes by the environment, never argv
                mqtt += ["-p", f"mqtt_username:={self.settings.mqtt_username}"]
            sup.start("sim", [self._bin("labfleet-sim"), "--ros-args",
                              "-p", f"world_file:={self.settings.site_dir / 'world.sdf'}",
                              "-p", f"fleet_file:={fleet_file}", "-p", f"seed:={self.seed}",
                              "-p", f"real_time_factor:={self.speed}", *mqtt],
                      env, on_death="its robots stop reporting and go offline; the fleet manager keeps serving")
            caps = self._speed_caps()
            for i, robot in enumerate(fleet.robots):
                if robot.robot_api == "vda5050":
                    continue  # the simulator itself runs VDA 5050 vehicles on the broker
                self._start_robot(robot, i, caps, env)
        manager_env = env | {
            "LABFLEET_SITE": self.settings.site,
            "LABFLEET_FLEET": self.settings.fleet,
            "LABFLEET_USE_SIM_TIME": "false" if self.backend == "none" else "true",
        }
        if self.backend == "lite":  # the built-in simulator's seed, stored in every mission's recording
            manager_env["LABFLEET_SEED"] = str(self.seed)
        if self.settings.demo:  # a generated token secret, and an admin whose password goes to a 0600 file
            manager_env["LABFLEET_DEMO"] = "true"
        # the fleet manager keeps no state outside the database: when it dies it is started again, and it
        # reconciles the missions in flight with what the robots report
        if self.replicas is None:
            sup.start("manager", [sys.executable, "-m", "fleet_manager", "--port", str(self.port)], manager_env,
                      critical=True, restart=True)
            return
        # a cluster on one port (SO_REUSEPORT): the first leader candidate alone (it migrates the database and
        # creates the admin), then, once it serves, the standby and the replicas (start_cluster)
        self._manager_env = manager_env | {"LABFLEET_ROLE": "leader"}
        sup.say(f"{self.replicas} replicas and a standby leader behind port {self.port} (PostgreSQL, NATS at "
                f"{self.settings.nats_url}, subjects {self.settings.nats_prefix}.{self.settings.site}.*)")
        sup.start("leader-1", self._manager_argv(), self._manager_env, critical=True, restart=True)

    def _manager_argv(self) -> list[str]:
        return [sys.executable, "-m", "fleet_manager", "--port", str(self.port), "--reuse-port"]

    def start_cluster(self) -> bool:
        """The standby leader candidate and the replicas, after the first candidate serves; True once every one
        serves."""
        if self.replicas is None:
            return True
        started = [self.supervisor.start("leader-2", self._manager_argv(), self._manager_env, critical=True,
                                         restart=True, ready_line=SERVING)]
        for i in range(1, self.replicas + 1):
            env = self._manager_env | {"LABFLEET_ROLE": "replica"}
            started.append(self.supervisor.start(f"replica-{i}", self._manager_argv(), env, restart=True,
                                                 on_death="the other processes serve its share of the port",
                                                 ready_line=SERVING))
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not all(child.ready for child in started):
            if time.monotonic() > deadline or self._stop or self.supervisor.poll() is not None:
                return False
            time.sleep(0.2)
        return True

    def _start_robot(self, robot: RobotConfig, index: int, caps: SpeedCaps, env: dict[str, str]) -> None:
        """A simulated robot's own software: our agent, or a Nav2 stand-in (what a Nav2 robot shows a fleet
        manager), in the robot's namespace, listening to its own frames on `/<id>/tf`."""
        model = robot.model
        max_speed = caps.max_speed(model.name, model.mass_kg, model.max_speed)
        params_file = self.run_dir / f"{robot.id}.params.yaml"
        if robot.robot_api == "nav2":
            params = nav2_params(robot_id=robot.id, radius=model.radius, max_speed=max_speed,
                                 max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate,
                                 max_yaw_accel=model.max_yaw_accel, map_frame=robot.map_frame,
                                 tf_topic=f"/{robot.id}/tf", safety=model.safety_params())
            goal_log = self.run_dir / f"{robot.id}.nav2-goals.jsonl"  # every goal it is sent, this run
            goal_log.unlink(missing_ok=True)
            params["goal_log"] = str(goal_log)
            write_params_file(params_file, robot.id, params, use_sim_time=True, node=NAV2_NODE)
            binary = "labfleet-nav2"
        else:
            params = agent_params(
                robot_id=robot.id, kind=model.kind, model=model.name, radius=model.radius, max_speed=max_speed,
                max_accel=model.max_accel, max_yaw_rate=model.max_yaw_rate, max_yaw_accel=model.max_yaw_accel,
                seed=self.seed + index, map_frame=robot.map_frame, tf_topic=f"/{robot.id}/tf",
                actions={name: (a.duration_s, a.success_rate) for name, a in model.actions.items()},
                safety=model.safety_params(), max_decel=model.max_decel)
            write_params_file(params_file, robot.id, params, use_sim_time=True)
            binary = "labfleet-agent"
        self.supervisor.start(robot.id, [self._bin(binary), "--ros-args", "-r", f"__ns:=/{robot.id}",
                                         "--params-file", str(params_file)], env)

    def _wait_ready(self) -> bool:
        url = f"http://127.0.0.1:{self.port}/api/v1/health"
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self._stop:
            if self.supervisor.poll() is not None:
                return False
            try:
                if httpx.get(url, timeout=1.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        return False

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._stop = True

    def run(self) -> int:
        signal.signal(signal.SIGINT, self._on_signal)
        signal.signal(signal.SIGTERM, self._on_signal)
        code = 0
        try:
            self.start_children()
            if self._wait_ready() and self.start_cluster():
                self.supervisor.say(f"LabFleet console: http://127.0.0.1:{self.port}/  (Ctrl-C stops the lab)")
                if self.settings.demo:
                    self.supervisor.say(f"sign in as user admin with the password in "
                                        f"{self.settings.data_dir / DEMO_PASSWORD_FILE} (written on the first start; "
                                        f"`labfleet user add` makes more users)")
            elif not self._stop:
                self.supervisor.say("the fleet manager did not become ready; stopping")
                return 1
            while not self._stop:
                if self.supervisor.poll() is not None:
                    self.supervisor.say("a critical part of the lab stopped; stopping the rest")
                    code = 1
                    break
                time.sleep(0.2)
        finally:
            self.supervisor.say("stopping the lab")
            self.supervisor.stop()
            self.supervisor.say(f"stopped {len(self.supervisor.children)} processes")
        return code
