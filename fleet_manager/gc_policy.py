"""The garbage collector of the fleet manager's process (issue 16: request latency under load).

A full collection walks every object the process holds. After start-up that is the lab's whole world (ROS, the
site's graphs, the API's models: about 270,000 objects on living_lab), and one took 165-205 ms on this
machine, every few seconds under load, with the event loop and every request stopped meanwhile: in
bench/load.py at 200 requests/s, the slowest 1% of requests waited for it.

`python -m fleet_manager` calls `install()`; once the lab has started, `after_startup()` collects once and
freezes what survived (`gc.freeze`: moved out of the collector's sight, never freed, which start-up objects
never are anyway), so later full collections walk only what was made since. Objects made later are collected
as before. Tests that build apps in their own process leave this off."""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)
_installed = False


def install() -> None:
    """Freeze the start-up objects of this process once the lab has started (the service's own process only)."""
    global _installed
    _installed = True


def after_startup() -> None:
    """Called when the lab has started: with `install()`, collect once and freeze the survivors."""
    if not _installed:
        return
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    log.info("garbage collector: %d start-up objects frozen in %.0f ms", gc.get_freeze_count(),
             (time.perf_counter() - started) * 1000)
