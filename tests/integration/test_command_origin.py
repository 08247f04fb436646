"""Who sent a robot command (issue 19, item 5a), in a whole lab (`labfleet up`): the fleet manager's commands are
signed with the lab's command key and carried out; a foreign node on the ROS domain that calls
`/<robot>/command` unsigned still e-stops the robot (safety first), cannot release it, and both show up in the
audit log flagged, by "ros:<origin>"; the fleet manager's own commands are audited once, by the operator. A
collision it forges on /sim/contacts (unsigned) is refused and audited, and makes no incident."""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
from labfleet_interfaces.msg import Contact
from labfleet_interfaces.srv import RobotCommand
from rclpy.qos import QoSProfile, ReliabilityPolicy

from tests import ros_helpers
from tests.lab_process import LabProcess, http

pytestmark = pytest.mark.ros


def foreign_command(t: ros_helpers.TestNode, client: Any, command: int) -> RobotCommand.Response:
    request = RobotCommand.Request(command=command, reason="mischief", origin="intruder", nonce=secrets.token_hex(8))
    future = client.call_async(request)
    t.spin_until(future.done, 10, f"the answer to the foreign command {command}")
    return future.result()


def audit_entries(api: str, username: str, count: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 10
    while True:
        entries = http.get(f"{api}/audit", params={"username": username}, timeout=5).json()
        if len(entries) >= count or time.monotonic() > deadline:
            return entries
        time.sleep(0.3)


def mode(api: str, robot_id: str) -> str:
    return http.get(f"{api}/robots/{robot_id}", timeout=5).json()["mode"]


def test_a_foreign_estop_is_carried_out_and_audited_flagged_and_the_fleet_managers_commands_are_not(ros_env, tmp_path):
    lab = LabProcess(ros_env, tmp_path, robots=2)
    t = None
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        # the fleet manager's own commands: signed, so the agent carries out the release too
        for command, expected in (("estop", "ok"), ("release", "ok")):
            r = http.post(f"{api}/robots/delivery_1/commands", json={"command": command, "reason": "drill"}, timeout=10)
            assert r.status_code == 200 and r.json()["result"] == expected, r.text
        t = ros_helpers.TestNode("intruder", int(lab.domain))
        client = t.node.create_client(RobotCommand, "/delivery_1/command")
        t.spin_until(client.service_is_ready, 15, "the agent's command service")
        stop = foreign_command(t, client, RobotCommand.Request.ESTOP)
        assert stop.result == RobotCommand.Response.RESULT_OK and "emergency stop" in stop.message
        deadline = time.monotonic() + 5
        while mode(api, "delivery_1") != "estop" and time.monotonic() < deadline:
            time.sleep(0.2)
        assert mode(api, "delivery_1") == "estop"
        release = foreign_command(t, client, RobotCommand.Request.RELEASE)
        assert release.result == RobotCommand.Response.RESULT_REJECTED and "unauthenticated" in release.message
        time.sleep(1.0)
        assert mode(api, "delivery_1") == "estop"  # still stopped
        flagged = audit_entries(api, "ros:intruder", 2)
        assert [(e["action"], e["outcome"]) for e in flagged] == [("robot release", "refused"), ("robot estop", "ok")]
        assert all(e["detail"].startswith("unauthenticated command from intruder (unsigned)") for e in flagged)
        assert all(e["target"] == "robot_id=delivery_1" for e in flagged)
        # the fleet manager's own: once each, by the operator, not again from the robot's report
        ours = [e for e in audit_entries(api, "admin", 0) if e["method"] == "COMMAND"]
        assert sorted(e["action"] for e in ours) == ["robot estop", "robot release"]
        assert audit_entries(api, "ros:fleet_manager", 0) == []
        r = http.post(f"{api}/robots/delivery_1/commands", json={"command": "release"}, timeout=10)
        assert r.status_code == 200 and r.json()["result"] == "ok", r.text
        # a forged collision on /sim/contacts (unsigned): refused, audited, no incident
        forge = t.node.create_publisher(Contact, "/sim/contacts",
                                        QoSProfile(depth=100, reliability=ReliabilityPolicy.RELIABLE))
        deadline = time.monotonic() + 20
        forged: list[dict[str, Any]] = []
        while not forged and time.monotonic() < deadline:
            forge.publish(Contact(robot_id="delivery_1", other="delivery_2", by="robot", other_kind="robot",
                                  robot_speed=1.0, relative_speed=1.0))
            t.spin_for(0.5)
            forged = [e for e in audit_entries(api, "ros:?", 0) if e["action"] == "forged contact"]
        assert forged and forged[0]["outcome"] == "refused" and "(unsigned)" in forged[0]["detail"], forged
        incidents = http.get(f"{api}/incidents", timeout=5).json()
        assert not [i for i in incidents if i["kind"] == "collision"], incidents
    finally:
        if t is not None:
            t.close()
        lab.stop()
