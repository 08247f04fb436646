"""Reading a text back into its parameters: the English of a coded text ("robot {robot} is offline") as a regular
expression whose named groups are its {slots}, for texts stored or received only as English (an alert's message,
a robot agent's failure reason) that a client shows in its own language (issue 18)."""

from __future__ import annotations

import re
from collections.abc import Mapping

SLOT = re.compile(r"\{(\w+)\}")
WORD = r"\S+?"  # a slot's value by default: one word


def pattern(english: str, slots: Mapping[str, str] | None = None, flags: int = 0) -> re.Pattern[str]:
    """`english` with each {slot} a named group matching `slots[slot]` (a regular expression; WORD when it is not
    given) and everything else literal: use with fullmatch."""
    parts = SLOT.split(english)  # literal, name, literal, name, ..., literal
    return re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{(slots or {}).get(part, WORD)})"
                              for i, part in enumerate(parts)), flags)
