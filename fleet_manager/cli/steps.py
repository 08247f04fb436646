"""A mission step as one line of `labfleet mission submit --wait` (and what to do when it waits for someone)."""

from __future__ import annotations

from typing import Any

_STATUS = {"pending": "pending", "active": "under way", "retrying": "retrying", "done": "done", "failed": "failed",
           "skipped": "skipped", "awaiting_confirmation": "AWAITING CONFIRMATION"}


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


def step_line(mission_id: int, step: dict[str, Any]) -> str:
    """`  step 2 (confirm): AWAITING CONFIRMATION "Sign for the parcel" - labfleet mission confirm 7`."""
    status = str(step.get("status", "pending"))
    line = f"  step {step['index']} ({step_what(step)}): {_STATUS.get(status, status)}"
    if status == "awaiting_confirmation":
        prompt = f' "{step["prompt"]}"' if step.get("prompt") else ""
        return f"{line}{prompt} - confirm with: labfleet mission confirm {mission_id}"
    if step.get("message") and status in ("failed", "retrying", "skipped"):
        line += f": {step['message']}"
    return line
