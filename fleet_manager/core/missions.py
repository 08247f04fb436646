"""Missions: the step language, the status state machine and mission specs (pure Python)."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from fleet_manager.core.errors import Conflict, InvalidInput
from fleet_manager.core.navgraph import NavGraph


class MissionStatus(StrEnum):
    QUEUED = "queued"
    ASSIGNED = "assigned"
    UNDERWAY = "underway"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset({MissionStatus.COMPLETED, MissionStatus.FAILED, MissionStatus.CANCELED})

_ALLOWED: dict[MissionStatus, frozenset[MissionStatus]] = {
    MissionStatus.QUEUED: frozenset({MissionStatus.ASSIGNED, MissionStatus.CANCELED, MissionStatus.FAILED}),
    MissionStatus.ASSIGNED: frozenset(
        {MissionStatus.UNDERWAY, MissionStatus.QUEUED, MissionStatus.CANCELED, MissionStatus.FAILED}
    ),
    MissionStatus.UNDERWAY: frozenset(
        {MissionStatus.PAUSED, MissionStatus.COMPLETED, MissionStatus.FAILED, MissionStatus.CANCELED}
    ),
    MissionStatus.PAUSED: frozenset({MissionStatus.UNDERWAY, MissionStatus.CANCELED, MissionStatus.FAILED}),
    MissionStatus.COMPLETED: frozenset(),
    MissionStatus.FAILED: frozenset(),
    MissionStatus.CANCELED: frozenset(),
}


def check_transition(current: MissionStatus, new: MissionStatus) -> None:
    if new not in _ALLOWED[current]:
        raise Conflict(f"mission cannot go from {current} to {new}", field="status")


class Priority(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    EMERGENCY = "emergency"


class StepKind(StrEnum):
    GO_TO = "go_to"
    DOCK = "dock"
    ACTION = "action"
    WAIT = "wait"
    CONFIRM = "confirm"
    PATROL = "patrol"


# Step kinds the executor carries out today; the others parse but are refused with a clear reason.
EXECUTABLE = frozenset({StepKind.GO_TO, StepKind.DOCK, StepKind.ACTION, StepKind.WAIT, StepKind.PATROL})


@dataclass(frozen=True)
class Step:
    kind: StepKind
    target: str | None = None  # place for go_to / dock
    action: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seconds: float | None = None
    prompt: str | None = None
    places: tuple[str, ...] = ()
    repeat: int = 1

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind)}
        if self.target is not None:
            out["target"] = self.target
        if self.action is not None:
            out["action"] = self.action
            out["params"] = dict(self.params)
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.prompt is not None:
            out["prompt"] = self.prompt
        if self.places:
            out["places"] = list(self.places)
            out["repeat"] = self.repeat
        return out


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise InvalidInput(f"{where}: expected a non-negative number of seconds, got {value!r}", field=where)
    return float(value)


def parse_step(raw: Any, where: str) -> Step:
    """One step from its mission-language form, e.g. {"go_to": "ward"} or {"wait": 5}."""
    if not isinstance(raw, dict):
        raise InvalidInput(f"{where}: a step is a mapping such as {{go_to: PLACE}}, got {raw!r}", field=where)
    kinds = [k for k in raw if k in StepKind.__members__.values()]
    if len(kinds) != 1:
        raise InvalidInput(
            f"{where}: a step has exactly one of {[str(k) for k in StepKind]}, got keys {sorted(raw)}",
            field=where,
        )
    kind = StepKind(kinds[0])
    value = raw[kind]
    extra = set(raw) - {kind, "params", "repeat"}
    if extra:
        raise InvalidInput(f"{where}: unknown key(s) {sorted(extra)} in a {kind} step", field=where)
    if kind in (StepKind.GO_TO, StepKind.DOCK):
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{where}.{kind}: expected a place name, got {value!r}", field=f"{where}.{kind}")
        return Step(kind, target=value)
    if kind is StepKind.ACTION:
        params = raw.get("params") or {}
        if isinstance(value, dict):
            params = {k: v for k, v in value.items() if k != "name"} | params
            value = value.get("name")
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{where}.action: expected an action name, got {value!r}", field=f"{where}.action")
        if not isinstance(params, dict):
            raise InvalidInput(f"{where}.params: expected a mapping", field=f"{where}.params")
        return Step(kind, action=value, params=params)
    if kind is StepKind.WAIT:
        return Step(kind, seconds=_number(value, f"{where}.wait"))
    if kind is StepKind.CONFIRM:
        return Step(kind, prompt=str(value))
    repeat = raw.get("repeat", 1)
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise InvalidInput(f"{where}.patrol: expected a list of place names", field=f"{where}.patrol")
    if isinstance(repeat, bool) or not isinstance(repeat, int) or repeat < 1:
        raise InvalidInput(f"{where}.repeat: expected a whole number >= 1, got {repeat!r}", field=f"{where}.repeat")
    return Step(kind, places=tuple(value), repeat=repeat)


def parse_steps(raw: Any, where: str = "spec.steps") -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"{where}: expected a non-empty list of steps", field=where)
    return [parse_step(item, f"{where}[{i}]") for i, item in enumerate(raw)]


def validate_steps(steps: list[Step], graph: NavGraph, where: str = "spec.steps") -> None:
    """Every place exists and every step kind can be carried out; errors name the step."""
    for i, step in enumerate(steps):
        at = f"{where}[{i}]"
        if step.kind not in EXECUTABLE:
            raise InvalidInput(f"{at}: {step.kind} steps are not supported yet", field=at)
        for name in (step.target, *step.places):
            if name is not None and name not in graph.places:
                raise InvalidInput(f"{at}: unknown place {name!r} in site {graph.site!r}", field=at)
        if step.kind is StepKind.DOCK and step.target and graph.places[step.target].kind != "charger":
            raise InvalidInput(f"{at}: dock target {step.target!r} is not a charger", field=at)


def first_target(steps: list[Step]) -> str | None:
    """The first place a mission drives to (used to estimate travel for allocation)."""
    for step in steps:
        if step.target is not None:
            return step.target
        if step.places:
            return step.places[0]
    return None


def expand(steps: list[Step]) -> list[Step]:
    """Patrols unrolled into go_to steps: what the executor runs, one entry per step record."""
    out: list[Step] = []
    for step in steps:
        if step.kind is StepKind.PATROL:
            out.extend(Step(StepKind.GO_TO, target=p) for _ in range(step.repeat) for p in step.places)
        else:
            out.append(step)
    return out
