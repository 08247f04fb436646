"""NATS between the site leader and its replicas: the subjects (a contract: docs/architecture.md) and the
telemetry relay.

The leader's hub output (robot-state frames and events, as its websocket clients get them) goes out on
`<prefix>.<site>.telemetry.states` and `<prefix>.<site>.telemetry.events`; every replica feeds what it receives into
its own hub, so that its websocket clients see the same stream. Writes reach the leader on `<prefix>.<site>.api`
(request/reply, forward.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

import nats
import orjson
from nats.aio.client import Client as Nats
from nats.aio.msg import Msg

from fleet_manager.telemetry.hub import Client, TelemetryHub

log = logging.getLogger(__name__)

STATES_PREFIX = '{"type":"robot_states"'  # how a states frame begins (hub.encode: compact orjson)


@dataclass(frozen=True)
class Subjects:
    prefix: str
    site: str

    @property
    def states(self) -> str:
        return f"{self.prefix}.{self.site}.telemetry.states"

    @property
    def events(self) -> str:
        return f"{self.prefix}.{self.site}.telemetry.events"

    @property
    def telemetry(self) -> str:
        return f"{self.prefix}.{self.site}.telemetry.>"

    @property
    def api(self) -> str:
        return f"{self.prefix}.{self.site}.api"


async def connect(url: str, name: str) -> Nats:
    """A connection that reconnects without end (NATS restarting is a gap, not the end of the process)."""
    async def error(exc: Exception) -> None:
        log.warning("NATS: %s", exc)

    async def disconnected() -> None:
        log.warning("NATS: disconnected from %s; reconnecting", url)

    async def reconnected() -> None:
        log.info("NATS: reconnected to %s", url)

    return await nats.connect(url, name=name, error_cb=error, disconnected_cb=disconnected,
                              reconnected_cb=reconnected, max_reconnect_attempts=-1, reconnect_time_wait=1,
                              connect_timeout=3)


class TelemetryOut:
    """On the leader: every frame of the hub out on NATS, as a websocket client of its own (events never dropped,
    states coalesced as for any client)."""

    def __init__(self, nc: Nats, hub: TelemetryHub, subjects: Subjects) -> None:
        self._nc, self._hub, self._subjects = nc, hub, subjects
        self.sent = 0
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Relays from now on (the hub's client is connected at once: no event of what follows is missed)."""
        client = self._hub.connect("nats", states=True)
        client.event_limit = None  # (the relay keeps every event: NATS takes them as fast as they come)
        self._task = asyncio.create_task(self._run(client), name="telemetry-out")

    async def _run(self, client: Client) -> None:
        try:
            while True:
                await client.wake.wait()
                for frame in client.take():
                    subject = self._subjects.states if frame.startswith(STATES_PREFIX) else self._subjects.events
                    try:
                        await self._nc.publish(subject, frame.encode())
                        self.sent += 1
                    except Exception as exc:  # (NATS gone for a while: the frame is lost to replicas; logged)
                        log.warning("telemetry frame not relayed to the replicas: %s", exc)
        finally:
            self._hub.disconnect(client)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class TelemetryIn:
    """On a replica (and a standby): the leader's frames into this process's hub."""

    def __init__(self, nc: Nats, hub: TelemetryHub, subjects: Subjects) -> None:
        self._nc, self._hub, self._subjects = nc, hub, subjects
        self.received = 0
        self._sub: object | None = None

    async def start(self) -> None:
        self._sub = await self._nc.subscribe(self._subjects.telemetry, cb=self._on_frame)

    async def _on_frame(self, msg: Msg) -> None:
        self.received += 1
        if msg.subject == self._subjects.states:
            for state in orjson.loads(msg.data)["states"]:
                self._hub.publish_state(state["id"], state)
        else:
            self._hub.publish_encoded_event(msg.data.decode())

    async def stop(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()  # type: ignore[attr-defined]
