"""The web console in Debian Chromium (playwright-core), against a real lab. Screenshots land in
var/screenshots/.

- console.e2e.mjs: the robots on the map, a refused and then an accepted delivery from the dispatch
  form, its route drawn on the map, driven to completed with the recipient's confirmation given from
  the mission detail view.
- queue.e2e.mjs: a delivery dispatched with every field (params, priority, robot, not_before) appears
  in the queue, its detail view shows the step timeline and events, an API refusal reaches the message
  area, it is canceled; with dispatch paused a new mission stays queued, after resume it is driven,
  paused, resumed and canceled.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "var" / "screenshots"
pytestmark = pytest.mark.browser


def run_e2e(script: str, lab, timeout: float) -> None:
    assert shutil.which("node"), "node is required for the browser test"
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required (make setup installs it)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", str(REPO / "web_console" / "e2e" / script), lab.url, str(SHOTS)],
                         cwd=REPO / "web_console", capture_output=True, text=True, timeout=timeout)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{lab.output()}"


def test_console_dispatches_a_mission(running_lab):
    run_e2e("console.e2e.mjs", running_lab, 400)
    for name in ("console.png", "underway.png", "awaiting-confirmation.png", "completed.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name


def test_mission_queue_dispatch_detail_and_controls(running_lab):
    run_e2e("queue.e2e.mjs", running_lab, 300)
    for name in ("queue-detail.png", "dispatch-paused.png", "mission-paused.png", "queue.png"):
        assert (SHOTS / name).stat().st_size > 10_000, name
