"""What a mission's events say, with a stable code (issue 18): each event stores its English `message` (for the API,
the CLI and the logs) and, when it is one of the texts below, its `code` and `params`, so that the console shows it
in the reader's language (web_console/src/locales/<lang>/events.json, key "events.<code>", the same {placeholders}).

A parameter may itself be a coded text (a step's failure reason): stored as {"code": ..., "params": ...} and shown
translated too. Reasons that reach the fleet manager as plain text (a robot agent's task result, an adapter's error)
are recognised by their wording (`reason`); those it does not know stay as they are, in English."""

from __future__ import annotations

from typing import Any

from fleet_manager.core.wording import pattern

ENGLISH: dict[str, str] = {
    # status changes
    "submitted": "submitted",
    "assigned": "assigned to {robot}",
    "assigned_charge": "assigned to {robot}: battery {battery}% below {threshold}%, charger {charger} reserved",
    "assigned_preempting": "assigned to {robot} (preempting mission {victim})",
    "assigned_making_way": "assigned to {robot}: making way for {other} at {place}",
    "underway": "underway",
    "completed": "completed",
    "paused_by_operator": "paused by operator",
    "resumed_by_operator": "resumed by operator",
    "canceled_by_operator": "canceled by operator",
    "preempted": "preempted by emergency mission {mission}",
    "requeued": "requeued: {reason}",
    "requeued_before_start": "requeued: the fleet manager restarted before the robot started",
    "silent_after_restart": "robot {robot} did not report after the fleet manager restarted",
    "resumed_after_restart": "resumed after the fleet manager restarted",
    "reconciled": "reconciled after restart: {robot} reports again; carrying on from step {step}",
    "mission_step_failed": "step {step} failed: {reason}",
    # holds (holds.py) and their release
    "held_estop": "held: robot {robot} is e-stopped; the mission carries on when its e-stop is released",
    "held_localisation": "held: robot {robot} lost its localisation (no map pose for 2 s); it carries on when the "
                         "localisation returns, or fails after {timeout} s",
    "held_robot_paused": "held: robot {robot} was paused (from its card or on the robot); the mission carries on "
                         "when the robot is resumed",
    "held_protective_stop": "held: the safety layer of robot {robot} has stopped it for more than {seconds} s "
                            "(it saw: {seen}); the mission carries on when its way is clear",
    "released_estop": "resumed: the e-stop of robot {robot} was released",
    "released_localisation": "resumed: robot {robot} is localised again",
    "released_robot_paused": "resumed: robot {robot} was resumed",
    "released_protective_stop": "resumed: the way of robot {robot} is clear again",
    # steps (service.update_step: "step {step} {status}[: {detail}]")
    "step_active": "step {step} active",
    "step_active_detail": "step {step} active: {detail}",
    "step_done": "step {step} done",
    "step_retrying_detail": "step {step} retrying: {detail}",
    "step_failed_detail": "step {step} failed: {detail}",
    "step_awaiting_confirmation": "step {step} awaiting_confirmation",
    "step_awaiting_confirmation_detail": "step {step} awaiting_confirmation: {detail}",
    "attempt": "attempt {attempt} of {attempts}",
    "step_confirmed": "step {step} confirmed",
    "step_confirmed_by": "step {step} confirmed by {by}",
    "step_estopped": "step {step} stopped by an e-stop of {robot}: it is carried out again, from where the robot "
                     "stands, once the e-stop is released",
    "step_unreachable": "step {step}: {error}; tried again until the robot is back (at most {timeout} s)",
    "step_replan_closed": "step {step}: a lane on the route was closed, or a robot stopped on it; planning the "
                          "route again",
    "step_replan_yield": "step {step}: standstill: giving way; planning the route again",
    "waiting_route": "waiting for a clear route to {goal}: {error}",
    "steps_aside": "{robot} steps aside to {spot} while it waits for its route",
    # failure reasons (a step's, a lost robot's)
    "reason_not_confirmed": "not confirmed within {seconds} s",
    "reason_blocked": "blocked by an obstacle for {seconds} s",
    "reason_way_not_clear": "the way ahead did not clear (waited {seconds} s, for {robots})",
    "reason_action_failed": "action {action} failed",
    "reason_robot_silent": "robot {robot} stopped reporting for {seconds} s",
    "reason_robot_unlocalised": "robot {robot} lost its localisation for more than {seconds} s",
    "reason_task_failed": "task failed",
}

# failure reasons that arrive as plain text (a robot agent's task result, RobotLost), recognised by their wording
# (their patterns are their English, so that the two cannot drift apart)
_REASON_SLOTS = {"seconds": r"[\d.]+", "robots": ".*", "robot": r"\S+", "action": r"\S+"}
_REASONS = tuple((pattern(ENGLISH[code], _REASON_SLOTS), code) for code in (
    "reason_not_confirmed", "reason_blocked", "reason_way_not_clear", "reason_action_failed", "reason_robot_silent",
    "reason_robot_unlocalised", "reason_task_failed"))


class Said:
    """One coded text: its code, its parameters, and its English (str())."""

    __slots__ = ("code", "params")

    def __init__(self, code: str, params: dict[str, Any]) -> None:
        if code not in ENGLISH:
            raise KeyError(f"no mission text {code!r}")
        self.code = code
        self.params = params

    def __str__(self) -> str:
        return ENGLISH[self.code].format_map({k: str(v) for k, v in self.params.items()})

    def __repr__(self) -> str:
        return f"Said({self.code!r}, {self.params!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Said) and (other.code, other.params) == (self.code, self.params)

    __hash__ = None  # type: ignore[assignment]

    def as_json(self) -> dict[str, Any]:
        """Its params as stored: a coded parameter as {"code", "params"}."""
        return {k: {"code": v.code, "params": v.as_json()} if isinstance(v, Said) else v
                for k, v in self.params.items()}


Message = str | Said  # what the mission service records: a coded text, or plain English (not translated)


def _plain(value: Any) -> Any:
    """A number as people read it and the console prints it (30.0 → 30, as "{:g}" would); text, coded text as is."""
    if isinstance(value, float):
        value = float(f"{value:g}")
        return int(value) if value.is_integer() else value
    return value


def say(code: str, **params: Any) -> Said:
    return Said(code, {k: _plain(v) for k, v in params.items()})


def reason(text: Message) -> Message:
    """A failure reason as a coded text when its wording is known; else as it is."""
    if isinstance(text, Said):
        return text
    for wording, code in _REASONS:
        match = wording.fullmatch(text)
        if match:
            return say(code, **{k: _number(v) for k, v in match.groupdict().items()})
    return text


def _number(value: str) -> Any:
    try:
        return _plain(float(value))
    except ValueError:
        return value


def coded(message: Message) -> tuple[str, str | None, dict[str, Any] | None]:
    """(English message, code, params) of what is recorded."""
    if isinstance(message, Said):
        return str(message), message.code, message.as_json()
    return message, None, None
