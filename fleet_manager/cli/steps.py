"""A mission step as one line of `labfleet mission submit --wait` (and what to do when it waits for someone)."""

from __future__ import annotations

from typing import Any

from fleet_manager.i18n import Lang, t, term


def step_what(step: dict[str, Any]) -> str:
    """What the step does, in a few words: "go_to reception", "action pick", "wait 5 s", "confirm"."""
    kind = str(step.get("kind", "step"))
    if step.get("target"):
        return f"{kind} {step['target']}"
    if step.get("action"):
        return f"{kind} {step['action']}"
    if step.get("zone"):
        return f"{kind} {step['zone']}"
    if step.get("places"):
        return f"{kind} {' -> '.join(map(str, step['places']))}"
    if kind == "wait" and step.get("seconds") is not None:
        return f"wait {step['seconds']:g} s"
    return kind


def step_line(mission_id: int, step: dict[str, Any], lang: Lang = "en") -> str:
    """`  step 2 (confirm): AWAITING CONFIRMATION "Sign for the parcel" - confirm with: labfleet mission confirm 7`
    (in `lang`; the step's kind, place and message as they come)."""
    status = str(step.get("status", "pending"))
    line = t(lang, "cli.step", index=step["index"], what=step_what(step), status=term(lang, "cli.step_status", status))
    if status == "awaiting_confirmation":
        if step.get("prompt"):
            return t(lang, "cli.step_awaiting_prompt", line=line, prompt=step["prompt"], id=mission_id)
        return t(lang, "cli.step_awaiting", line=line, id=mission_id)
    if step.get("message") and status in ("failed", "retrying", "skipped"):
        line += f": {step['message']}"
    return line
