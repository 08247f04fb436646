from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from fastapi.responses import FileResponse

from fleet_manager.auth.deps import OPERATOR
from fleet_manager.core.errors import NotFound
from fleet_manager.deps import LabDep
from fleet_manager.exception_handlers import error_response
from fleet_manager.sites.service import list_sites

router = APIRouter(tags=["sites"])
LaneAction = Literal["close", "open"]


@router.get("/sites")
async def get_sites(lab: LabDep) -> list[dict[str, Any]]:
    return [{"site": name, "active": name == lab.site.name} for name in list_sites(lab.settings.sites_dir)]


def _active(site: str, lab: Any) -> None:
    if site != lab.site.name:
        raise NotFound(f"site {site!r} is not the active site ({lab.site.name!r})", field="site")


@router.get("/sites/{site}/map")
async def get_map(site: str, lab: LabDep) -> dict[str, Any]:
    _active(site, lab)
    data = lab.site.map()
    closed = set(lab.dispatcher.traffic.closed_lanes())
    for lane in data["lanes"]:
        lane["closed"] = lane["id"] in closed
    return data


@router.get("/sites/{site}/map/grid", response_class=FileResponse, responses={
    200: {"content": {"image/png": {}}, "description": "the occupancy grid the site was imported from, a greyscale "
          "PNG placed by the map's `grid` (resolution, origin)"},
    404: error_response("not the active site, or a site without a grid (not imported from a map)")})
async def get_map_grid(site: str, lab: LabDep) -> FileResponse:
    _active(site, lab)
    return FileResponse(lab.site.grid_image(), media_type="image/png")


@router.get("/sites/{site}/traffic")
async def get_traffic(site: str, lab: LabDep) -> dict[str, Any]:
    """Each robot's planned route (place names, points), how much of it is released and passed, when it was planned
    (sim time: a new plan is a new route), and the closed lanes."""
    _active(site, lab)
    traffic = lab.dispatcher.traffic
    return {
        "closed_lanes": traffic.closed_lanes(),
        "routes": {rid: {"places": [w.name for w in r.waypoints], "released": r.released, "passed": r.passed,
                         "points": [[w.x, w.y] for w in r.waypoints], "planned_at": r.planned_at, "plan": r.seq}
                   for rid, r in traffic.routes.items()},
    }


@router.post("/sites/{site}/lanes/{lane_id}/{action}", dependencies=[OPERATOR])
async def close_or_open_lane(site: str, lane_id: str, action: LaneAction, lab: LabDep) -> dict[str, Any]:
    """Close a lane (robots whose routes still use it are rerouted) or open it again."""
    _active(site, lab)
    if lane_id not in {lane.id for lane in lab.site.navgraph.lanes}:
        raise NotFound(f"no lane {lane_id!r} in site {site!r}", field="lane_id")
    traffic = lab.dispatcher.traffic
    rerouted: list[str] = []
    if action == "close":
        rerouted = traffic.close_lane(lane_id)
    else:
        traffic.open_lane(lane_id)
    lab.dispatcher.wake()
    return {"lane": lane_id, "closed": lane_id in traffic.closed_lanes(), "rerouted": rerouted}


@router.get("/mission-templates")
async def get_templates(lab: LabDep) -> list[dict[str, Any]]:
    """The templates, their texts in English; `labels` holds them in other languages (`ko`: name, description,
    each parameter's name and description; null where the language leaves one out: show the English)."""
    return [
        {
            "name": t.name,
            "description": t.description,
            "robot_kind": t.robot_kind,
            "capabilities": list(t.capabilities),
            "params": [
                {"name": p.name, "type": p.type, "default": p.default, "required": p.required,
                 "description": p.description}
                for p in t.params
            ],
            "labels": {lang: labels.public() for lang, labels in t.labels.items()},
        }
        for t in lab.templates.all()
    ]
