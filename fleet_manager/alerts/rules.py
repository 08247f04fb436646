"""What raises an alert (issue 18), as pure functions of what the fleet manager knows.

Conditions hold while their cause does and clear by themselves when it ends: a robot e-stopped (SEV1), offline
after it had reported (SEV2), without localisation (SEV2), with its battery under the alert threshold while not
charging (SEV3), a mission step awaiting a recipient's confirmation (SEV3). Events are raised once: a mission
failed (SEV2), an incident opened (its own severity; a `blocked` incident is a robot blocked for longer than
the pilot watch's BLOCKED_AFTER_S, a `zone_violation` one a robot in a closed or no-go zone). An e-stop incident
raises nothing more: the e-stop condition already says it. SEV0, SEV1 and e-stops are shown in a banner.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class AlertKind(StrEnum):
    ESTOP = "estop"
    MISSION_FAILED = "mission_failed"
    ROBOT_BLOCKED = "robot_blocked"
    BATTERY_LOW = "battery_low"
    OFFLINE = "offline"
    LOCALISATION_LOST = "localisation_lost"
    AWAITING_CONFIRMATION = "awaiting_confirmation"
    ZONE_VIOLATION = "zone_violation"
    INCIDENT = "incident"


CONDITIONS = frozenset({AlertKind.ESTOP, AlertKind.BATTERY_LOW, AlertKind.OFFLINE, AlertKind.LOCALISATION_LOST,
                        AlertKind.AWAITING_CONFIRMATION})
BANNER_SEVERITIES = frozenset({"SEV0", "SEV1"})
_INCIDENT_KINDS = {"blocked": AlertKind.ROBOT_BLOCKED, "zone_violation": AlertKind.ZONE_VIOLATION}


@dataclass(frozen=True)
class Raise:
    """An alert to raise, keyed by what it stands for: one open alert per key."""

    key: str
    kind: AlertKind
    severity: str
    message: str
    robot_id: str | None = None
    mission_id: int | None = None
    incident_id: str | None = None


@dataclass(frozen=True)
class RobotFacts:
    id: str
    mode: str  # RobotMode's value; "offline" once silent for the robot timeout
    battery: float
    charging: bool
    localised: bool


def banner(kind: str, severity: str) -> bool:
    """Shown in the console's banner, not only in the alerts panel."""
    return severity in BANNER_SEVERITIES or kind == AlertKind.ESTOP


def robot_conditions(robots: Iterable[RobotFacts], battery_alert_pct: float) -> list[Raise]:
    out: list[Raise] = []
    for r in robots:
        if r.mode == "offline":
            out.append(Raise(f"offline:{r.id}", AlertKind.OFFLINE, "SEV2",
                             f"robot {r.id} is offline: no state from it for the robot timeout", r.id))
            continue  # what it last said no longer holds
        if r.mode == "estop":
            out.append(Raise(f"estop:{r.id}", AlertKind.ESTOP, "SEV1",
                             f"robot {r.id} is e-stopped: its mission is held until the e-stop is released", r.id))
        if not r.localised:
            out.append(Raise(f"localisation:{r.id}", AlertKind.LOCALISATION_LOST, "SEV2",
                             f"robot {r.id} lost its localisation: it is not dispatched, its mission is held", r.id))
        if not r.charging and r.battery < battery_alert_pct:
            out.append(Raise(f"battery:{r.id}", AlertKind.BATTERY_LOW, "SEV3",
                             f"robot {r.id}'s battery is at {r.battery:.0f} % (alert under {battery_alert_pct:g} %)",
                             r.id))
    return out


def awaiting_confirmation(mission_id: int, robot_id: str, step_index: int, prompt: str) -> Raise:
    said = f": “{prompt}”" if prompt else ""
    return Raise(f"confirm:{mission_id}:{step_index}", AlertKind.AWAITING_CONFIRMATION, "SEV3",
                 f"mission {mission_id} on {robot_id} awaits confirmation of step {step_index}{said}", robot_id,
                 mission_id)


def mission_failed(mission_id: int, robot_id: str | None, reason: str | None) -> Raise:
    return Raise(f"mission_failed:{mission_id}", AlertKind.MISSION_FAILED, "SEV2",
                 f"mission {mission_id} failed" + (f": {reason}" if reason else ""), robot_id, mission_id)


def incident_opened(incident_id: str, kind: str, severity: str, robot_id: str, mission_id: int | None,
                    description: str) -> Raise | None:
    if kind == "estop":
        return None  # the e-stop condition of the robot already says it
    alert = _INCIDENT_KINDS.get(kind, AlertKind.INCIDENT)
    text = f"{severity} {kind.replace('_', ' ')} incident, robot {robot_id}" + (f": {description}" if description
                                                                              else "")
    return Raise(f"incident:{incident_id}", alert, severity, text, robot_id, mission_id, incident_id)
