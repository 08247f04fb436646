"""Fan-out of live frames to websocket clients.

Robot states go out in ticks, at most `LABFLEET_TELEMETRY_HZ` (30 by default) a second, a tick following the first
change after the last one by GATHER_S (or by the period): each tick, the states of the robots that changed since
the last one, in one `robot_states` frame encoded once (orjson) and shared by every client that
took the previous tick's frame. A client still sending an earlier frame (it reads slowly) is not queued
another: it gets, once free, one frame of the newest state of every robot it missed (stale states replaced,
never queued). So a client holds at most one frame in flight (plus its socket's write buffer), whatever the
fleet's size or rate.

Events (mission, step, alert) are sent as they come, in order, and never dropped: a client that falls
`EVENT_QUEUE` events behind is closed (1013, try again later) and catches up on reconnecting, as the console
does after any gap. The lab's own taps (the recordings) take the events only, without a bound.

Wire format (version 2; docs/architecture.md): `{"type": "robot_states", "v": 2, "states": [robot, ...]}`, one
robot as GET /robots gives it, and the event frames as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import deque
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import orjson

log = logging.getLogger(__name__)

EVENT_QUEUE = 1000
WIRE_VERSION = 2
GATHER_S = 0.002  # a tick waits this long after the first change (a robot's burst of states, one batch of ROS)
TOO_SLOW = 1013  # close code for a client that fell EVENT_QUEUE events behind ("try again later")


def encode(frame: dict[str, Any]) -> str:
    """One frame as compact JSON text (datetimes and the like as strings)."""
    return orjson.dumps(frame, default=str).decode()


def states_frame(states: Iterable[dict[str, Any]]) -> str:
    return encode({"type": "robot_states", "v": WIRE_VERSION, "states": list(states)})


class Client:
    def __init__(self, hub: TelemetryHub, peer: str = "internal", states: bool = True) -> None:
        self._hub = hub
        self.peer = peer  # who it is, for stats: a websocket's address ("127.0.0.1:53422")
        self.wants_states = states  # False: events only (the lab's own taps)
        self.events: deque[str] = deque()
        self.event_limit: int | None = EVENT_QUEUE if states else None
        self.shared = ""  # the newest tick's frame, when it holds everything this client has not been sent
        self._shared_ids: set[str] = set()  # the robots of `shared`
        self.missed: set[str] = set()  # robots whose newest state this client has not been sent (beyond `shared`)
        self.too_slow = False
        self.replaced_states = 0  # states a newer one of the same robot replaced before they were sent
        self.sent = 0
        self.sending = ""  # the frame being sent (empty when none)
        self.wake = asyncio.Event()

    def offer(self, changed: set[str], frame: str) -> None:
        """A tick: `frame` holds the newest states of `changed`."""
        if not self.shared and not self.missed and not self.sending:
            self.shared, self._shared_ids = frame, changed  # the common case: the same text as every other client
        else:  # behind: the robots it misses, sent from the newest states once it is free
            if self.shared:
                self.missed |= self._shared_ids
                self.shared = ""
            self.replaced_states += len(changed & self.missed)
            self.missed |= changed
        self.wake.set()

    def push_event(self, text: str) -> None:
        if self.event_limit is not None and len(self.events) >= self.event_limit:
            self.too_slow = True
            self.wake.set()
            return
        self.events.append(text)
        self.wake.set()

    def next_frame(self) -> str | None:
        """The oldest event, else the robot states this client has not been sent; None when there is nothing."""
        if self.events:
            return self.events.popleft()
        if self.shared:
            frame, self.shared = self.shared, ""
            return frame
        if self.missed:  # (those changed again since the last tick: in the next tick's frame, not twice)
            ids = self.missed - self._hub.changed
            self.missed = set()
            if ids:
                return states_frame(self._hub.latest[rid] for rid in sorted(ids))
        return None

    def take(self) -> list[str]:
        """Every frame waiting, at once (for a consumer without a socket)."""
        frames = []
        while (frame := self.next_frame()) is not None:
            frames.append(frame)
        self.wake.clear()
        return frames

    async def pump(self, send: Callable[[str], Awaitable[None]]) -> None:
        """Send the frames as they come, one at a time, until cancelled (or `send` raises); returns when the client
        fell too far behind on events. A send that waits (the client reads slowly) holds up this client alone."""
        while not self.too_slow:
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
        """Its backlog: frames and bytes waiting (the frame being sent included), what was coalesced or dropped."""
        waiting = [*self.events, self.shared, self.sending]
        return {"peer": self.peer, "queued_states": len(self.missed) + len(self._shared_ids if self.shared else ()),
                "queued_events": len(self.events), "sending": bool(self.sending),
                "queued_bytes": sum(len(f) for f in waiting), "sent": self.sent,
                "replaced_states": self.replaced_states,
                "dropped_events": 0}  # (none: a client too far behind is closed instead, TOO_SLOW)


class TelemetryHub:
    def __init__(self, loop: asyncio.AbstractEventLoop, tick_hz: float = 30.0) -> None:
        self._loop = loop
        self._thread_id = threading.get_ident()
        self._clients: set[Client] = set()
        self.latest: dict[str, dict[str, Any]] = {}  # robot id -> its newest state frame
        self.changed: set[str] = set()  # robots whose newest state goes out at the next tick
        self.period = 1.0 / tick_hz
        self._ticker: asyncio.TimerHandle | None = None
        self._last_tick = -self.period
        self.ticks = 0

    def connect(self, peer: str = "internal", states: bool = True) -> Client:
        """A new client; with states, it starts with every known robot."""
        client = Client(self, peer, states)
        if states and self.latest:
            client.missed = set(self.latest)
            client.wake.set()
        self._clients.add(client)
        return client

    def disconnect(self, client: Client) -> None:
        self._clients.discard(client)

    @property
    def client_count(self) -> int:
        return len(self._clients)

    def publish_state(self, robot_id: str, frame: dict[str, Any]) -> None:
        """On the event loop thread: a robot's newest state, out at the next tick (replacing any unsent one)."""
        self.latest[robot_id] = frame
        self.changed.add(robot_id)
        if self._ticker is None:  # the first change since the last tick: out after GATHER_S (the rest of a burst
            # comes along), or one period after the last tick, whichever is later
            delay = max(GATHER_S, self._last_tick + self.period - self._loop.time())
            self._ticker = self._loop.call_later(delay, self.tick)

    def tick(self) -> None:
        """Out to every client: one frame of the states that changed, encoded once."""
        self._ticker = None
        self._last_tick = self._loop.time()
        changed, self.changed = self.changed, set()
        if not changed:
            return
        self.ticks += 1
        frame = states_frame(self.latest[rid] for rid in sorted(changed))
        for client in self._clients:
            if client.wants_states:
                client.offer(changed, frame)

    def publish_event(self, frame: dict[str, Any]) -> None:
        """Thread-safe: events may be published from worker threads (database writes)."""
        text = encode(frame)
        if threading.get_ident() == self._thread_id:
            self._push_event(text)
        else:
            self._loop.call_soon_threadsafe(self._push_event, text)

    def publish_encoded_event(self, text: str) -> None:
        """On the event loop thread: an event frame already encoded (a replica relays the leader's as they come)."""
        self._push_event(text)

    def _push_event(self, text: str) -> None:
        for client in self._clients:
            client.push_event(text)

    def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            self._ticker = None

    def stats(self) -> dict[str, Any]:
        """Every client's backlog, and the bounds that hold it: one frame of states, EVENT_QUEUE events."""
        return {"clients": [c.stats() for c in self._clients], "robots": len(self.latest),
                "event_queue": EVENT_QUEUE}


async def stream(client: Client, send: Callable[[str], Awaitable[None]],
                 close: Callable[[int, str], Awaitable[None]]) -> None:
    """Pump `client` through `send` until it disconnects (send raises) or falls too far behind on events."""
    await client.pump(send)
    log.warning("telemetry client %s fell %d events behind: closed (it catches up on reconnecting)",
                client.peer, EVENT_QUEUE)
    with contextlib.suppress(Exception):
        await close(TOO_SLOW, f"more than {EVENT_QUEUE} events behind: reconnect to catch up")
