"""An operator e-stop through `POST /robots/{id}/commands` opens an intervention and records an incident,
and the release closes the intervention; against SQLite and PostgreSQL. The labfleet robot adapter is a
stand-in that answers commands like the agent does (no ROS here); robot states are fed the way the bridge
feeds them (`Lab.on_ros_states`, on the event loop)."""

from __future__ import annotations

from fleet_manager.core.robots import Command, CommandResult, RobotMode, RobotReport
from fleet_manager.pilots.service import default_pilot_id
from fleet_manager.robots.roster import Registration

API = "/api/v1"


class AgentStandIn:
    """A labfleet robot adapter answering commands; it remembers the robot's mode like the agent."""

    name = "labfleet"

    def __init__(self) -> None:
        self.estopped: set[str] = set()
        self.sent: list[tuple[str, Command]] = []
        self.clock = 100.0

    def now(self) -> float:
        return self.clock

    def attach(self, robot: Registration) -> None:
        pass

    def detach(self, robot_id: str) -> None:
        pass

    async def close(self) -> None:
        pass

    async def command(self, robot: Registration, command: Command, reason: str = "") -> tuple[CommandResult, str]:
        robot_id = robot.id
        self.sent.append((robot_id, command))
        if command is Command.ESTOP:
            self.estopped.add(robot_id)
            return CommandResult.OK, "emergency stop"
        if command is Command.RELEASE and robot_id in self.estopped:
            self.estopped.discard(robot_id)
            return CommandResult.OK, "e-stop released"
        return CommandResult.REJECTED, "not e-stopped"


def plug_in(lab, robot: AgentStandIn) -> None:
    """The stand-in becomes the lab's labfleet adapter and its clock the lab's (as the ROS bridge's would be)."""
    lab.robots.clock = robot.now
    lab.robots.use(robot)
    lab.dispatcher.robots = lab.robots


def feed(client, lab, robot_id: str, t: float, mode: RobotMode) -> None:
    report = RobotReport(robot_id, "delivery", "deliverybot", mode, 3.0 + t / 10, 4.0, 0.0, 0.0, 0.0, 80.0, False, "",
                         0.0, (), t, 1.7e9 + t)
    client.portal.call(lab.on_ros_states, [report])
    client.portal.call(lab.pilots.drain)


def test_an_operator_estop_is_an_intervention_and_an_incident(client):
    lab = client.app.state.lab
    robot = AgentStandIn()
    plug_in(lab, robot)
    for t in (95.0, 96.0, 97.0):
        feed(client, lab, "delivery_1", t, RobotMode.MOVING)

    r = client.post(f"{API}/robots/delivery_1/commands", json={"command": "estop", "reason": "blocking a fire door"})
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    feed(client, lab, "delivery_1", 98.0, RobotMode.ESTOP)  # the agent now reports ESTOP: nothing new
    client.portal.call(lab.pilots.drain)

    (opened,) = client.get(f"{API}/interventions", params={"robot_id": "delivery_1"}).json()
    assert (opened["kind"], opened["source"], opened["reason"], opened["open"]) == (
        "remote_assist", "automatic", "e-stop by operator", True)
    assert opened["pilot_id"] == default_pilot_id("living_lab") and opened["sim_started_at"] == 100.0
    (incident,) = client.get(f"{API}/incidents").json()
    assert (incident["kind"], incident["severity"], incident["source"], incident["robot_id"]) == (
        "estop", "SEV2", "automatic", "delivery_1")
    assert incident["description"] == "e-stop by operator: blocking a fire door"
    assert incident["place"]["x"] == 3.0 + 97.0 / 10 and incident["sim_time"] == 100.0
    assert [s["t"] for s in incident["evidence"]] == [95.0, 96.0, 97.0]
    assert client.get(f"{API}/incidents/{incident['id']}").json() == incident

    robot.clock = 110.0
    r = client.post(f"{API}/robots/delivery_1/commands", json={"command": "release"})
    assert r.status_code == 200 and r.json()["result"] == "ok", r.text
    feed(client, lab, "delivery_1", 110.5, RobotMode.IDLE)  # released: the agent reports idle
    (closed,) = client.get(f"{API}/interventions", params={"robot_id": "delivery_1"}).json()
    assert closed["id"] == opened["id"] and not closed["open"] and closed["sim_ended_at"] == 110.5
    assert robot.sent == [("delivery_1", Command.ESTOP), ("delivery_1", Command.RELEASE)]


def test_a_refused_command_records_nothing_and_an_unknown_robot_is_404(client):
    lab = client.app.state.lab
    plug_in(lab, AgentStandIn())
    feed(client, lab, "guide_1", 1.0, RobotMode.IDLE)
    r = client.post(f"{API}/robots/guide_1/commands", json={"command": "release"})
    assert r.status_code == 200 and r.json()["result"] == "rejected"
    assert client.get(f"{API}/interventions").json() == [] and client.get(f"{API}/incidents").json() == []
    r = client.post(f"{API}/robots/nobody/commands", json={"command": "estop"})
    assert r.status_code == 404 and "nobody" in r.json()["detail"]


def test_without_the_ros_bridge_commands_are_refused(client):
    lab = client.app.state.lab
    feed(client, lab, "guide_1", 1.0, RobotMode.IDLE)
    r = client.post(f"{API}/robots/guide_1/commands", json={"command": "estop"})
    assert r.status_code == 404 and "ROS bridge" in r.json()["detail"]
    assert client.get(f"{API}/interventions").json() == []


def test_a_fleet_wide_stop_estops_every_robot_that_reports(client):
    lab = client.app.state.lab
    robot = AgentStandIn()
    plug_in(lab, robot)
    for rid in ("delivery_1", "guide_1"):
        feed(client, lab, rid, 1.0, RobotMode.MOVING)
    r = client.post(f"{API}/robots/estop-all", json={"reason": "fire alarm"})
    assert r.status_code == 200, r.text
    assert sorted((a["robot_id"], a["result"]) for a in r.json()) == [("delivery_1", "ok"), ("guide_1", "ok")]
    assert sorted(robot.sent) == [("delivery_1", Command.ESTOP), ("guide_1", Command.ESTOP)]
    client.portal.call(lab.pilots.drain)
    incidents = client.get(f"{API}/incidents").json()
    assert sorted(i["description"] for i in incidents) == ["e-stop by operator: fire alarm"] * 2
