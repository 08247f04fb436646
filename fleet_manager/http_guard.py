"""uvicorn's HTTP/1.1 protocols (httptools, the default, or h11) with two guards against clients that hold
connections open: `guarded_http` gives the class to pass as `uvicorn.Config(http=...)` (`python -m fleet_manager`,
which `labfleet up` runs too).

- The request head: a connection whose request line and headers are not complete `header_timeout_s` after it
  opened, or after the response to its previous request, is closed. uvicorn itself closes a keep-alive connection
  idle before the first byte of its next request, but not one idle before its first request, nor one that sends
  its head a byte at a time (slow loris). Request bodies are the application's to read (limits.py).
- Connections per client address: one over `max_per_address` open at once (websockets included) is closed as
  soon as it is accepted. The addresses of trusted reverse proxies (LABFLEET_TRUSTED_PROXIES) are not limited:
  every client behind them shares their address.

httptools (llhttp, in C) parses a request in a fraction of h11's time (pure Python): issue 16's API under load.
h11 stays selectable (`python -m fleet_manager --http h11`) for comparison."""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from collections import Counter
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)
Network = ipaddress.IPv4Network | ipaddress.IPv6Network
HttpKind = Literal["httptools", "h11"]

if TYPE_CHECKING:  # what the guards use of the uvicorn protocol they are mixed into
    _Base = H11Protocol
else:
    _Base = object


class _Guards(_Base):
    """The guards of one connection, mixed into a uvicorn protocol; the class attributes are set per server by
    `guarded_http`. The protocol calls `_head_complete()` when a request head is complete and
    `_response_done(head_pending)` once a response is complete."""

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

    def _head_complete(self) -> None:
        self._cancel_head_timer()

    def _response_done(self, head_pending: bool) -> None:
        """After a response: the next request's head has `header_timeout_s` unless it is already complete."""
        if head_pending and not self.transport.is_closing():
            self._start_head_timer()

    def _websocket_took_over(self) -> None:
        """After an upgrade: the websocket protocol owns the connection, which still counts against its address
        until it is lost."""
        self._cancel_head_timer()
        websocket = self.transport.get_protocol()
        if websocket is self or self._counted is None:
            return
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


class GuardedH11Protocol(_Guards, H11Protocol):
    """uvicorn's h11 protocol (pure Python) with the guards."""

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.conn.their_state is not h11.IDLE:  # the request head is complete
            self._head_complete()

    def on_response_complete(self) -> None:
        super().on_response_complete()  # (may go on with a pipelined request)
        self._response_done(self.conn.their_state is h11.IDLE)

    def handle_websocket_upgrade(self, event: h11.Request) -> None:
        self._cancel_head_timer()
        super().handle_websocket_upgrade(event)
        self._websocket_took_over()


class GuardedHttpToolsProtocol(_Guards, HttpToolsProtocol):  # type: ignore[misc]
    """uvicorn's httptools protocol (llhttp) with the guards: heads completed are counted against responses
    completed, so a pipelined request whose head has arrived runs on without a deadline."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._heads = 0  # request heads complete on this connection
        self._responses = 0  # responses complete

    def on_headers_complete(self) -> None:
        self._heads += 1
        self._head_complete()
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        self._responses += 1
        super().on_response_complete()  # (may go on with a pipelined request)
        self._response_done(self._heads <= self._responses)

    def handle_websocket_upgrade(self) -> None:  # type: ignore[override]
        self._cancel_head_timer()
        super().handle_websocket_upgrade()  # type: ignore[call-arg]
        self._websocket_took_over()


def guarded_http(kind: HttpKind, header_timeout_s: float, max_per_address: int,
                 unlimited: Iterable[str] = ()) -> type[_Guards]:
    """The protocol class of one server: its own count of open connections per address. `unlimited`: addresses
    or CIDR networks not limited (the trusted proxies)."""
    networks = tuple(ipaddress.ip_network(item, strict=False) for item in unlimited)
    base: type[_Guards] = GuardedHttpToolsProtocol if kind == "httptools" else GuardedH11Protocol

    class Guarded(base):  # type: ignore[valid-type,misc]
        pass

    Guarded.header_timeout_s = header_timeout_s
    Guarded.max_per_address = max_per_address
    Guarded.unlimited = networks
    Guarded.open_by_address = Counter()
    return Guarded
