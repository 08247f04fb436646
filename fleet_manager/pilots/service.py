"""Pilot use cases: pilots (and each site's default one), interventions, incidents, and a pilot's KPIs.

Functions take the caller's session and commit it. The automatic ones (`open_automatic`, `close_open`,
`record_automatic`) are for the mission, robot and simulator side; the others back the HTTP endpoints.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from fleet_manager.core import kpis
from fleet_manager.core.errors import Conflict, InvalidInput
from fleet_manager.core.missions import MissionStatus, StepKind
from fleet_manager.db.tables import Incident, Intervention, Mission, Pilot, utcnow
from fleet_manager.missions.schemas import as_utc
from fleet_manager.pilots import repository
from fleet_manager.pilots.schemas import (
    IncidentCreate,
    IncidentKind,
    IncidentPublic,
    InterventionCreate,
    InterventionEnd,
    InterventionKind,
    InterventionPublic,
    PilotCreate,
    PilotKpis,
    PilotPublic,
    PilotUpdate,
    PlaceIn,
    Severity,
    Source,
)
from fleet_manager.sites.profile import Carbon, SiteProfileError, load_site_profile
from fleet_manager.sites.service import SiteCatalog

DEFAULT_PERIOD = timedelta(days=365)  # a default pilot runs a year from its creation (PATCH to change)
PUBLIC_ACTIONS = frozenset({"announce", "handover"})  # the actions counted as public interactions
_STARTED = frozenset({MissionStatus.UNDERWAY, MissionStatus.PAUSED, MissionStatus.COMPLETED, MissionStatus.FAILED,
                      MissionStatus.CANCELED})  # queued and assigned missions are not running (again) yet


def _utc(value: datetime) -> datetime:
    """In UTC: naive means UTC; SQLite keeps no offset, so an aware time is converted before it is stored."""
    return as_utc(value).astimezone(UTC)


def default_pilot_id(site: str) -> str:
    """The default pilot's id is fixed per site, so two first requests cannot create two of them."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"labfleet:pilot:default:{site}"))


# -- pilots -------------------------------------------------------------------------------------
def _check_pilot(sites: SiteCatalog, site: str, robots: Sequence[str], start: datetime, end: datetime,
                 targets: dict[str, float]) -> None:
    sites.require_served(site)  # an unknown site, or another lab's
    fleet = sites.robot_ids(site)
    for i, robot_id in enumerate(robots):
        if robot_id not in fleet:
            raise InvalidInput(f"unknown robot {robot_id!r}: not in the fleet of site {site!r}", field=f"robots[{i}]")
        if robot_id in robots[:i]:
            raise InvalidInput(f"robot {robot_id!r} is enrolled twice", field=f"robots[{i}]")
    if end <= start:
        raise InvalidInput(f"period_end {end.isoformat()} must be after period_start {start.isoformat()}",
                           field="period_end")
    for name, value in targets.items():
        if name not in kpis.DIRECTIONS:
            raise InvalidInput(f"unknown KPI {name!r} (known: {', '.join(kpis.DIRECTIONS)})", field=f"targets.{name}")
        if not math.isfinite(value):
            raise InvalidInput(f"target of {name!r} must be a finite number", field=f"targets.{name}")


def create_pilot(session: Session, sites: SiteCatalog, body: PilotCreate) -> PilotPublic:
    start, end = _utc(body.period_start), _utc(body.period_end)
    _check_pilot(sites, body.site, body.robots, start, end, body.targets)
    row = Pilot(id=str(uuid.uuid4()), site=body.site, name=body.name, description=body.description,
                period_start=start, period_end=end, robots=list(body.robots), targets=dict(body.targets),
                created_at=utcnow())
    session.add(row)
    session.commit()
    session.refresh(row)
    return PilotPublic.of(row)


def _default_row(session: Session, sites: SiteCatalog, site: str) -> Pilot:
    sites.require_served(site)
    pilot_id = default_pilot_id(site)
    row = session.get(Pilot, pilot_id)
    if row is not None:
        return row
    now = utcnow()
    row = Pilot(id=pilot_id, site=site, name=f"{site} default", period_start=now, period_end=now + DEFAULT_PERIOD,
                description="The site's missions that name no pilot, and the records of no other pilot.",
                robots=sites.robot_ids(site), is_default=True, created_at=now)
    session.add(row)
    try:
        session.commit()
    except IntegrityError:  # created meanwhile by another request
        session.rollback()
        return repository.get_pilot(session, pilot_id)
    session.refresh(row)
    return row


def default_pilot(session: Session, sites: SiteCatalog, site: str) -> PilotPublic:
    """The site's default pilot, created the first time it is needed."""
    return PilotPublic.of(_default_row(session, sites, site))


def list_pilots(session: Session, sites: SiteCatalog, site: str | None = None) -> list[PilotPublic]:
    """The pilots of the lab's site (those of another site are never listed: db/scope.py); its default pilot
    exists. `site`: a known site, else InvalidInput."""
    if site is not None:
        sites.require(site)
    _default_row(session, sites, sites.active)
    return [PilotPublic.of(row) for row in repository.pilots(session, site)]


def get_pilot(session: Session, pilot_id: str) -> PilotPublic:
    return PilotPublic.of(repository.get_pilot(session, pilot_id))


def update_pilot(session: Session, sites: SiteCatalog, pilot_id: str, body: PilotUpdate) -> PilotPublic:
    row = repository.get_pilot(session, pilot_id)
    changes = body.model_dump(exclude_unset=True)
    for key, value in changes.items():
        if value is None:
            raise InvalidInput(f"{key} cannot be null", field=key)
    start = _utc(changes.get("period_start", row.period_start))
    end = _utc(changes.get("period_end", row.period_end))
    _check_pilot(sites, row.site, changes.get("robots", row.robots), start, end, changes.get("targets", row.targets))
    for key, value in changes.items():
        setattr(row, key, value)
    row.period_start, row.period_end = start, end
    session.add(row)
    session.commit()
    session.refresh(row)
    return PilotPublic.of(row)


# -- which pilot a record belongs to ------------------------------------------------------------
def _mission(session: Session, mission_id: int | None) -> Mission | None:
    if mission_id is None:
        return None
    row = repository.mission(session, mission_id)
    if row is None:
        raise InvalidInput(f"unknown mission {mission_id}", field="mission_id")
    return row


def _pilot_for(session: Session, sites: SiteCatalog, robot_id: str, pilot_id: str | None,
               mission: Mission | None) -> Pilot:
    """The pilot named, else the mission's pilot, else the default pilot of the mission's (or the active) site."""
    pilot = None
    if pilot_id is not None:
        pilot = session.get(Pilot, pilot_id)
        if pilot is None:
            raise InvalidInput(f"unknown pilot {pilot_id!r}", field="pilot_id")
    elif mission is not None and mission.pilot_id is not None:
        pilot = session.get(Pilot, mission.pilot_id)  # None: the mission names a pilot that does not exist
    if pilot is None:
        pilot = _default_row(session, sites, mission.site if mission is not None else sites.active)
    if robot_id not in sites.robot_ids(pilot.site):
        raise InvalidInput(f"unknown robot {robot_id!r}: not in the fleet of site {pilot.site!r}", field="robot_id")
    return pilot


# -- interventions ------------------------------------------------------------------------------
def _insert_open(session: Session, row: Intervention) -> bool:
    """Store a new open intervention; False when the robot has one open (a unique index guards it)."""
    session.add(row)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    session.refresh(row)
    return True


def _new_intervention(session: Session, sites: SiteCatalog, body: InterventionCreate, source: Source,
                      sim_time: float | None) -> Intervention:
    pilot = _pilot_for(session, sites, body.robot_id, body.pilot_id, _mission(session, body.mission_id))
    return Intervention(id=str(uuid.uuid4()), pilot_id=pilot.id, robot_id=body.robot_id, mission_id=body.mission_id,
                        kind=body.kind, source=source, reason=body.reason, started_at=utcnow(),
                        sim_started_at=sim_time)


def _already_open(existing: Intervention) -> Conflict:
    return Conflict(f"robot {existing.robot_id!r} is already under intervention {existing.id} "
                    f"({existing.kind}, since {as_utc(existing.started_at).isoformat()}); end it first",
                    field="robot_id")


def open_intervention(session: Session, sites: SiteCatalog, body: InterventionCreate,
                      sim_time: float | None = None) -> InterventionPublic:
    """An operator takes over a robot now. A robot has at most one open intervention: 409 otherwise."""
    existing = repository.open_intervention(session, body.robot_id)
    if existing is not None:
        raise _already_open(existing)
    row = _new_intervention(session, sites, body, Source.OPERATOR, sim_time)
    if not _insert_open(session, row):
        existing = repository.open_intervention(session, body.robot_id)
        raise _already_open(existing) if existing is not None else Conflict("try again", field="robot_id")
    return InterventionPublic.of(row)


def open_automatic(
    session: Session, sites: SiteCatalog, robot_id: str, kind: InterventionKind | str, reason: str, *,
    mission_id: int | None = None, pilot_id: str | None = None, sim_time: float | None = None,
) -> InterventionPublic:
    """Open an automatic intervention, unless the robot has one open (of any source): that one is returned.

    Returns the robot's open intervention; compare its `source`/`id` to tell whether this call opened it."""
    existing = repository.open_intervention(session, robot_id)
    if existing is not None:
        return InterventionPublic.of(existing)
    body = InterventionCreate(kind=InterventionKind(kind), robot_id=robot_id, mission_id=mission_id,
                              pilot_id=pilot_id, reason=reason)
    row = _new_intervention(session, sites, body, Source.AUTOMATIC, sim_time)
    if _insert_open(session, row):
        return InterventionPublic.of(row)
    existing = repository.open_intervention(session, robot_id)  # opened meanwhile by another writer
    if existing is None:
        raise Conflict(f"could not open an intervention for robot {robot_id!r}; try again", field="robot_id")
    return InterventionPublic.of(existing)


def _end(session: Session, row: Intervention, sim_time: float | None, distance_m: float | None) -> InterventionPublic:
    row.ended_at = utcnow()
    row.sim_ended_at = sim_time
    if distance_m is not None:
        row.distance_m = distance_m
    session.add(row)
    session.commit()
    session.refresh(row)
    return InterventionPublic.of(row)


def end_intervention(session: Session, intervention_id: str, body: InterventionEnd,
                     sim_time: float | None = None) -> InterventionPublic:
    """End an intervention now. Ending one that has ended changes nothing and returns it (like cancel)."""
    row = repository.get_intervention(session, intervention_id)
    if row.ended_at is not None:
        return InterventionPublic.of(row)
    return _end(session, row, sim_time, body.distance_m)


def close_open(
    session: Session, robot_id: str, *, sim_time: float | None = None, distance_m: float | None = None,
    source: Source | None = Source.AUTOMATIC, kinds: Collection[str] | None = None,
) -> InterventionPublic | None:
    """End the robot's open intervention if it has one of `source` (None: any source) and of one of
    `kinds` (None: any kind); None when not."""
    row = repository.open_intervention(session, robot_id)
    if row is None or (source is not None and row.source != source) or (kinds is not None and row.kind not in kinds):
        return None
    return _end(session, row, sim_time, distance_m)


def list_interventions(
    session: Session, *, pilot_id: str | None = None, robot_id: str | None = None, is_open: bool | None = None,
    limit: int = 100, offset: int = 0,
) -> list[InterventionPublic]:
    rows = repository.interventions(session, pilot_id=pilot_id, robot_id=robot_id, is_open=is_open, limit=limit,
                                    offset=offset)
    return [InterventionPublic.of(r) for r in rows]


# -- incidents ----------------------------------------------------------------------------------
def _record(session: Session, sites: SiteCatalog, body: IncidentCreate, source: Source,
            sim_now: float | None) -> IncidentPublic:
    pilot = _pilot_for(session, sites, body.robot_id, body.pilot_id, _mission(session, body.mission_id))
    # an incident reported for an earlier time gets no sim time unless one is given
    sim_time = body.sim_time if body.sim_time is not None or body.time is not None else sim_now
    row = Incident(id=str(uuid.uuid4()), pilot_id=pilot.id, robot_id=body.robot_id, mission_id=body.mission_id,
                   severity=body.severity, kind=body.kind, source=source,
                   time=_utc(body.time) if body.time is not None else utcnow(), sim_time=sim_time,
                   x=body.place.x, y=body.place.y, place=body.place.name, description=body.description,
                   evidence=list(body.evidence))
    session.add(row)
    session.commit()
    session.refresh(row)
    return IncidentPublic.of(row)


def create_incident(session: Session, sites: SiteCatalog, body: IncidentCreate,
                    sim_now: float | None = None) -> IncidentPublic:
    """An incident an operator reports."""
    return _record(session, sites, body, Source.OPERATOR, sim_now)


def record_automatic(
    session: Session, sites: SiteCatalog, robot_id: str, severity: Severity | str, kind: IncidentKind | str, *,
    x: float, y: float, place: str | None = None, description: str = "",
    evidence: Sequence[dict[str, Any]] = (), mission_id: int | None = None, pilot_id: str | None = None,
    sim_time: float | None = None,
) -> IncidentPublic:
    """An incident the simulator or a robot agent detected (collision, e-stop, ...), stamped now."""
    body = IncidentCreate(severity=Severity(severity), kind=IncidentKind(kind), robot_id=robot_id,
                          mission_id=mission_id, pilot_id=pilot_id, place=PlaceIn(x=x, y=y, name=place),
                          description=description, evidence=list(evidence))
    return _record(session, sites, body, Source.AUTOMATIC, sim_time)


def get_incident(session: Session, incident_id: str) -> IncidentPublic:
    return IncidentPublic.of(repository.get_incident(session, incident_id))


def list_incidents(
    session: Session, *, pilot_id: str | None = None, severity: Severity | None = None,
    kind: IncidentKind | None = None, limit: int = 100, offset: int = 0,
) -> list[IncidentPublic]:
    rows = repository.incidents(session, pilot_id=pilot_id, severity=severity, kind=kind, limit=limit, offset=offset)
    return [IncidentPublic.of(r) for r in rows]


# -- KPIs ---------------------------------------------------------------------------------------
def _epoch(value: datetime | None) -> float | None:
    return None if value is None else as_utc(value).timestamp()


def _span(start: float | None, end: float | None) -> tuple[float | None, float | None]:
    """A start and end, the end never before the start (clocks of different runs are not compared)."""
    if start is not None and end is not None and end < start:
        end = start
    return start, end


def _sim_complete(missions: Sequence[Mission], interventions: Sequence[Intervention]) -> bool:
    """True when every run and intervention has consistent sim stamps, so the KPIs can use sim time alone."""
    for m in missions:
        if m.status not in _STARTED or m.started_at is None:
            continue
        if m.sim_started_at is None:
            return False
        if MissionStatus(m.status).terminal and (m.sim_ended_at is None or m.sim_ended_at < m.sim_started_at):
            return False
    for i in interventions:
        if i.sim_started_at is None:
            return False
        if i.ended_at is not None and (i.sim_ended_at is None or i.sim_ended_at < i.sim_started_at):
            return False
    return True


def mission_run(m: Mission, sim: bool) -> kpis.MissionRun:
    start, end = _span(m.sim_started_at, m.sim_ended_at) if sim else _span(_epoch(m.started_at), _epoch(m.ended_at))
    if m.status not in _STARTED:
        start = end = None
    return kpis.MissionRun(id=str(m.id), robot_id=m.robot_id or "", status=m.status, started_at=start,
                           finished_at=end, distance_m=m.distance_m or 0.0, energy_wh=m.energy_wh or 0.0,
                           move_aside=m.move_aside)


def _public_interactions(missions: Sequence[Mission]) -> int:
    return sum(1 for m in missions for s in m.steps
               if s.get("kind") == StepKind.ACTION and s.get("action") in PUBLIC_ACTIONS and s.get("status") == "done")


def site_carbon(sites_dir: Path | None, site: str, notes: list[str] | None = None) -> Carbon | None:
    """The site's emission factors (its site.yaml under `sites_dir`), None without them or with a bad file; with
    `notes`, a note saying which factors are used, or why there are none."""
    say = notes.append if notes is not None else (lambda _: None)
    if sites_dir is None:
        return None
    try:
        carbon = load_site_profile(sites_dir / site).carbon
    except SiteProfileError as exc:
        say(f"co2: {exc}; the CO2 figures are not computed")
        return None
    if carbon is None:
        say(f"co2: site {site} gives no grid emission factor (site.yaml: carbon); the CO2 figures are None")
        return None
    say(f"co2: {carbon.grid_kg_per_kwh:g} kg CO2e/kWh ({carbon.grid_source}, {carbon.grid_year})"
        + (f"; reference: {carbon.reference_vehicle or 'a vehicle'} at {carbon.reference_g_per_km:g} g "
           f"CO2/km ({carbon.reference_source})" if carbon.reference_g_per_km is not None else ""))
    return carbon


def emission_factors(carbon: Carbon | None) -> kpis.EmissionFactors | None:
    """The factors the KPIs take, from the site's `carbon` (site.yaml)."""
    return None if carbon is None else kpis.EmissionFactors(carbon.grid_kg_per_kwh, carbon.reference_g_per_km)


@dataclass(frozen=True)
class MissionCarbon:
    """One mission's energy per km, CO2 and CO2 avoided (g): None without energy, distance or factor."""

    energy_wh_per_km: float | None = None
    co2_g: float | None = None
    co2_avoided_g: float | None = None


def mission_carbon(energy_wh: float | None, distance_m: float | None, carbon: Carbon | None) -> MissionCarbon:
    """A mission's figures by the pilot KPIs' own code: `compute_kpis` over its run alone (docs/kpis.md)."""
    if energy_wh is None:
        return MissionCarbon()
    run = kpis.MissionRun("mission", "", MissionStatus.COMPLETED, distance_m=distance_m or 0.0, energy_wh=energy_wh)
    k = kpis.compute_kpis([run], now=0.0, factors=emission_factors(carbon))
    return MissionCarbon(k.energy_wh_per_km, None if k.co2_kg is None else k.co2_kg * 1000,
                         None if k.co2_avoided_kg is None else k.co2_avoided_kg * 1000)


@dataclass(frozen=True)
class PilotRecords:
    """A pilot's records as the KPIs take them, each beside the row it came from (for windows by wall time)."""

    pilot: Pilot
    sim: bool  # on the sim clock (else wall time, epoch seconds)
    now: float
    missions: list[tuple[Mission, kpis.MissionRun]]
    interventions: list[tuple[Intervention, kpis.Intervention]]
    incidents: list[tuple[Incident, kpis.Incident]]
    carbon: Carbon | None  # the site's emission factors (site.yaml), with their sources
    notes: list[str]

    @property
    def factors(self) -> kpis.EmissionFactors | None:
        return emission_factors(self.carbon)

    def compute(self) -> kpis.KpiReport:
        """The KPIs over these records."""
        missions = [m for m, _ in self.missions]
        return kpis.compute_kpis([r for _, r in self.missions], [r for _, r in self.interventions],
                                 [r for _, r in self.incidents], (), _public_interactions(missions),
                                 now=self.now, factors=self.factors)

    def window(self, keep_mission: Callable[[Mission], bool], keep_intervention: Callable[[Intervention], bool],
               keep_incident: Callable[[Incident], bool]) -> PilotRecords:
        """The records the three predicates keep (e.g. a day's), on the same clock, `now` and factors."""
        return replace(self, missions=[p for p in self.missions if keep_mission(p[0])],
                       interventions=[p for p in self.interventions if keep_intervention(p[0])],
                       incidents=[p for p in self.incidents if keep_incident(p[0])])


def pilot_records(session: Session, pilot_id: str, sim_now: float | None = None,
                  sites_dir: Path | None = None) -> PilotRecords:
    """The pilot's missions, interventions and incidents as KPI records on one clock: sim time when every record
    has it, else wall time (epoch seconds). The CO2 factors are those of the pilot's site (its site.yaml under
    `sites_dir`). The notes say what the records do not hold."""
    pilot = repository.get_pilot(session, pilot_id)
    missions = repository.missions_of(session, pilot)
    interventions = repository.interventions(session, pilot_id=pilot.id)
    incidents = repository.incidents(session, pilot_id=pilot.id)
    notes = ["availability: not shown, no robot availability is recorded yet"]
    unmeasured = sum(1 for m in missions if m.status in _STARTED and m.energy_wh is None)
    if unmeasured:
        notes.insert(0, f"energy_wh: {unmeasured} of the missions that ran store no energy (run before energy "
                        "was measured, or on a robot of unknown battery capacity); they count 0 Wh")
    sim = _sim_complete(missions, interventions) and (sim_now is not None or bool(missions or interventions))
    if not sim:
        now = utcnow().timestamp()
    elif sim_now is not None:
        now = sim_now
    else:
        stamps = [t for m in missions for t in (m.sim_started_at, m.sim_ended_at) if t is not None]
        stamps += [t for i in interventions for t in (i.sim_started_at, i.sim_ended_at) if t is not None]
        stamps += [n.sim_time for n in incidents if n.sim_time is not None]
        now = max(stamps, default=0.0)
        notes.append("no live clock: running missions and open interventions count up to the latest record")
    spans = [_span(i.sim_started_at, i.sim_ended_at) if sim else _span(_epoch(i.started_at), _epoch(i.ended_at))
             for i in interventions]
    records = [kpis.Intervention(id=i.id, robot_id=i.robot_id, kind=i.kind, start=start or 0.0, end=end,
                                 mission_id=None if i.mission_id is None else str(i.mission_id),
                                 distance_m=i.distance_m)
               for i, (start, end) in zip(interventions, spans, strict=True)]
    # incident times do not enter any KPI; sim time when there is one, else wall time
    events = [kpis.Incident(id=n.id, severity=n.severity, kind=n.kind, robot_id=n.robot_id,
                            at=n.sim_time if sim and n.sim_time is not None else as_utc(n.time).timestamp(),
                            mission_id=None if n.mission_id is None else str(n.mission_id))
              for n in incidents]
    return PilotRecords(pilot, sim, now, [(m, mission_run(m, sim)) for m in missions],
                        list(zip(interventions, records, strict=True)), list(zip(incidents, events, strict=True)),
                        site_carbon(sites_dir, pilot.site, notes), notes)


def pilot_kpis(session: Session, pilot_id: str, sim_now: float | None = None,
               sites_dir: Path | None = None) -> PilotKpis:
    """Every KPI over the pilot's missions, interventions and incidents (`pilot_records`), and the pilot's
    targets checked."""
    return kpis_of(pilot_records(session, pilot_id, sim_now, sites_dir))


def kpis_of(records: PilotRecords) -> PilotKpis:
    """The KPIs of the records, and the pilot's targets checked."""
    report = records.compute()
    return PilotKpis(pilot_id=records.pilot.id, clock="sim" if records.sim else "wall", now=records.now, kpis=report,
                     targets=kpis.kpis_against_targets(report, records.pilot.targets), notes=records.notes)
