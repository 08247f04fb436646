"""The FastAPI application, built by create_app(); the lab starts and stops with its lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from fleet_manager import audit, exception_handlers, gc_policy
from fleet_manager.alerts.endpoints import router as alerts_router
from fleet_manager.audit.endpoints import router as audit_router
from fleet_manager.auth.deps import VIEWER
from fleet_manager.auth.endpoints import router as auth_router
from fleet_manager.auth.endpoints import users_router
from fleet_manager.cluster.forward import ForwardToLeader
from fleet_manager.cluster.node import ClusterNode
from fleet_manager.deps import LabDep
from fleet_manager.http_headers import DOCS_POLICY, SecurityHeaders
from fleet_manager.lab import Lab
from fleet_manager.limits import RequestLimits
from fleet_manager.missions.endpoints import dispatch_router
from fleet_manager.missions.endpoints import router as missions_router
from fleet_manager.pilots.endpoints import incidents_router, interventions_router
from fleet_manager.pilots.endpoints import router as pilots_router
from fleet_manager.pilots.report_charts import script_hashes
from fleet_manager.recording.playback_endpoints import router as playback_router
from fleet_manager.replay.endpoints import router as replays_router
from fleet_manager.robots.endpoints import registry_router
from fleet_manager.robots.endpoints import router as robots_router
from fleet_manager.schedules.endpoints import router as schedules_router
from fleet_manager.settings import Settings
from fleet_manager.sites.endpoints import router as sites_router
from fleet_manager.telemetry.endpoints import router as telemetry_router
from fleet_manager.user_limits import UserConcurrency

log = logging.getLogger(__name__)
API_PREFIX = "/api/v1"


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if settings.clustered:  # an elected leader or a replica (cluster/node.py)
            node = ClusterNode(settings, app, lambda lab: setattr(app.state, "lab", lab))
            app.state.cluster = node
            app.state.lab = await node.start()
            gc_policy.after_startup()
            try:
                yield
            finally:
                await node.stop()
            return
        lab = await Lab.start(settings)
        app.state.lab = lab
        gc_policy.after_startup()
        try:
            yield
        finally:
            await lab.stop()

    app = FastAPI(title="LabFleet fleet manager", version="0.1.0", lifespan=lifespan,
                  openapi_url=f"{API_PREFIX}/openapi.json", docs_url=f"{API_PREFIX}/docs")
    app.state.settings = settings
    exception_handlers.install(app)

    app.add_middleware(RequestLimits, max_body_bytes=settings.max_request_bytes,
                       max_ws_message_bytes=settings.max_ws_message_bytes)
    app.add_middleware(UserConcurrency, max_per_user=settings.max_requests_per_user)  # one user cannot take them all
    audit.install(app)  # after the other middleware: what they refuse (413) is recorded too
    if settings.clustered:  # a replica's (and a standby's) writes go to the leader, with the client's address
        app.add_middleware(ForwardToLeader, max_body_bytes=settings.max_request_bytes,
                           forwarder=lambda: cluster.forward_target() if (cluster := app.state.cluster) else None)
        app.state.cluster = None
    if settings.proxy_list():  # outermost: every part of the app sees the client the trusted proxy names
        app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.proxy_list())
    # around all of them: every response, refusals included, carries the security headers (the CSP names the
    # report's scripts)
    docs = [url for url in (app.docs_url, app.swagger_ui_oauth2_redirect_url, app.redoc_url) if url]
    app.add_middleware(SecurityHeaders, script_hashes=script_hashes(), path_policies=dict.fromkeys(docs, DOCS_POLICY))

    api = APIRouter(prefix=API_PREFIX, responses=exception_handlers.ERROR_RESPONSES)

    @api.get("/health", tags=["health"])
    async def health(lab: LabDep) -> dict[str, Any]:
        return {
            "status": "ok",
            "site": lab.site.name,
            "role": lab.role,  # single | leader | standby | replica
            "sim_time": lab.bridge.now() if lab.bridge else None,
            "robots": len(lab.registry.ids()),
            "ros": lab.bridge is not None,
            "ros_messages_received": lab.bridge.received if lab.bridge else 0,
            "websocket_clients": lab.hub.client_count,
        }

    # every route needs a token of a user of this site: viewer at least; the routes that change something
    # name a higher role in their own module (auth.deps RESEARCHER / OPERATOR / ADMIN)
    for router in (robots_router, registry_router, sites_router, missions_router, dispatch_router, schedules_router,
                   pilots_router, interventions_router, incidents_router, playback_router, replays_router,
                   alerts_router):
        api.include_router(router, dependencies=[VIEWER])
    api.include_router(telemetry_router)  # the websocket checks its ?token= itself (closes 4401 / 4403)
    api.include_router(auth_router)  # log in and refresh need no token; /auth/me any site
    api.include_router(users_router)  # admins only
    api.include_router(audit_router)  # admins only; read-only
    app.include_router(api)

    # the OpenAPI document also at the root, as DESIGN.md names it
    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_root() -> JSONResponse:
        return JSONResponse(app.openapi())

    if (settings.web_dir / "index.html").exists():
        app.mount("/", StaticFiles(directory=settings.web_dir, html=True), name="console")
    else:
        @app.get("/", include_in_schema=False)
        async def no_console() -> HTMLResponse:
            return HTMLResponse("<h1>LabFleet</h1><p>The web console is not built: run <code>make setup</code>.</p>")

    return app
