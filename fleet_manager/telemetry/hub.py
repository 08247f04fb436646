"""Fan-out of live frames to websocket clients.

Each client has the latest robot_state per robot (coalesced: a slow client skips stale states, it
never queues them) and a bounded queue of events; a client that stops reading costs bounded memory
and never delays the others.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import deque
from typing import Any

log = logging.getLogger(__name__)

EVENT_QUEUE = 1000


class Client:
    def __init__(self) -> None:
        self.states: dict[str, str] = {}
        self.events: deque[str] = deque(maxlen=EVENT_QUEUE)
        self.dropped_events = 0
        self.wake = asyncio.Event()

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
        self.frames_out = 0

    def connect(self) -> Client:
        client = Client()
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
