"""The pilot watch: automatic interventions and incidents from what the robots and the simulator report.

Pure logic, no database and no ROS: it is fed every robot state (`on_states`), the agents' task
feedback (`on_task_state`), the simulator's contacts (`on_contact`) and the operator's e-stops through
the fleet manager (`expect_estop`, `operator_estop`), and answers the records to write as actions
(`OpenIntervention`, `CloseInterventions`, `NewIncident`); pilots/automatic.py writes them. Times are
the robots' clock (sim seconds when simulated). What it records:

- **MANUAL mode**: entering it opens a `teleoperation` intervention ("robot reported MANUAL mode"),
  leaving it closes the robot's open automatic teleoperation intervention, with the distance the
  robot was driven meanwhile (from its poses).
- **E-stop**: an operator e-stop through the fleet manager (`POST /robots/{id}/commands`) opens a
  `remote_assist` intervention ("e-stop by operator") and records an `estop` incident (SEV2); a robot
  that reports ESTOP on its own (a button on the robot) opens an `on_site` intervention and records an
  `estop` incident (SEV2) too. Leaving ESTOP (release) closes the automatic e-stop intervention.
- **A pedestrian walking into a standing robot** (a contact the simulator reports `by` the person, the robot
  slower than STANDING_MPS) is a `person_contact` incident (SEV3), kept apart from the robot's collisions.
- **Collisions**: every other contact of the simulator is a `collision` incident: SEV1 when the other party
  is a robot of the fleet or a pedestrian (a world actor), SEV2 for a wall or any other static model.
  Contacts of the same pair less than CONTACT_DEBOUNCE_S apart (each from the one before) are one
  incident; a contact between two robots is one incident for the pair.
- **Blocked**: an obstacle stop (mode WAITING while the agent's task state is `waiting_obstacle`, or
  `waiting_obstacle` among the state's errors) that lasts BLOCKED_AFTER_S is a `blocked` incident
  (SEV3), once per stop episode. An episode runs from the first stop until the robot is
  EPISODE_MOVE_M away from where it first stopped, or has not been stopped for EPISODE_GAP_S.
- **Protective stop**: a robot whose state carries a `protective stop: ...` error (its agent's safety layer
  stopped it short of something on its way, labfleet_robot/safety.py) records a `protective_stop` incident
  (SEV3) with what the layer saw, once per episode; the stop counts as an obstacle stop below.
- **Near miss**: during an obstacle-stop episode, a pedestrian closer than NEAR_MISS_M to the robot's
  footprint (inside the agent's 0.25 m stop margin: the stop came late, or the pedestrian walked up
  to the standing robot) is a `near_miss` incident (SEV3), once per episode.
- **Zone violations**: a robot inside a speed-limited zone faster than the limit by more than 5 % (speeding,
  SEV3), or inside a no-go zone (SEV2), is a `zone_violation` incident once per stay in that zone.
  Opening hours are not checked live (there is no site clock of day here): hours zones count as open.

Each incident carries as evidence the robot's states of the last EVIDENCE_S seconds (both robots' for
a robot-robot contact), oldest first. The first state of a robot after a start of the fleet manager
reconciles: a robot in MANUAL or ESTOP gets its intervention (no new incident), one in neither mode has
its stale automatic interventions closed.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

from fleet_manager.core.robots import PROTECTIVE_STOP, STANDING_MPS, RobotMode, RobotReport
from fleet_manager.core.zones import DEFAULT_SPEED_TOLERANCE, OperatingZones
from fleet_manager.pilots.schemas import IncidentKind, InterventionKind, Severity

EVIDENCE_S = 10.0  # s of robot states kept, and stored with each incident
CONTACT_DEBOUNCE_S = 5.0  # s: contacts of one pair closer together than this are one incident
BLOCKED_AFTER_S = 5.0  # s of an obstacle-stop episode before it is a blocked incident
EPISODE_MOVE_M = 0.5  # m from where it first stopped: the stop episode is over
EPISODE_GAP_S = 10.0  # s without an obstacle stop: the stop episode is over
NEAR_MISS_M = 0.15  # m between a pedestrian's and the robot's footprints while stopped for an obstacle
PEDESTRIAN_RADIUS_M = 0.3  # the simulator's pedestrian footprint (labfleet_sim.pedestrians)
OBSTACLE_STATE = "waiting_obstacle"  # the agent's task state while it stands for an obstacle

TELEOPERATION_KINDS = (InterventionKind.TELEOPERATION,)
ESTOP_KINDS = (InterventionKind.REMOTE_ASSIST, InterventionKind.ON_SITE)
MANUAL_REASON = "robot reported MANUAL mode"
OPERATOR_ESTOP_REASON = "e-stop by operator"
ROBOT_ESTOP_REASON = "robot reported ESTOP mode"


# -- what to write -------------------------------------------------------------------------------
@dataclass(frozen=True)
class OpenIntervention:
    robot_id: str
    kind: InterventionKind
    reason: str
    mission_id: int | None
    sim_time: float | None


@dataclass(frozen=True)
class CloseInterventions:
    """End the robot's open automatic intervention if it is of one of `kinds`."""

    robot_id: str
    kinds: tuple[InterventionKind, ...]
    sim_time: float | None
    distance_m: float | None = None  # driven under the intervention, when known


@dataclass(frozen=True)
class NewIncident:
    robot_id: str
    severity: Severity
    kind: IncidentKind
    x: float
    y: float
    place: str | None
    description: str
    evidence: list[dict[str, Any]]
    mission_id: int | None
    sim_time: float | None


Action = OpenIntervention | CloseInterventions | NewIncident


@dataclass(frozen=True)
class ContactReport:
    """A contact of the simulator (labfleet_interfaces/Contact): the robot was stopped as it would enter
    `other` (a robot id, a pedestrian's actor name, or a world model's name)."""

    robot_id: str
    other: str
    x: float
    y: float
    yaw: float
    stamp: float
    by: str = "robot"  # robot: its own move closed in; person: a pedestrian walked into it
    robot_speed: float = 0.0  # m/s at the contact
    relative_speed: float = 0.0  # m/s at which the two closed in
    other_kind: str = ""  # robot | person | obstacle (empty from a simulator that does not say)


# -- what the watch knows of the site --------------------------------------------------------------
class Pedestrians(Protocol):
    """Where the site's pedestrians are at a sim time: scripted ones walk as a function of sim time alone, so
    labfleet_sim.pedestrians.Crowd over the world's actors is one; SeenPedestrians follows the simulator's
    /sim/pedestrians (reactive people and crowds)."""

    names: list[str]

    def centres(self, t: float) -> Any: ...  # N x 2 array of (x, y)


class SeenPedestrians:
    """The pedestrians as the simulator last published them (whatever sim time is asked: the latest)."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self._centres: list[tuple[float, float]] = []
        self.stamp: float | None = None

    def update(self, stamp: float, names: Sequence[str], centres: Sequence[tuple[float, float]]) -> None:
        self.stamp, self.names, self._centres = stamp, list(names), list(centres)

    def centres(self, t: float) -> list[tuple[float, float]]:
        return self._centres


@dataclass(frozen=True)
class SiteFacts:
    robots: Mapping[str, float]  # robot id → footprint radius, m (the fleet the watch follows)
    places: Sequence[tuple[str, float, float]] = ()  # navgraph places (name, x, y), to name where
    zones: OperatingZones = field(default_factory=OperatingZones)
    pedestrians: Pedestrians | None = None  # anything a robot touches that is neither a robot nor one is static

    def nearest_place(self, x: float, y: float) -> str | None:
        best = min(self.places, key=lambda p: (p[1] - x) ** 2 + (p[2] - y) ** 2, default=None)
        return best[0] if best is not None else None


# -- per robot -----------------------------------------------------------------------------------
class Sample(NamedTuple):
    t: float
    wall_time: float
    x: float
    y: float
    yaw: float
    linear: float
    angular: float
    mode: str
    battery: float
    charging: bool
    mission_id: int | None

    def as_json(self, robot_id: str) -> dict[str, Any]:
        data: dict[str, Any] = {"robot_id": robot_id}
        for key, value in self._asdict().items():
            data[key] = (None if not math.isfinite(value) else round(value, 4)) if isinstance(value, float) else value
        return data


@dataclass
class _Stop:
    start: float
    x: float
    y: float
    last: float
    blocked: bool = False
    near_miss: bool = False
    protective: bool = False


@dataclass
class _Robot:
    samples: deque[Sample] = field(default_factory=deque)
    mode: RobotMode | None = None  # None: no state since the watch started
    estopped: bool = False  # an automatic e-stop intervention was opened and not closed since
    manual_m: float = 0.0  # driven in MANUAL mode since it entered it
    task: tuple[str, str] = ("", "")  # the agent's latest task feedback: (task id, state)
    stop: _Stop | None = None
    in_zones: set[tuple[str, str]] = field(default_factory=set)  # (zone, rule) recorded during this stay


class PilotWatch:
    def __init__(self, site: SiteFacts, mission_of: Callable[[str], int | None] = lambda _rid: None) -> None:
        self.site = site
        self._mission_of = mission_of
        self._robots: dict[str, _Robot] = {}
        self._contacts: dict[tuple[str, str], float] = {}  # pair → stamp of its latest contact
        self._expecting: set[str] = set()  # robots an operator e-stop is on its way to
        self._zone_boxes = [(z, z.shape.bounds) for z in site.zones.zones]
        self._pedestrian_names = frozenset(site.pedestrians.names) if site.pedestrians is not None else frozenset()
        self.seen = SeenPedestrians()  # the simulator's /sim/pedestrians, once it publishes them

    def on_pedestrians(self, stamp: float, names: Sequence[str], centres: Sequence[tuple[float, float]]) -> None:
        """Where the simulator's pedestrians are now: near misses are measured against these from now on."""
        self.seen.update(stamp, names, centres)

    # -- robot states -----------------------------------------------------------------------------
    def on_states(self, batch: Iterable[RobotReport]) -> list[Action]:
        actions: list[Action] = []
        for report in batch:
            if report.id in self.site.robots:
                self._on_state(report, actions)
        return actions

    def on_task_state(self, robot_id: str, task_id: str, state: str) -> None:
        """The agent's task feedback (its `state`, e.g. waiting_obstacle)."""
        robot = self._robots.get(robot_id)
        if robot is not None:
            robot.task = (task_id, state)

    def _on_state(self, report: RobotReport, actions: list[Action]) -> None:
        robot = self._robots.setdefault(report.id, _Robot())
        t = report.stamp
        samples = robot.samples
        if samples and t < samples[-1].t:  # the clock went back (a new simulation): forget the old one
            samples.clear()
            robot.stop = None
        if samples and robot.mode is RobotMode.MANUAL:
            robot.manual_m += math.hypot(report.x - samples[-1].x, report.y - samples[-1].y)
        samples.append(Sample(t, report.wall_time, report.x, report.y, report.yaw, report.linear, report.angular,
                              str(report.mode), report.battery, report.charging, self._mission_of(report.id)))
        while samples[0].t < t - EVIDENCE_S:
            samples.popleft()
        self._modes(report, robot, actions)
        self._obstacle_stop(report, robot, actions)
        if self._zone_boxes:
            self._zones(report, robot, actions)

    def _modes(self, report: RobotReport, robot: _Robot, actions: list[Action]) -> None:
        rid, prev, mode, t = report.id, robot.mode, report.mode, report.stamp
        robot.mode = mode
        if prev is None:  # first state since the watch started: reconcile with what is stored
            stale = (() if mode is RobotMode.MANUAL else TELEOPERATION_KINDS) + \
                    (() if mode is RobotMode.ESTOP else ESTOP_KINDS)
            actions.append(CloseInterventions(rid, stale, t))
            if mode is RobotMode.MANUAL:
                actions.append(OpenIntervention(rid, InterventionKind.TELEOPERATION, MANUAL_REASON,
                                                self.mission(rid), t))
            elif mode is RobotMode.ESTOP and rid not in self._expecting:
                robot.estopped = True
                actions.append(OpenIntervention(rid, InterventionKind.ON_SITE, ROBOT_ESTOP_REASON,
                                                self.mission(rid), t))
            return
        if mode is prev:
            return
        if prev is RobotMode.MANUAL:
            actions.append(CloseInterventions(rid, TELEOPERATION_KINDS, t, robot.manual_m))
        if prev is RobotMode.ESTOP:
            robot.estopped = False
            actions.append(CloseInterventions(rid, ESTOP_KINDS, t))
        if mode is RobotMode.MANUAL:
            robot.manual_m = 0.0
            actions.append(OpenIntervention(rid, InterventionKind.TELEOPERATION, MANUAL_REASON, self.mission(rid), t))
        elif mode is RobotMode.ESTOP and not robot.estopped and rid not in self._expecting:
            self._robot_estop(rid, robot, actions)

    def _robot_estop(self, rid: str, robot: _Robot, actions: list[Action]) -> None:
        robot.estopped = True
        last = robot.samples[-1]
        mission = self.mission(rid)
        actions.append(OpenIntervention(rid, InterventionKind.ON_SITE, ROBOT_ESTOP_REASON, mission, last.t))
        actions.append(self._incident(rid, Severity.SEV2, IncidentKind.ESTOP, last.x, last.y, last.t,
                                      "the robot reported an e-stop that did not come through the fleet manager "
                                      "(a button on the robot, or its own safety system)"))

    # -- operator e-stops -------------------------------------------------------------------------
    def expect_estop(self, robot_id: str) -> None:
        """An operator e-stop is being sent: the ESTOP states it causes are the operator's, not the robot's."""
        self._expecting.add(robot_id)

    def operator_estop(self, robot_id: str, accepted: bool, sim_time: float | None = None,
                       reason: str = "") -> list[Action]:
        """The robot answered an operator e-stop (`accepted`: it took it). Opens the intervention and
        records the incident, unless an automatic e-stop intervention is open already."""
        self._expecting.discard(robot_id)
        robot = self._robots.get(robot_id)
        if robot is None or not robot.samples or robot_id not in self.site.robots or robot.estopped:
            return []
        actions: list[Action] = []
        if not accepted:  # it may have reported ESTOP meanwhile on its own
            if robot.mode is RobotMode.ESTOP:
                self._robot_estop(robot_id, robot, actions)
            return actions
        robot.estopped = True
        last = robot.samples[-1]
        t = sim_time if sim_time is not None else last.t
        actions.append(OpenIntervention(robot_id, InterventionKind.REMOTE_ASSIST, OPERATOR_ESTOP_REASON,
                                        self.mission(robot_id), t))
        text = OPERATOR_ESTOP_REASON + (f": {reason}" if reason else "")
        actions.append(self._incident(robot_id, Severity.SEV2, IncidentKind.ESTOP, last.x, last.y, t, text))
        return actions

    # -- obstacle stops and near misses -----------------------------------------------------------
    def _obstacle_stop(self, report: RobotReport, robot: _Robot, actions: list[Action]) -> None:
        t = report.stamp
        protective = next((e for e in report.errors if e.startswith(PROTECTIVE_STOP)), None)
        stopped = protective is not None or (report.mode is RobotMode.WAITING and (
            robot.task == (report.task_id, OBSTACLE_STATE) or OBSTACLE_STATE in report.errors))
        stop = robot.stop
        if not stopped:
            if stop is not None and (math.hypot(report.x - stop.x, report.y - stop.y) >= EPISODE_MOVE_M
                                     or t - stop.last >= EPISODE_GAP_S):
                robot.stop = None
            return
        if stop is None:
            stop = robot.stop = _Stop(t, report.x, report.y, t)
        stop.last = t
        if protective is not None and not stop.protective:
            stop.protective = True
            actions.append(self._incident(report.id, Severity.SEV3, IncidentKind.PROTECTIVE_STOP, report.x, report.y,
                                          t, protective))
        if not stop.blocked and t - stop.start >= BLOCKED_AFTER_S:
            stop.blocked = True
            actions.append(self._incident(report.id, Severity.SEV3, IncidentKind.BLOCKED, report.x, report.y, t,
                                          f"stopped for an obstacle for {t - stop.start:.1f} s"))
        if not stop.near_miss and (self.site.pedestrians is not None or self.seen.stamp is not None):
            near = self._nearest_pedestrian(report.id, report.x, report.y, t)
            if near is not None and near[1] <= NEAR_MISS_M:
                stop.near_miss = True
                actions.append(self._incident(
                    report.id, Severity.SEV3, IncidentKind.NEAR_MISS, report.x, report.y, t,
                    f"stopped for an obstacle with pedestrian {near[0]} {max(near[1], 0.0):.2f} m from its footprint"))

    def _nearest_pedestrian(self, robot_id: str, x: float, y: float, t: float) -> tuple[str, float] | None:
        crowd = self.seen if self.seen.stamp is not None else self.site.pedestrians
        if crowd is None or not crowd.names:
            return None
        centres = crowd.centres(t)
        gaps = [math.hypot(cx - x, cy - y) for cx, cy in centres]
        i = min(range(len(gaps)), key=gaps.__getitem__)
        return crowd.names[i], gaps[i] - self.site.robots[robot_id] - PEDESTRIAN_RADIUS_M

    # -- operating zones --------------------------------------------------------------------------
    def _zones(self, report: RobotReport, robot: _Robot, actions: list[Action]) -> None:
        x, y, speed = report.x, report.y, abs(report.linear)
        for zone, (x0, y0, x1, y1) in self._zone_boxes:
            inside = x0 <= x <= x1 and y0 <= y <= y1 and zone.contains(x, y)
            if not inside:
                if robot.in_zones:
                    robot.in_zones -= {(zone.name, "no_go"), (zone.name, "speeding")}
                continue
            limit = zone.limit_at(None)
            if not zone.allows(None):
                self._zone_incident(report, robot, actions, zone.name, "no_go", Severity.SEV2,
                                    f"inside no-go zone {zone.name}")
            elif limit is not None and speed > limit * (1 + DEFAULT_SPEED_TOLERANCE):
                self._zone_incident(report, robot, actions, zone.name, "speeding", Severity.SEV3,
                                    f"{speed:.2f} m/s in zone {zone.name} (limit {limit:g} m/s)")

    def _zone_incident(self, report: RobotReport, robot: _Robot, actions: list[Action], zone: str, rule: str,
                       severity: Severity, text: str) -> None:
        if (zone, rule) in robot.in_zones:
            return
        robot.in_zones.add((zone, rule))
        actions.append(self._incident(report.id, severity, IncidentKind.ZONE_VIOLATION, report.x, report.y,
                                      report.stamp, text))

    # -- contacts ---------------------------------------------------------------------------------
    def on_contact(self, contact: ContactReport) -> list[Action]:
        rid, other = contact.robot_id, contact.other
        if rid not in self.site.robots:
            return []
        is_robot = other in self.site.robots
        pair = (min(rid, other), max(rid, other)) if is_robot else (rid, other)
        last = self._contacts.get(pair)
        self._contacts[pair] = contact.stamp
        if last is not None and 0.0 <= contact.stamp - last < CONTACT_DEBOUNCE_S:
            return []
        speeds = f"the robot at {contact.robot_speed:.2f} m/s, closing at {contact.relative_speed:.2f} m/s"
        if contact.by == "person" and contact.robot_speed < STANDING_MPS:
            return [self._incident(rid, Severity.SEV3, IncidentKind.PERSON_CONTACT, contact.x, contact.y,
                                   contact.stamp, f"pedestrian {other} walked into the standing robot ({speeds})")]
        if is_robot:
            severity, what = Severity.SEV1, f"robot {other}"
        elif contact.other_kind == "person" or other in self._pedestrian_names:
            severity, what = Severity.SEV1, f"pedestrian {other}"
        else:
            severity, what = Severity.SEV2, f"static obstacle {other}"
        how = "it walked into the moving robot" if contact.by == "person" else "the robot moved into it"
        return [self._incident(rid, severity, IncidentKind.COLLISION, contact.x, contact.y, contact.stamp,
                               f"contact with {what}: {how} ({speeds})", also=other if is_robot else None)]

    # -- helpers ----------------------------------------------------------------------------------
    def mission(self, robot_id: str) -> int | None:
        """The robot's mission now, else the latest it had in the evidence window (a mission that
        failed a moment ago, e.g. by the e-stop itself)."""
        mission = self._mission_of(robot_id)
        robot = self._robots.get(robot_id)
        if mission is None and robot is not None:
            mission = next((s.mission_id for s in reversed(robot.samples) if s.mission_id is not None), None)
        return mission

    def evidence(self, robot_id: str) -> list[dict[str, Any]]:
        robot = self._robots.get(robot_id)
        return [s.as_json(robot_id) for s in robot.samples] if robot is not None else []

    def _incident(self, robot_id: str, severity: Severity, kind: IncidentKind, x: float, y: float,
                  t: float | None, description: str, also: str | None = None) -> NewIncident:
        evidence = self.evidence(robot_id)
        if also is not None:
            evidence = sorted(evidence + self.evidence(also), key=lambda s: (s["t"], s["robot_id"]))
        return NewIncident(robot_id, severity, kind, x, y, self.site.nearest_place(x, y), description, evidence,
                           self.mission(robot_id), t)
