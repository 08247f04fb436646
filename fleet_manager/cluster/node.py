"""This process's part in its site's cluster (LABFLEET_ROLE with PostgreSQL): a replica, or a leader candidate.

A candidate that takes the site's lock (election.py) runs the whole lab (`Lab.start`: bridge, adapters,
dispatcher, traffic, recorder, watches), relays its hub on NATS and answers the writes replicas forward. One that
does not waits as a standby and serves as a replica meanwhile; once it takes the lock (the leader died) it starts
the leader's parts, keeping its hub, so its websocket clients stream on, and the dispatcher reconciles the
missions in flight with what the robots report (the restart path, `Dispatcher.recover`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable

from nats.aio.client import Client as Nats
from starlette.types import ASGIApp

from fleet_manager.cluster.bus import Subjects, TelemetryIn, TelemetryOut, connect
from fleet_manager.cluster.election import LeaderLock
from fleet_manager.cluster.forward import LeaderApi
from fleet_manager.lab import Lab
from fleet_manager.settings import Settings
from fleet_manager.telemetry.hub import TelemetryHub

log = logging.getLogger(__name__)


class ClusterError(RuntimeError):
    """What the cluster needs is not there (NATS out of reach)."""


class ClusterNode:
    def __init__(self, settings: Settings, app: ASGIApp, set_lab: Callable[[Lab], None],
                 server: tuple[str, int] | None = None) -> None:
        self.settings = settings
        self.subjects = Subjects(settings.nats_prefix, settings.site)
        self._app, self._set_lab, self._server = app, set_lab, server
        self.lab: Lab | None = None
        self.nc: Nats | None = None
        self.lock = LeaderLock(settings.database_url, settings.site) if settings.role == "leader" else None
        self.leading = False
        self.led_since: float | None = None  # wall time this process took the lead
        self._in: TelemetryIn | None = None
        self._out: TelemetryOut | None = None
        self._api: LeaderApi | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> Lab:
        try:
            self.nc = await connect(self.settings.nats_url, f"labfleet-{self.settings.role}-{os.getpid()}")
        except Exception as exc:
            raise ClusterError(f"NATS at {self.settings.nats_url} is out of reach ({type(exc).__name__}: {exc}); "
                               "LABFLEET_ROLE=leader|replica needs it (LABFLEET_NATS_URL)") from None
        if self.lock is not None and await self.lock.try_acquire():
            hub = TelemetryHub(asyncio.get_running_loop(), self.settings.telemetry_hz)
            self._relay(hub)  # (from the first event on: the recovery's included)
            self.lab = await Lab.start(self.settings, hub=hub)
            await self._lead()
            return self.lab
        self.lab = await Lab.start_replica(self.settings)
        self._in = TelemetryIn(self.nc, self.lab.hub, self.subjects)
        await self._in.start()
        if self.lock is not None:
            self.lab.role = "standby"
            self._task = asyncio.create_task(self._stand_by(), name="standby")
        return self.lab

    def forward_target(self) -> tuple[Nats, str, float] | None:
        """Where this process sends what needs the leader: nowhere while it leads."""
        if self.leading or self.nc is None:
            return None
        return self.nc, self.subjects.api, self.settings.forward_timeout_s

    async def _stand_by(self) -> None:
        assert self.lock is not None and self.lab is not None
        await self.lock.acquire()
        took = time.time()
        log.warning("site %s: this standby took the leader lock; starting the leader's parts", self.settings.site)
        replica = self.lab
        if self._in is not None:  # (before relaying this hub: NATS would hand our own frames back)
            await self._in.stop()
            self._in = None
        self._relay(replica.hub)
        try:
            leader = await Lab.start(self.settings, hub=replica.hub)  # (its websocket clients keep their stream)
        except Exception:
            log.exception("the standby could not start the leader's parts: stopping (the lock is freed)")
            os.kill(os.getpid(), signal.SIGTERM)
            return
        self.lab = leader
        self._set_lab(leader)
        await self._lead()
        log.warning("site %s: leading %.2f s after taking the lock", self.settings.site, time.time() - took)
        await replica.stop(close_hub=False)

    def _relay(self, hub: TelemetryHub) -> None:
        assert self.nc is not None
        self._out = TelemetryOut(self.nc, hub, self.subjects)
        self._out.start()

    async def _lead(self) -> None:
        assert self.nc is not None and self.lab is not None and self.lock is not None
        self.lab.role = "leader"
        self._api = LeaderApi(self.nc, self.subjects.api, self._app, self._server)
        await self._api.start()
        self.leading = True
        self.led_since = time.time()
        self._task = asyncio.create_task(self._watch_lock(), name="leader-lock")

    async def _watch_lock(self) -> None:
        """A leader that loses its lock connection stops (SIGTERM to itself: the server shuts down cleanly and its
        supervisor starts it again, as a candidate): a standby may hold the lock by now."""
        assert self.lock is not None
        why = await self.lock.lost()
        log.error("site %s: the leader lock's connection failed (%s): stepping down", self.settings.site, why)
        self.leading = False
        os.kill(os.getpid(), signal.SIGTERM)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for part in (self._api, self._out, self._in):
            if part is not None:
                with contextlib.suppress(Exception):
                    await part.stop()
        if self.lab is not None:
            await self.lab.stop()
        if self.lock is not None:
            await self.lock.release()
        if self.nc is not None:
            with contextlib.suppress(Exception):
                await self.nc.drain()
