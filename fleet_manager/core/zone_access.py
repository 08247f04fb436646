"""The zone check of a mission's steps, one for the API (MissionService) and for `labfleet mission validate
--site` (issue 17): no drive may end in a no-go zone, and each drive must have a way from the place before it that
avoids the no-go zones. Hours zones are not held against a mission: it may run when they open."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from fleet_manager.core.coverage import CoverageZone
from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.missions import Step
from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.zones import OperatingZones


def check_zone_access(steps: Sequence[Step], graph: NavGraph, zones: OperatingZones,
                      cleaning_zones: Mapping[str, CoverageZone], where: str) -> None:
    """InvalidInput naming the step (`where[i]`) whose place lies in a no-go zone, or that no route reaches
    from the place before it around the no-go zones."""
    if not zones.closed():
        return
    blocked = zones.blocked_lanes(graph)
    before: str | None = None
    for i, step in enumerate(steps):
        at = f"{where}[{i}]"
        entry = cleaning_zones[step.zone].entry if step.zone is not None and step.zone in cleaning_zones else None
        targets = [t for t in (step.target, entry, *step.places) if t is not None]
        if step.places and step.repeat > 1:
            targets.append(step.places[0])  # the patrol goes round again
        for name in targets:
            place = graph.places[name]
            zone = zones.forbidden_at(place.x, place.y)
            if zone is not None:
                raise InvalidInput(f"{at}: place {name!r} lies in {zones.describe(zone)}", field=at)
            cut = zones.cut(graph, before, [name], blocked=blocked) if before is not None else []
            if cut:
                raise InvalidInput(f"{at}: no route from {before!r} to {name!r} avoids "
                                   f"{', '.join(zones.describe(z) for z in cut)}", field=at)
            before = name
