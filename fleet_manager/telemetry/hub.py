"""Fan-out of live frames to websocket clients.

Each client has the latest robot_state per robot (coalesced: a slow client skips stale states, it
never queues them) and a bounded queue of events; a client that stops reading costs bounded memory
and never delays the others. `Client.pump` sends one frame at a time, so what a client holds is at
most one state per robot, EVENT_QUEUE events and the one frame being sent; `TelemetryHub.stats()`
shows each client's backlog.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)

EVENT_QUEUE = 1000


class Client:
    def __init__(self, peer: str = "internal") -> None:
        self.peer = peer  # who it is, for stats: a websocket's address ("127.0.0.1:53422")
        self.states: dict[str, str] = {}
        self.events: deque[str] = deque(maxlen=EVENT_QUEUE)
        self.dropped_events = 0
        self.replaced_states = 0  # states a newer one of the same robot replaced before they were sent
        self.sent = 0
        self.sending = ""  # the frame being sent (empty when none)
        self.wake = asyncio.Event()

    def next_frame(self) -> str | None:
        """The oldest event, else the state of one robot; None when there is nothing to send."""
        if self.events:
            return self.events.popleft()
        if self.states:
            robot_id = next(iter(self.states))
            return self.states.pop(robot_id)
        return None

    async def pump(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send the frames as they come, one at a time, until cancelled (or `send` raises). A send that
        waits (the client reads slowly) holds up this client alone."""
        while True:
            frame = self.next_frame()
            if frame is None:
                self.wake.clear()
                await self.wake.wait()
                continue
            self.sending = frame
            await send(frame)
            self.sending = ""
            self.sent += 1

    def stats(self) -> dict[str, Any]:
        """Its backlog: frames and bytes waiting (the frame being sent included) and what was coalesced or dropped."""
        waiting = [*self.events, *self.states.values()] + ([self.sending] if self.sending else [])
        return {"peer": self.peer, "queued_states": len(self.states), "queued_events": len(self.events),
                "sending": bool(self.sending), "queued_bytes": sum(len(f) for f in waiting), "sent": self.sent,
                "replaced_states": self.replaced_states, "dropped_events": self.dropped_events}

    def take(self) -> list[str]:
        frames = list(self.events)
        self.events.clear()
        frames.extend(self.states.values())
        self.states.clear()
        self.wake.clear()
        return frames


class TelemetryHub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._thread_id = threading.get_ident()
        self._clients: set[Client] = set()
        self._latest: dict[str, str] = {}

    def connect(self, peer: str = "internal") -> Client:
        client = Client(peer)
        client.states.update(self._latest)  # a new client starts with every known robot
        client.wake.set()
        self._clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self._clients.discard(client)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def publish_state(self, robot_id: str, frame: dict[str, Any]) -> None:
        """On the event loop thread: a robot's newest state replaces any unsent one."""
        text = json.dumps(frame, separators=(",", ":"))
        self._latest[robot_id] = text
        for client in self._clients:
            if robot_id in client.states:
                client.replaced_states += 1
            client.states[robot_id] = text
            client.wake.set()

    def publish_event(self, frame: dict[str, Any]) -> None:
        """Thread-safe: events may be published from worker threads (database writes)."""
        text = json.dumps(frame, separators=(",", ":"), default=str)
        if threading.get_ident() == self._thread_id:
            self._push_event(text)
        else:
            self._loop.call_soon_threadsafe(self._push_event, text)

    def _push_event(self, text: str) -> None:
        for client in self._clients:
            if len(client.events) == client.events.maxlen:
                client.dropped_events += 1
            client.events.append(text)
            client.wake.set()

    def stats(self) -> dict[str, Any]:
        """Every client's backlog, and the bounds that hold it: one state per robot, EVENT_QUEUE events."""
        return {"clients": [c.stats() for c in self._clients], "robots": len(self._latest),
                "event_queue": EVENT_QUEUE}
