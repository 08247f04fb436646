"""Missions: the step language, the status state machine and mission specs (pure Python)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field, replace
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
    # underway/paused -> queued: requeued by policy (robot lost, preempted by an emergency mission)
    MissionStatus.UNDERWAY: frozenset(
        {MissionStatus.PAUSED, MissionStatus.COMPLETED, MissionStatus.FAILED, MissionStatus.CANCELED,
         MissionStatus.QUEUED}
    ),
    MissionStatus.PAUSED: frozenset(
        {MissionStatus.UNDERWAY, MissionStatus.CANCELED, MissionStatus.FAILED, MissionStatus.QUEUED}
    ),
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
    COVER = "cover"  # drive a back-and-forth coverage path over a zone of zones.yaml


PRIORITY_RANK = {Priority.EMERGENCY: 0, Priority.HIGH: 1, Priority.NORMAL: 2, Priority.LOW: 3}
MAX_RETRIES = 10


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
    zone: str | None = None  # cover
    spacing: float | None = None  # cover: metres between passes (default: the robot's width)
    timeout: float | None = None  # confirm: seconds to wait (None: until confirmed or canceled)
    retries: int = 0  # extra attempts when the step fails (not when the robot is lost)
    prompt_labels: dict[str, str] = field(default_factory=dict)  # confirm: the prompt in other languages (ko)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": str(self.kind)}
        if self.zone is not None:
            out["zone"] = self.zone
        if self.spacing is not None:
            out["spacing"] = self.spacing
        if self.timeout is not None:
            out["timeout"] = self.timeout
        if self.retries:
            out["retries"] = self.retries
        if self.target is not None:
            out["target"] = self.target
        if self.action is not None:
            out["action"] = self.action
            out["params"] = dict(self.params)
        if self.seconds is not None:
            out["seconds"] = self.seconds
        if self.prompt is not None:
            out["prompt"] = self.prompt
        if self.prompt_labels:
            out["prompt_labels"] = dict(self.prompt_labels)
        if self.places:
            out["places"] = list(self.places)
            out["repeat"] = self.repeat
        return out


def _number(value: Any, where: str, what: str = "a non-negative number of seconds") -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0 or value != value:
        raise InvalidInput(f"{where}: expected {what}, got {value!r}", field=where)
    return float(value)


def _whole(value: Any, where: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{where}: expected a whole number from {low} to {high}, got {value!r}", field=where)
    return value


_EXTRA_KEYS = {
    StepKind.ACTION: {"params"},
    StepKind.PATROL: {"repeat"},
    StepKind.COVER: {"spacing"},
    StepKind.CONFIRM: {"timeout"},
}


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
    step = _parse_kind(kind, raw[kind], raw, where)
    extra = set(raw) - {kind, "retries"} - _EXTRA_KEYS.get(kind, set())
    if extra:
        raise InvalidInput(f"{where}: unknown key(s) {sorted(extra)} in a {kind} step", field=where)
    if "retries" in raw:
        return replace(step, retries=_whole(raw["retries"], f"{where}.retries", 0, MAX_RETRIES))
    return step


def _parse_kind(kind: StepKind, value: Any, raw: dict[str, Any], where: str) -> Step:
    if kind in (StepKind.GO_TO, StepKind.DOCK, StepKind.COVER):
        what = "a zone name" if kind is StepKind.COVER else "a place name"
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{where}.{kind}: expected {what}, got {value!r}", field=f"{where}.{kind}")
        if kind is StepKind.COVER:
            spacing = raw.get("spacing")
            if spacing is not None:
                spacing = _number(spacing, f"{where}.spacing", "a positive number of metres")
                if not 0.1 <= spacing <= 10:
                    raise InvalidInput(f"{where}.spacing: expected 0.1 to 10 metres, got {spacing}",
                                       field=f"{where}.spacing")
            return Step(kind, zone=value, spacing=spacing)
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
        if not isinstance(value, str) or not value:
            raise InvalidInput(f"{where}.confirm: expected a prompt text, got {value!r}", field=f"{where}.confirm")
        timeout = raw.get("timeout")
        if timeout is not None:
            timeout = _number(timeout, f"{where}.timeout")
        return Step(kind, prompt=value, timeout=timeout)
    if not isinstance(value, list) or not value or not all(isinstance(p, str) for p in value):
        raise InvalidInput(f"{where}.patrol: expected a list of place names", field=f"{where}.patrol")
    return Step(kind, places=tuple(value), repeat=_whole(raw.get("repeat", 1), f"{where}.repeat", 1, 1000))


def parse_steps(raw: Any, where: str = "spec.steps") -> list[Step]:
    if not isinstance(raw, list) or not raw:
        raise InvalidInput(f"{where}: expected a non-empty list of steps", field=where)
    return [parse_step(item, f"{where}[{i}]") for i, item in enumerate(raw)]


def validate_steps(
    steps: list[Step], graph: NavGraph, where: str = "spec.steps", zones: Collection[str] | None = None
) -> None:
    """Every place and zone exists; errors name the step."""
    for i, step in enumerate(steps):
        at = f"{where}[{i}]"
        if step.zone is not None and zones is not None and step.zone not in zones:
            raise InvalidInput(f"{at}.cover: unknown zone {step.zone!r} in site {graph.site!r} (zones with "
                               f"kind cleaning: {sorted(zones)})", field=f"{at}.cover")
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
            out.extend(Step(StepKind.GO_TO, target=p, retries=step.retries)
                       for _ in range(step.repeat) for p in step.places)
        else:
            out.append(step)
    return out
