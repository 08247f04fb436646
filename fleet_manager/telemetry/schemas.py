"""What the telemetry hub shows of its clients."""

from __future__ import annotations

from pydantic import BaseModel


class ClientStats(BaseModel):
    peer: str  # a websocket's address, or "internal" (the recordings' tap)
    queued_states: int  # at most one per robot: a newer state replaces an unsent one
    queued_events: int  # at most `event_queue`: the oldest is dropped beyond
    sending: bool  # a frame is being sent (a client that stopped reading stays here)
    queued_bytes: int  # the frames waiting, the one being sent included
    sent: int
    replaced_states: int
    dropped_events: int


class TelemetryStats(BaseModel):
    clients: list[ClientStats]
    robots: int
    event_queue: int
