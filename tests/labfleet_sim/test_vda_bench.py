"""`labfleet-sim --vda5050-only` as a real child process, against the real Mosquitto broker on 127.0.0.1:1883 (an
interface name of its own per test; the master listens to its vehicles' topics only): a master control's order
is driven and its progress shows in schema-valid states; the broker may be away; SIGTERM ends with connection
OFFLINE. Two robots of the living lab's fleet are VDA 5050 vehicles in a copy of its fleet.yaml."""

from __future__ import annotations

import itertools
import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import VENV_BIN
from tests.lab_process import free_port, stop_group
from tests.labfleet_sim.vda_helpers import BROKER, MqttMaster, make_order
from tests.tcp_proxy import TcpProxy
from vda5050.topics import Topic

SITE = Path(__file__).resolve().parents[2] / "sim_worlds" / "living_lab"
SERIAL = "DB-0001"  # delivery_1's serial number in the fleet file; delivery_2 keeps its id


@pytest.fixture
def interface() -> str:
    return f"uagv_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def fleet_file(tmp_path: Path) -> Path:
    """The living lab's fleet with delivery_1 and delivery_2 as VDA 5050 vehicles."""
    fleet = yaml.safe_load((SITE / "fleet.yaml").read_text())
    for robot in fleet["robots"]:
        if robot["id"] == "delivery_1":
            robot |= {"robot_api": "vda5050", "vda5050": {"manufacturer": "LabFleet", "serial_number": SERIAL}}
        elif robot["id"] == "delivery_2":
            robot["robot_api"] = "vda5050"
    path = tmp_path / "fleet.yaml"
    path.write_text(yaml.safe_dump(fleet))
    return path


def bench_args(fleet_file: Path, url: str, interface: str) -> list[str]:
    return ["--vda5050-only", "--world", str(SITE / "world.sdf"), "--fleet", str(fleet_file), "--speed", "2",
            "--seed", "7", "--mqtt-url", url, "--interface", interface]


@pytest.fixture
def env() -> dict[str, str]:
    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@pytest.fixture
def proxy() -> Iterator[TcpProxy]:
    """A TCP proxy to the broker that the test can cut: the broker out of reach."""
    proxied = TcpProxy(BROKER)
    yield proxied
    proxied.close()


def collapsed(values: list[object]) -> list[object]:
    return [k for k, _ in itertools.groupby(values)]


def test_a_master_drives_a_vehicle_through_an_order(fleet_file: Path, interface: str, proxy: TcpProxy,
                                                    env: dict[str, str], tmp_path: Path) -> None:
    proxy.cut()  # the broker is down when the bench starts
    master = MqttMaster(interface, [SERIAL, "delivery_2"])
    log = tmp_path / "bench.log"
    argv = [str(VENV_BIN / "labfleet-sim"), *bench_args(fleet_file, f"mqtt://127.0.0.1:{proxy.port}", interface)]
    with log.open("wb") as out:
        bench = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        time.sleep(1.5)
        assert bench.poll() is None, log.read_text()  # no broker: it runs on
        assert master.connection(SERIAL) is None
        proxy.restore()
        master.wait_for(lambda: master.connection(SERIAL) == "ONLINE" and master.connection("delivery_2") == "ONLINE"
                        and master.of(SERIAL, Topic.STATE), 15, "both vehicles online with a state")
        factsheet = master.wait_for(lambda: master.of(SERIAL, Topic.FACTSHEET), 5, "the factsheet")[-1]
        assert factsheet["serialNumber"] == SERIAL and factsheet["physicalParameters"]["speedMax"] == 1.0
        # (agvPosition is optional in a state: the first may go out before the vehicle has its pose)
        here = master.wait_for(lambda: [m for m in master.of(SERIAL, Topic.STATE) if "agvPosition" in m], 5,
                               "a state with the vehicle's position")[-1]["agvPosition"]
        assert (here["x"], here["y"], here["mapId"]) == pytest.approx((24.9, 2.0, "living_lab"), abs=1e-6)
        assert here["positionInitialized"]

        master.send(SERIAL, make_order(SERIAL, "living_lab", "bench-1",
                                       [("charger_1", 24.9, 2.0), ("bay_1", 24.9, 4.5), ("bay_2", 26.3, 4.5)]))

        def order_states() -> list[dict[str, Any]]:
            return [s for s in master.of(SERIAL, Topic.STATE) if s["orderId"] == "bench-1"]

        def done() -> bool:
            states = order_states()
            return bool(states) and not states[-1]["nodeStates"] and not states[-1]["driving"]

        master.wait_for(done, 30, "the order driven to its last node")
        states = order_states()
        assert collapsed([s["lastNodeId"] for s in states]) == ["charger_1", "bay_1", "bay_2"]
        assert collapsed([len(s["nodeStates"]) for s in states]) == [2, 1, 0]  # node progress
        assert any(s["driving"] for s in states) and all(not s["errors"] for s in states)
        last = states[-1]["agvPosition"]
        assert (last["x"], last["y"]) == pytest.approx((26.3, 4.5), abs=0.25)
        assert all(s["orderId"] == "" and not s["driving"] for s in master.of("delivery_2", Topic.STATE))

        bench.send_signal(signal.SIGTERM)
        assert bench.wait(timeout=10) == 0
        master.wait_for(lambda: master.connection(SERIAL) == "OFFLINE" and master.connection("delivery_2") == "OFFLINE",
                        5, "connection OFFLINE from both vehicles")
        text = log.read_text()
        assert "delivery_1: order done, idle at (26." in text and "stopped (SIGTERM)" in text
    finally:
        if bench.poll() is None:
            stop_group(bench)
        master.close()


NO_ROS = """
import json, sys
from labfleet_sim import cli
try:
    cli.main(sys.argv[1:])
except SystemExit as done:
    ros = sorted(m for m in sys.modules if m.split(".")[0] in ("rclpy", "rmw", "rosidl_runtime_py", "rcl_interfaces"))
    print("RESULT " + json.dumps({"code": done.code, "ros": ros}), flush=True)
"""


def test_without_a_broker_it_steps_on_and_never_imports_rclpy(fleet_file: Path, interface: str,
                                                                 env: dict[str, str], tmp_path: Path) -> None:
    argv = [sys.executable, "-c", NO_ROS, *bench_args(fleet_file, f"mqtt://127.0.0.1:{free_port()}", interface)]
    log = tmp_path / "bench.log"
    with log.open("wb") as out:
        bench = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 30  # SIGTERM only once its handler is in place (a loaded host imports slowly)
        while "Ctrl-C stops" not in log.read_text() and bench.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert bench.poll() is None and "Ctrl-C stops" in log.read_text(), log.read_text()
        time.sleep(1.5)
        bench.send_signal(signal.SIGTERM)
        bench.wait(timeout=15)
    finally:
        if bench.poll() is None:
            stop_group(bench)
    output = log.read_text()
    assert "RESULT " in output, output
    result = json.loads(output.split("RESULT ", 1)[1].splitlines()[0])
    assert result == {"code": 0, "ros": []}, output
    stopped = re.search(r"stopped \(SIGTERM\) at sim time ([0-9.]+) s", output)
    assert stopped is not None and float(stopped.group(1)) > 1.0, output  # about 3 s at twice real time
    assert "connected to" not in output
