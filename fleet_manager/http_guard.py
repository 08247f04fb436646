"""uvicorn's HTTP/1.1 protocol (h11) with two guards against clients that hold connections open: `guarded_h11`
gives the class to pass as `uvicorn.Config(http=...)` (`python -m fleet_manager`, which `labfleet up` runs too).

- The request head: a connection whose request line and headers are not complete `header_timeout_s` after it
  opened, or after the response to its previous request, is closed. uvicorn itself closes a keep-alive connection
  idle before the first byte of its next request, but not one idle before its first request, nor one that sends
  its head a byte at a time (slow loris). Request bodies are the application's to read (limits.py).
- Connections per client address: one over `max_per_address` open at once (websockets included) is closed as
  soon as it is accepted. The addresses of trusted reverse proxies (LABFLEET_TRUSTED_PROXIES) are not limited:
  every client behind them shares their address."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Iterable
from typing import Any, ClassVar

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class GuardedH11Protocol(H11Protocol):
    """One connection; the class attributes are set per server by `guarded_h11`."""

    header_timeout_s: ClassVar[float] = 10.0
    max_per_address: ClassVar[int] = 200
    unlimited: ClassVar[tuple[Network, ...]] = ()
    open_by_address: ClassVar[Counter[str]] = Counter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_timer: asyncio.TimerHandle | None = None
        self._counted: str | None = None  # the address this connection counts against, until it is lost

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        address = self._limited_address()
        if address is not None:
            if self.open_by_address[address] >= self.max_per_address:
                log.warning("connection from %s closed: %d connections of that address are open "
                            "(LABFLEET_MAX_CONNECTIONS_PER_ADDRESS)", address, self.open_by_address[address])
                transport.close()
                return
            self.open_by_address[address] += 1
            self._counted = address
        self._start_head_timer()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        try:
            super().connection_lost(exc)
        finally:
            self._release()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request head is complete
            self._cancel_head_timer()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # (may go on with a pipelined request)
        if not self.transport.is_closing() and self.conn.their_state is h11.IDLE:
            self._start_head_timer()

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._cancel_head_timer()
        super().handle_websocket_upgrade(event)
        websocket = self.transport.get_protocol()
        if websocket is self or self._counted is None:
            return
        # the websocket protocol now owns the connection: it still counts against its address until it is lost
        websocket_lost = websocket.connection_lost

        def connection_lost(exc: Exception | None) -> None:
            try:
                websocket_lost(exc)
            finally:
                self._release()

        websocket.connection_lost = connection_lost  # type: ignore[method-assign]

    def _limited_address(self) -> str | None:
        if self.client is None:  # a Unix socket
            return None
        host = self.client[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            return host
        return None if any(ip in network for network in self.unlimited) else host

    def _release(self) -> None:
        address, self._counted = self._counted, None
        if address is not None:
            self.open_by_address[address] -= 1
            if self.open_by_address[address] <= 0:
                del self.open_by_address[address]

    def _start_head_timer(self) -> None:
        self._cancel_head_timer()
        self._head_timer = self.loop.call_later(self.header_timeout_s, self._head_timeout)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if not self.transport.is_closing():
            log.warning("connection from %s closed: no complete request head in %g s (LABFLEET_HEADER_TIMEOUT_S)",
                        self.client[0] if self.client else "a socket", self.header_timeout_s)
            self.transport.close()


def guarded_h11(header_timeout_s: float, max_per_address: int,
                unlimited: Iterable[str] = ()) -> type[GuardedH11Protocol]:
    """The protocol class of one server: its own count of open connections per address. `unlimited`: addresses
    or CIDR networks not limited (the trusted proxies)."""
    networks = tuple(ipaddress.ip_network(item, strict=False) for item in unlimited)

    class Guarded(GuardedH11Protocol):
        pass

    Guarded.header_timeout_s = header_timeout_s
    Guarded.max_per_address = max_per_address
    Guarded.unlimited = networks
    Guarded.open_by_address = Counter()
    return Guarded
