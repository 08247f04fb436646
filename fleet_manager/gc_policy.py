"""The garbage collector of the fleet manager's process (issue 16: request latency under load).

A full collection walks every object the process holds. After start-up that is the lab's whole world (ROS, the
site's graphs, the API's models: about 270,000 objects on living_lab), and one took 165-205 ms on this
machine, every few seconds under load, with the event loop and every request stopped meanwhile: in
bench/load.py at 200 requests/s, the slowest 1% of requests waited for it.

`python -m fleet_manager` calls `install()`; once the lab has started, `after_startup()` collects once and
freezes what survived (`gc.freeze`: moved out of the collector's sight, never freed, which start-up objects
never are anyway), so later full collections walk only what was made since. Objects made later are collected
as before. Tests that build apps in their own process leave this off.

It then raises the youngest generation's threshold from 700 to 50,000 allocations. Under load (1,000 robot states
a second and a few hundred requests) the default collected the youngest generation every few milliseconds, which
promoted objects still in use for a moment (a robot's state until its next, a request's rows) to the oldest
generation, where they died; Python 3.11 counts every promotion towards its next full collection, so full
collections came every few seconds (14 of 22-78 ms in each of two bench/load.py runs at 150 and 200
requests/s) and found almost nothing to free. With the higher threshold most of those objects are freed by
their reference counts before any collection sees them (1 full collection over 10 ms in each of two runs, in
the same session)."""

from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger(__name__)
_installed = False
YOUNG_THRESHOLD = 50_000  # allocations between collections of the youngest generation (Python's default: 700)


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
    gc.set_threshold(YOUNG_THRESHOLD, *gc.get_threshold()[1:])
    log.info("garbage collector: %d start-up objects frozen in %.0f ms", gc.get_freeze_count(),
             (time.perf_counter() - started) * 1000)
