"""What raises an alert (issue 18), as pure functions of what the fleet manager knows.

Conditions hold while their cause does and clear by themselves when it ends: a robot e-stopped (SEV1), offline
after it had reported (SEV2), without localisation (SEV2), with its battery under the alert threshold while not
charging (SEV3), a mission step awaiting a recipient's confirmation (SEV3). Events are raised once: a mission
failed (SEV2), an incident opened (its own severity; a `blocked` incident is a robot blocked for longer than
the pilot watch's BLOCKED_AFTER_S, a `zone_violation` one a robot in a closed or no-go zone). An e-stop incident
raises nothing more: the e-stop condition already says it. SEV0, SEV1 and e-stops are shown in a banner.

Each alert's English message is one of TEXTS with its parameters; the console shows its catalogue's
`alerts.text.<id>` (web_console/src/locales/<lang>/alerts.json) with the parameters `text_of` reads back from the
message (so that every alert stored, before or after, has them).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from fleet_manager.core.wording import pattern


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


# the English message of each text id, its {parameters} those of the console's alerts.text.<id>. A message is one
# of these exactly, so that its parameters can be read back (`text_of`); a variant ending in free text (a reason, a
# prompt, a description) comes before the one without it.
TEXTS: dict[str, str] = {
    "offline": "robot {robot} is offline: no state from it for the robot timeout",
    "estop": "robot {robot} is e-stopped: its mission is held until the e-stop is released",
    "localisation_lost": "robot {robot} lost its localisation: it is not dispatched, its mission is held",
    "battery_low": "robot {robot}'s battery is at {battery} % (alert under {threshold} %)",
    "awaiting_confirmation_prompt": "mission {mission} on {robot} awaits confirmation of step {step}: “{prompt}”",
    "awaiting_confirmation": "mission {mission} on {robot} awaits confirmation of step {step}",
    "mission_failed_reason": "mission {mission} failed: {reason}",
    "mission_failed": "mission {mission} failed",
    "incident_description": "{severity} {incident} incident, robot {robot}: {description}",
    "incident": "{severity} {incident} incident, robot {robot}",
}
_FREE = {"reason", "prompt", "description"}  # free text: anything, to the end
_WORDS = {"incident"}  # an identifier written with spaces for underscores (near_miss: "near miss")
_TEXTS_OF_KIND: dict[str, tuple[str, ...]] = {
    "offline": ("offline",), "estop": ("estop",), "localisation_lost": ("localisation_lost",),
    "battery_low": ("battery_low",), "awaiting_confirmation": ("awaiting_confirmation_prompt", "awaiting_confirmation"),
    "mission_failed": ("mission_failed_reason", "mission_failed"),
    **{kind: ("incident_description", "incident") for kind in ("robot_blocked", "zone_violation", "incident")},
}
_SLOTS = {**{name: ".+" for name in _FREE}, **{name: ".+?" for name in _WORDS}}  # (any other: one word)
_PATTERNS = {text_id: pattern(english, _SLOTS, re.S) for text_id, english in TEXTS.items()}


def message(text_id: str, **params: Any) -> str:
    """The English message of `text_id` with its parameters (an identifier of _WORDS with spaces)."""
    return TEXTS[text_id].format(**{k: str(v).replace("_", " ") if k in _WORDS else v for k, v in params.items()})


def text_of(kind: str, message: str) -> tuple[str, dict[str, str]] | None:
    """(text id, parameters) of an alert's message, for the console to say it in its language; None for a message
    that is none of its kind's texts."""
    for text_id in _TEXTS_OF_KIND.get(kind, ()):
        found = _PATTERNS[text_id].fullmatch(message)
        if found:
            return text_id, {k: v.replace(" ", "_") if k in _WORDS else v for k, v in found.groupdict().items()}
    return None


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
            out.append(Raise(f"offline:{r.id}", AlertKind.OFFLINE, "SEV2", message("offline", robot=r.id), r.id))
            continue  # what it last said no longer holds
        if r.mode == "estop":
            out.append(Raise(f"estop:{r.id}", AlertKind.ESTOP, "SEV1", message("estop", robot=r.id), r.id))
        if not r.localised:
            out.append(Raise(f"localisation:{r.id}", AlertKind.LOCALISATION_LOST, "SEV2",
                             message("localisation_lost", robot=r.id), r.id))
        if not r.charging and r.battery < battery_alert_pct:
            out.append(Raise(f"battery:{r.id}", AlertKind.BATTERY_LOW, "SEV3",
                             message("battery_low", robot=r.id, battery=f"{r.battery:.0f}",
                                     threshold=f"{battery_alert_pct:g}"), r.id))
    return out


def awaiting_confirmation(mission_id: int, robot_id: str, step_index: int, prompt: str) -> Raise:
    text = (message("awaiting_confirmation_prompt", mission=mission_id, robot=robot_id, step=step_index,
                    prompt=prompt) if prompt
            else message("awaiting_confirmation", mission=mission_id, robot=robot_id, step=step_index))
    return Raise(f"confirm:{mission_id}:{step_index}", AlertKind.AWAITING_CONFIRMATION, "SEV3", text, robot_id,
                 mission_id)


def mission_failed(mission_id: int, robot_id: str | None, reason: str | None) -> Raise:
    text = (message("mission_failed_reason", mission=mission_id, reason=reason) if reason
            else message("mission_failed", mission=mission_id))
    return Raise(f"mission_failed:{mission_id}", AlertKind.MISSION_FAILED, "SEV2", text, robot_id, mission_id)


def incident_opened(incident_id: str, kind: str, severity: str, robot_id: str, mission_id: int | None,
                    description: str) -> Raise | None:
    if kind == "estop":
        return None  # the e-stop condition of the robot already says it
    alert = _INCIDENT_KINDS.get(kind, AlertKind.INCIDENT)
    text = (message("incident_description", severity=severity, incident=kind, robot=robot_id,
                    description=description) if description
            else message("incident", severity=severity, incident=kind, robot=robot_id))
    return Raise(f"incident:{incident_id}", alert, severity, text, robot_id, mission_id, incident_id)
