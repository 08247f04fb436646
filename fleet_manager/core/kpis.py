"""Pilot KPIs: the arithmetic over mission runs, interventions, incidents and robot time (pure Python).

Callers pass the records of one reporting window; times are sim seconds, distances metres, energy Wh.
Every ratio is None when its denominator is zero, never a ZeroDivisionError. docs/kpis.md has the table.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from fleet_manager.core.missions import MissionStatus

SEVERITIES = ("SEV0", "SEV1", "SEV2", "SEV3")
INTERVENTION_KINDS = frozenset({"remote_assist", "teleoperation", "on_site"})
P95 = 0.95
PROTECTIVE_STOP_KIND = "protective_stop"  # incident kinds counted by name (pilots.schemas.IncidentKind)
NEAR_MISS_KIND = "near_miss"


@dataclass(frozen=True)
class MissionRun:
    """One mission as run by one robot. `distance_m` is all it drove, under intervention or not. A `move_aside`
    run (the dispatcher sent the robot out of another's way) is no mission of the KPIs: it counts in the robots'
    distance, operating time and energy only."""

    id: str
    robot_id: str
    status: str  # a MissionStatus value; only completed, failed and canceled are outcomes
    started_at: float | None = None  # None: never started
    finished_at: float | None = None  # None: still running
    distance_m: float = 0.0
    energy_wh: float = 0.0
    move_aside: bool = False

    def __post_init__(self) -> None:
        if self.started_at is not None and self.finished_at is not None and self.finished_at < self.started_at:
            raise ValueError(f"mission run {self.id}: finished_at is before started_at")

    def duration_s(self, now: float) -> float:
        """Time from start to finish (to `now` while running); 0 when it never started."""
        if self.started_at is None:
            return 0.0
        end = self.finished_at if self.finished_at is not None else now
        return max(0.0, end - self.started_at)


@dataclass(frozen=True)
class Intervention:
    """A human taking over a robot: from `start` to `end` (None: still open), driving `distance_m`."""

    id: str
    robot_id: str
    kind: str  # remote_assist | teleoperation | on_site
    start: float
    end: float | None = None
    mission_id: str | None = None
    distance_m: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in INTERVENTION_KINDS:
            raise ValueError(f"intervention {self.id}: unknown kind {self.kind!r}")
        if self.end is not None and self.end < self.start:
            raise ValueError(f"intervention {self.id}: end is before start")

    def duration_s(self, now: float) -> float:
        """Its length; an open intervention counts up to `now`."""
        end = self.end if self.end is not None else now
        return max(0.0, end - self.start)


@dataclass(frozen=True)
class Incident:
    """A safety or service incident of severity SEV0 (worst) to SEV3."""

    id: str
    severity: str
    kind: str
    robot_id: str
    at: float
    mission_id: str | None = None

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"incident {self.id}: unknown severity {self.severity!r}")


@dataclass(frozen=True)
class RobotTime:
    """A robot's time in the window: enrolled (`period_s`) and of that, available (`available_s`)."""

    robot_id: str
    period_s: float
    available_s: float


@dataclass(frozen=True)
class KpiReport:
    """The KPIs of one window. A field that is None had a zero denominator."""

    missions_total: int
    missions_completed: int
    missions_failed: int
    missions_canceled: int
    success_rate: float | None  # completed / (completed + failed + canceled)
    mean_duration_s: float | None  # completed runs only
    p95_duration_s: float | None  # completed runs only, nearest rank
    distance_km: float
    operating_h: float  # sum of run durations
    interventions: int
    intervention_h: float
    autonomy_by_time: float | None
    autonomy_by_distance: float | None
    mdbi_km: float | None  # mean distance between interventions
    mtbi_h: float | None  # mean time between interventions
    incidents: dict[str, int]  # count by severity, every severity present
    incidents_per_100km: dict[str, float] | None
    energy_wh_per_km: float | None
    availability: float | None
    public_interactions: int
    protective_stops: int = 0  # incidents of kind protective_stop (the agents' safety layers)
    protective_stops_per_km: float | None = None
    near_misses: int = 0  # incidents of kind near_miss
    near_misses_per_km: float | None = None
    energy_kwh: float = 0.0  # Σ energy_wh / 1000
    co2_kg: float | None = None  # energy_kwh times the grid's factor (None: the site gives no factor)
    co2_g_per_km: float | None = None
    reference_co2_kg: float | None = None  # the reference vehicle over the same distance
    co2_avoided_kg: float | None = None  # reference_co2_kg - co2_kg


@dataclass(frozen=True)
class EmissionFactors:
    """The site's (site.yaml `carbon`): kg CO₂e per kWh from the grid; g CO₂ per km of the reference vehicle."""

    grid_kg_per_kwh: float
    reference_g_per_km: float | None = None


def ratio(numerator: float, denominator: float) -> float | None:
    """numerator / denominator, or None when the denominator is zero."""
    return numerator / denominator if denominator else None


def _clip(value: float | None) -> float | None:
    return None if value is None else min(1.0, max(0.0, value))


def nearest_rank(values: Sequence[float], q: float) -> float | None:
    """The q-quantile by the nearest-rank method: the ceil(q * n)-th smallest value; None when empty."""
    if not values:
        return None
    if not 0 < q <= 1:
        raise ValueError("q must be in (0, 1]")
    rank = math.ceil(q * len(values))
    return sorted(values)[rank - 1]


def compute_kpis(
    runs: Sequence[MissionRun],
    interventions: Sequence[Intervention] = (),
    incidents: Sequence[Incident] = (),
    robot_times: Sequence[RobotTime] = (),
    public_interactions: int = 0,
    *,
    now: float,
    factors: EmissionFactors | None = None,
) -> KpiReport:
    """The KPIs over one window's records. Running missions and open interventions count up to `now`.

    `public_interactions` is the number of announce/handover actions guide robots performed; `factors` the
    site's emission factors (without them the CO₂ KPIs are None).
    """
    if public_interactions < 0:
        raise ValueError("public_interactions must not be negative")
    missions = [r for r in runs if not r.move_aside]  # move-asides: distance, time and energy only
    by_status = {s: sum(1 for r in missions if r.status == s) for s in MissionStatus}
    completed = by_status[MissionStatus.COMPLETED]
    failed = by_status[MissionStatus.FAILED]
    canceled = by_status[MissionStatus.CANCELED]
    durations = [r.duration_s(now) for r in missions
                 if r.status == MissionStatus.COMPLETED and r.started_at is not None and r.finished_at is not None]

    distance_m = sum(r.distance_m for r in runs)
    distance_km = distance_m / 1000
    operating_s = sum(r.duration_s(now) for r in runs)
    intervention_s = sum(i.duration_s(now) for i in interventions)
    intervention_m = sum(i.distance_m for i in interventions)
    n_interventions = len(interventions)

    counts = {s: sum(1 for i in incidents if i.severity == s) for s in SEVERITIES}
    per_100km = {s: n / (distance_km / 100) for s, n in counts.items()} if distance_km else None

    protective = sum(1 for i in incidents if i.kind == PROTECTIVE_STOP_KIND)
    near = sum(1 for i in incidents if i.kind == NEAR_MISS_KIND)
    time_share = ratio(intervention_s, operating_s)
    distance_share = ratio(intervention_m, distance_m)
    mtbi_s = ratio(operating_s, n_interventions)
    energy_kwh = sum(r.energy_wh for r in runs) / 1000
    co2_kg = None if factors is None else energy_kwh * factors.grid_kg_per_kwh
    reference = None if factors is None or factors.reference_g_per_km is None \
        else distance_km * factors.reference_g_per_km / 1000
    return KpiReport(
        missions_total=len(missions),
        missions_completed=completed,
        missions_failed=failed,
        missions_canceled=canceled,
        success_rate=ratio(completed, completed + failed + canceled),
        mean_duration_s=ratio(sum(durations), len(durations)),
        p95_duration_s=nearest_rank(durations, P95),
        distance_km=distance_km,
        operating_h=operating_s / 3600,
        interventions=n_interventions,
        intervention_h=intervention_s / 3600,
        autonomy_by_time=_clip(None if time_share is None else 1 - time_share),
        autonomy_by_distance=_clip(None if distance_share is None else 1 - distance_share),
        mdbi_km=ratio(distance_km, n_interventions),
        mtbi_h=None if mtbi_s is None else mtbi_s / 3600,
        incidents=counts,
        incidents_per_100km=per_100km,
        energy_wh_per_km=ratio(sum(r.energy_wh for r in runs), distance_km),
        availability=ratio(sum(t.available_s for t in robot_times), sum(t.period_s for t in robot_times)),
        public_interactions=public_interactions,
        protective_stops=protective,
        protective_stops_per_km=ratio(protective, distance_km),
        near_misses=near,
        near_misses_per_km=ratio(near, distance_km),
        energy_kwh=energy_kwh,
        co2_kg=co2_kg,
        co2_g_per_km=None if co2_kg is None else ratio(co2_kg * 1000, distance_km),
        reference_co2_kg=reference,
        co2_avoided_kg=None if reference is None or co2_kg is None else reference - co2_kg,
    )


class Direction(StrEnum):
    HIGHER = "higher"  # the KPI meets a target when it is at least the target
    LOWER = "lower"  # ... when it is at most the target


# The KPIs a pilot can set a target on. Incident rates are named `incidents_per_100km.SEV0` etc.
DIRECTIONS: dict[str, Direction] = {
    "missions_completed": Direction.HIGHER,
    "success_rate": Direction.HIGHER,
    "mean_duration_s": Direction.LOWER,
    "p95_duration_s": Direction.LOWER,
    "distance_km": Direction.HIGHER,
    "operating_h": Direction.HIGHER,
    "autonomy_by_time": Direction.HIGHER,
    "autonomy_by_distance": Direction.HIGHER,
    "mdbi_km": Direction.HIGHER,
    "mtbi_h": Direction.HIGHER,
    **{f"incidents_per_100km.{s}": Direction.LOWER for s in SEVERITIES},
    "energy_wh_per_km": Direction.LOWER,
    "availability": Direction.HIGHER,
    "public_interactions": Direction.HIGHER,
    "protective_stops_per_km": Direction.LOWER,
    "near_misses_per_km": Direction.LOWER,
    "energy_kwh": Direction.LOWER,
    "co2_kg": Direction.LOWER,
    "co2_g_per_km": Direction.LOWER,
    "co2_avoided_kg": Direction.HIGHER,
}


@dataclass(frozen=True)
class TargetCheck:
    """One KPI against its target. `met` is None when the KPI could not be computed (value None)."""

    kpi: str
    target: float
    value: float | None
    direction: Direction
    met: bool | None


def kpi_value(report: KpiReport, name: str) -> float | None:
    """The value of the KPI `name` of DIRECTIONS; ValueError naming it when it is not one."""
    if name not in DIRECTIONS:
        raise ValueError(f"unknown KPI {name!r} (known: {', '.join(DIRECTIONS)})")
    field, _, severity = name.partition(".")
    if severity:
        rates = report.incidents_per_100km
        return None if rates is None else rates[severity]
    value = getattr(report, field)
    return None if value is None else float(value)


def kpis_against_targets(report: KpiReport, targets: Mapping[str, float]) -> list[TargetCheck]:
    """Check each target, in the order given, in the direction DIRECTIONS sets for its KPI."""
    checks = []
    for name, target in targets.items():
        value = kpi_value(report, name)
        direction = DIRECTIONS[name]
        if value is None:
            met = None
        elif direction is Direction.HIGHER:
            met = value >= target
        else:
            met = value <= target
        checks.append(TargetCheck(name, target, value, direction, met))
    return checks
