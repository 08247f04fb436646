from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from fleet_manager.auth.deps import OPERATOR, RESEARCHER
from fleet_manager.deps import LabDep, SessionDep
from fleet_manager.exception_handlers import JSON_ERROR_RESPONSES, error_response
from fleet_manager.i18n import Lang
from fleet_manager.lab import Lab
from fleet_manager.pilots import report, report_html, service
from fleet_manager.pilots.schemas import (
    IncidentCreate,
    IncidentKind,
    IncidentPublic,
    InterventionCreate,
    InterventionEnd,
    InterventionPublic,
    PilotCreate,
    PilotKpis,
    PilotPublic,
    PilotUpdate,
    Severity,
)

# Sync endpoints: FastAPI runs them in its thread pool, with the request's session.
router = APIRouter(prefix="/pilots", tags=["pilots"])
Limit = Annotated[int, Query(ge=1, le=1000)]
Offset = Annotated[int, Query(ge=0, le=10**9)]
IdFilter = Annotated[str | None, Query(max_length=200)]
LangQuery = Annotated[Lang, Query(description="the language of the text: en or ko")]


@router.post("", dependencies=[RESEARCHER], status_code=201, response_model=PilotPublic)
def create_pilot(body: PilotCreate, session: SessionDep, lab: LabDep) -> PilotPublic:
    return service.create_pilot(session, lab.catalog, body)


@router.get("", response_model=list[PilotPublic])
def list_pilots(session: SessionDep, lab: LabDep, site: IdFilter = None) -> list[PilotPublic]:
    """The pilots of a site (every site without `site`); the site's default pilot is created if need be."""
    return service.list_pilots(session, lab.catalog, site)


@router.get("/{pilot_id}", response_model=PilotPublic)
def get_pilot(pilot_id: str, session: SessionDep) -> PilotPublic:
    return service.get_pilot(session, pilot_id)


@router.patch("/{pilot_id}", dependencies=[RESEARCHER], response_model=PilotPublic)
def update_pilot(pilot_id: str, body: PilotUpdate, session: SessionDep, lab: LabDep) -> PilotPublic:
    return service.update_pilot(session, lab.catalog, pilot_id, body)


@router.get("/{pilot_id}/kpis", response_model=PilotKpis)
def pilot_kpis(pilot_id: str, session: SessionDep, lab: LabDep) -> PilotKpis:
    """Every KPI of docs/kpis.md over the pilot's missions, interventions and incidents, and its targets."""
    return service.pilot_kpis(session, pilot_id, lab.sim_now(), lab.settings.sites_dir)


def _maps(lab: Lab) -> Callable[[str], dict[str, Any]]:
    """A site's map by name, for the report's site map chart."""
    return partial(report.site_map, lab.settings.sites_dir, lab.site)


@router.get("/{pilot_id}/report", response_class=HTMLResponse,
            responses={200: {"content": {"text/html": {}}, "description": "a self-contained HTML page"},
                       **JSON_ERROR_RESPONSES})
def pilot_report(pilot_id: str, session: SessionDep, lab: LabDep, lang: LangQuery = "en") -> HTMLResponse:
    """The pilot's report, in Korean or English: a summary, the KPIs with their definitions against the targets,
    energy and CO2, trends per day or week, missions per day, the site map with interventions and incidents, and
    a per-robot table; the same numbers as `/kpis`."""
    return HTMLResponse(report_html.html_report(session, pilot_id, _maps(lab), lab.sim_now(), lab.settings.sites_dir,
                                                lang))


@router.get("/{pilot_id}/charts", response_model=report.PilotCharts)
def pilot_charts(pilot_id: str, session: SessionDep, lab: LabDep, lang: LangQuery = "en") -> report.PilotCharts:
    """The report's charts as plotly figure JSON (KPIs against targets, missions per day, the site map with
    interventions and incidents) and its per-robot table: what the console's pilot dashboard draws."""
    return report.charts_report(session, pilot_id, _maps(lab), lab.sim_now(), lab.settings.sites_dir, lang)


@router.get("/{pilot_id}/report.csv", response_class=Response,
            responses={200: {"content": {"text/csv": {}}, "description": "one row per mission run"}})
def pilot_report_csv(pilot_id: str, session: SessionDep, lab: LabDep) -> Response:
    """Every mission run of the pilot as CSV (report.CSV_COLUMNS), in mission id order."""
    return Response(report.csv_report(session, pilot_id, lab.sim_now(), lab.settings.sites_dir),
                    media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="pilot-{pilot_id}-missions.csv"'})


interventions_router = APIRouter(prefix="/interventions", tags=["pilots"])


@interventions_router.post("", dependencies=[OPERATOR], status_code=201, response_model=InterventionPublic,
                           responses={409: error_response("the robot is already under intervention")})
def open_intervention(body: InterventionCreate, session: SessionDep, lab: LabDep) -> InterventionPublic:
    """An operator takes over a robot, from now until the intervention is ended."""
    return service.open_intervention(session, lab.catalog, body, lab.sim_now())


@interventions_router.post("/{intervention_id}/end", dependencies=[OPERATOR], response_model=InterventionPublic)
def end_intervention(intervention_id: str, session: SessionDep, lab: LabDep,
                     body: InterventionEnd | None = None) -> InterventionPublic:
    return service.end_intervention(session, intervention_id, body or InterventionEnd(), lab.sim_now())


@interventions_router.get("", response_model=list[InterventionPublic])
def list_interventions(
    session: SessionDep,
    pilot_id: IdFilter = None,
    robot_id: IdFilter = None,
    is_open: Annotated[bool | None, Query(alias="open")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[InterventionPublic]:
    return service.list_interventions(session, pilot_id=pilot_id, robot_id=robot_id, is_open=is_open, limit=limit,
                                      offset=offset)


incidents_router = APIRouter(prefix="/incidents", tags=["pilots"])


def _record_incident(lab: Lab, body: IncidentCreate, sim_now: float | None) -> IncidentPublic:
    with Session(lab.engine, expire_on_commit=False) as session:  # (as SessionDep opens it)
        return service.create_incident(session, lab.catalog, body, sim_now)


@incidents_router.post("", dependencies=[OPERATOR], status_code=201, response_model=IncidentPublic)
async def create_incident(body: IncidentCreate, lab: LabDep) -> IncidentPublic:
    # A coroutine with one trip to a worker thread: as a sync endpoint with SessionDep, FastAPI took four (opening
    # the session, the endpoint, validating the answer, closing the session), the most frequent write of the
    # operator console's mix (issue 16).
    return await asyncio.to_thread(_record_incident, lab, body, lab.sim_now())


@incidents_router.get("", response_model=list[IncidentPublic])
def list_incidents(
    session: SessionDep,
    pilot_id: IdFilter = None,
    severity: Severity | None = None,
    kind: IncidentKind | None = None,
    limit: Limit = 100,
    offset: Offset = 0,
) -> list[IncidentPublic]:
    return service.list_incidents(session, pilot_id=pilot_id, severity=severity, kind=kind, limit=limit,
                                  offset=offset)


@incidents_router.get("/{incident_id}", response_model=IncidentPublic)
def get_incident(incident_id: str, session: SessionDep) -> IncidentPublic:
    return service.get_incident(session, incident_id)
