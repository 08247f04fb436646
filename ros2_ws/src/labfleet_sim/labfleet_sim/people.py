"""How a site's pedestrians behave in the built-in simulator: its `people.yaml` (beside world.sdf), pure Python.

By default the world's `<actor>`s walk their scripts and react to nothing, as in Gazebo. A site may make them
reactive (the social-force model of labfleet_sim.social: toward their waypoints, around walls, other people
and robots) and add crowds of people who walk between random places of given kinds of its navgraph:

    reactive: true              # the world's actors walk their waypoints with the social-force model
    distracted: [visitor_2]     # actors who do not give way to robots
    crowds:
      - name: lobby             # its people are lobby_1, lobby_2, ...
        people: 10              # at most this many at once (all there from the start)
        places: [room, dropoff] # navgraph place kinds (or place names) they walk between, along its lanes
        rate_per_hour: 120      # arrivals: each walks to one place and leaves; left out, people stay and walk on
        speed: [1.0, 1.4]       # m/s: each person's own walking speed, drawn from this range
        distracted: 0.1         # the share of them who do not give way to robots

Bad values are refused with the file, the field and the reason (PeopleConfigError).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

MAX_PEOPLE = 500  # per crowd: beyond this the simulator's step would no longer keep real time


class PeopleConfigError(ValueError):
    """people.yaml is unusable; the message names the file, the field and why."""


@dataclass(frozen=True)
class CrowdSpec:
    name: str
    people: int
    places: tuple[str, ...]
    rate_per_hour: float | None = None
    speed: tuple[float, float] = (1.0, 1.4)
    distracted: float = 0.0


@dataclass(frozen=True)
class PeopleSpec:
    reactive: bool = False
    distracted: frozenset[str] = frozenset()
    crowds: tuple[CrowdSpec, ...] = field(default_factory=tuple)

    @property
    def scripted_only(self) -> bool:
        """Nothing reacts: the world's actors walk their scripts (the Gazebo behaviour)."""
        return not self.reactive and not self.crowds


def _number(where: str, value: Any, *, low: float, high: float = math.inf, integer: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not isinstance(value, int)):
        raise PeopleConfigError(f"{where}: {value!r} is not {'a whole number' if integer else 'a number'}")
    if not low <= value <= high or math.isnan(value):
        span = f"from {low:g} to {high:g}" if high != math.inf else f"at least {low:g}"
        raise PeopleConfigError(f"{where}: {value!r} must be {span}")
    return float(value)


def _crowd(where: str, raw: Any, kinds: set[str] | None, names: set[str] | None, taken: set[str]) -> CrowdSpec:
    if not isinstance(raw, dict):
        raise PeopleConfigError(f"{where}: a crowd is a mapping (name, people, places, ...)")
    unknown = sorted(set(raw) - {"name", "people", "places", "rate_per_hour", "speed", "distracted"})
    if unknown:
        raise PeopleConfigError(f"{where}: unknown field {', '.join(unknown)}")
    name = raw.get("name")
    if not isinstance(name, str) or not name.isidentifier():
        raise PeopleConfigError(f"{where}.name: {name!r} is not a name (letters, digits, _)")
    if name in taken:
        raise PeopleConfigError(f"{where}.name: {name!r} is used twice")
    people = int(_number(f"{where}.people", raw.get("people"), low=1, high=MAX_PEOPLE, integer=True))
    places = raw.get("places")
    if isinstance(places, str):
        places = [places]
    if not isinstance(places, list) or not places or not all(isinstance(p, str) for p in places):
        raise PeopleConfigError(f"{where}.places: {places!r} is not a list of place kinds")
    if kinds is not None:
        missing = sorted(set(places) - kinds - (names or set()))
        if missing:
            raise PeopleConfigError(f"{where}.places: no place or place kind {', '.join(missing)} in the navgraph "
                                    f"(kinds: {', '.join(sorted(kinds)) or 'none'})")
    rate = raw.get("rate_per_hour")
    if rate is not None:
        rate = _number(f"{where}.rate_per_hour", rate, low=0.001)
    speed = raw.get("speed", [1.0, 1.4])
    if isinstance(speed, int | float) and not isinstance(speed, bool):
        speed = [speed, speed]
    if not isinstance(speed, list) or len(speed) != 2:
        raise PeopleConfigError(f"{where}.speed: {speed!r} is not a speed or a [low, high] range in m/s")
    low = _number(f"{where}.speed", speed[0], low=0.1, high=3.0)
    high = _number(f"{where}.speed", speed[1], low=low, high=3.0)
    distracted = _number(f"{where}.distracted", raw.get("distracted", 0.0), low=0.0, high=1.0)
    return CrowdSpec(name, people, tuple(places), rate, (low, high), distracted)


def parse_people(raw: Any, source: str, *, place_kinds: set[str] | None = None, place_names: set[str] | None = None,
                 actors: set[str] | None = None) -> PeopleSpec:
    """A PeopleSpec from people.yaml's content; the crowds' places (against the navgraph's `place_kinds` and
    `place_names`) and the distracted actors (against the world's `actors`) are checked when given."""
    if raw is None:
        return PeopleSpec()
    if not isinstance(raw, dict):
        raise PeopleConfigError(f"{source}: expected a mapping (reactive, distracted, crowds)")
    unknown = sorted(set(raw) - {"reactive", "distracted", "crowds"})
    if unknown:
        raise PeopleConfigError(f"{source}: unknown field {', '.join(unknown)}")
    reactive = raw.get("reactive", False)
    if not isinstance(reactive, bool):
        raise PeopleConfigError(f"{source}: reactive: {reactive!r} is not true or false")
    distracted = raw.get("distracted", [])
    if not isinstance(distracted, list) or not all(isinstance(n, str) for n in distracted):
        raise PeopleConfigError(f"{source}: distracted: {distracted!r} is not a list of actor names")
    if actors is not None and set(distracted) - actors:
        raise PeopleConfigError(f"{source}: distracted: no actor {', '.join(sorted(set(distracted) - actors))} "
                                f"in the world (actors: {', '.join(sorted(actors)) or 'none'})")
    crowds_raw = raw.get("crowds") or []
    if not isinstance(crowds_raw, list):
        raise PeopleConfigError(f"{source}: crowds: expected a list of crowds")
    crowds: list[CrowdSpec] = []
    for i, c in enumerate(crowds_raw):
        crowds.append(_crowd(f"{source}: crowds[{i}]", c, place_kinds, place_names, {k.name for k in crowds}))
    return PeopleSpec(reactive, frozenset(distracted), tuple(crowds))


def load_people(path: Path, *, place_kinds: set[str] | None = None, place_names: set[str] | None = None,
                actors: set[str] | None = None) -> PeopleSpec:
    """A site's people.yaml; the scripted default when the file is absent."""
    if not path.exists():
        return PeopleSpec()
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PeopleConfigError(f"{path}: not YAML: {exc}") from None
    return parse_people(raw, str(path), place_kinds=place_kinds, place_names=place_names, actors=actors)
