"""The fleet manager as a real HTTP server on 127.0.0.1 (uvicorn in a thread), for the tests that need real
sockets: schemathesis, chunked request bodies, websocket limits."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from fleet_manager.app import create_app
from fleet_manager.settings import Settings


@contextmanager
def serve(settings: Settings) -> Iterator[str]:
    """The app of `settings` served on a free port (as `python -m fleet_manager` serves it); its base URL."""
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=0, log_level="warning", access_log=False,
                            ws_max_size=1_000_000, timeout_graceful_shutdown=5)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the fleet manager did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(30)
