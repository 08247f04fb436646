"""The web console in Debian Chromium (playwright-core): four robots on the map, a delivery dispatched
through the form runs to completed. Screenshots land in var/screenshots/."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "web_console" / "e2e" / "console.e2e.mjs"
pytestmark = pytest.mark.browser


def test_console_dispatches_a_mission(running_lab):
    assert shutil.which("node"), "node is required for the browser test"
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required (make setup installs it)"
    shots = REPO / "var" / "screenshots"
    shots.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", str(SCRIPT), running_lab.url, str(shots)], cwd=REPO / "web_console",
                         capture_output=True, text=True, timeout=400)
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{running_lab.output()}"
    assert (shots / "console.png").stat().st_size > 10_000
    assert (shots / "completed.png").stat().st_size > 10_000
