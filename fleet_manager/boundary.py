"""Strict types at the API boundary (issue 19): where a number, a count or a time is asked for, what pydantic's lax
mode would coerce is refused with a message naming what was expected. `true` is not the number 1, `0` is not
1970-01-01, and `until=0.5` is not a time.

- `Number`: an int or a float (JSON has no other numbers); never a bool or a string.
- `Count`: an int; never a bool, a float or a string (a path or query value is validated by FastAPI from its
  text, so this is for bodies).
- `IsoDatetime`: an ISO 8601 date-time string (`2026-03-01T09:00:00+09:00`; naive is UTC where the route says
  so); never a number, nor a string holding one (pydantic would read it as seconds since 1970).
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import BeforeValidator, Strict

_NUMERIC = re.compile(r"^\s*[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?\s*$")


def _iso_only(value: Any) -> Any:
    if isinstance(value, bool | int | float) or (isinstance(value, str) and _NUMERIC.match(value)):
        raise ValueError(f"an ISO 8601 date-time such as 2026-03-01T09:00:00+09:00 is needed, not the number {value!r}")
    return value


Number = Annotated[float, Strict()]
Count = Annotated[int, Strict()]
IsoDatetime = Annotated[datetime, BeforeValidator(_iso_only)]
