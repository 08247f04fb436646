from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from fleet_manager.core.errors import NotFound
from fleet_manager.deps import LabDep
from fleet_manager.sites.service import list_sites

router = APIRouter(tags=["sites"])


@router.get("/sites")
async def get_sites(lab: LabDep) -> list[dict[str, Any]]:
    return [{"site": name, "active": name == lab.site.name} for name in list_sites(lab.settings.sites_dir)]


@router.get("/sites/{site}/map")
async def get_map(site: str, lab: LabDep) -> dict[str, Any]:
    if site != lab.site.name:
        raise NotFound(f"site {site!r} is not the active site ({lab.site.name!r})", field="site")
    return lab.site.map()


@router.get("/mission-templates")
async def get_templates(lab: LabDep) -> list[dict[str, Any]]:
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
        }
        for t in lab.templates.all()
    ]
