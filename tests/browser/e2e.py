"""What the browser tests share: running a web_console/e2e/*.mjs script (Debian Chromium through playwright-core)
against a lab, signed in with fresh tokens handed over in the environment (read by web_console/e2e/browser.mjs).
Screenshots land in var/screenshots/."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from tests.lab_process import LabProcess

REPO = Path(__file__).resolve().parents[2]
SHOTS = REPO / "var" / "screenshots"


def e2e_env(lab: LabProcess, user: tuple[str, str] | None = None) -> dict[str, str]:
    """The environment of an e2e script: fresh tokens of the lab's admin (or of `user`, name and password) and
    the credentials, for web_console/e2e/browser.mjs."""
    username, password = user or ("admin", lab.env["LABFLEET_ADMIN_PASSWORD"])
    tokens = lab.login(username, password)
    return dict(os.environ, LABFLEET_E2E_ACCESS_TOKEN=tokens["access_token"],
                LABFLEET_E2E_REFRESH_TOKEN=tokens["refresh_token"], LABFLEET_E2E_USERNAME=username,
                LABFLEET_E2E_PASSWORD=password)


def run_e2e(script: str, lab: LabProcess, timeout: float, user: tuple[str, str] | None = None,
            args: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    """Runs `node web_console/e2e/SCRIPT LAB_URL SHOTS ARGS...`; fails with its output and the lab's unless it
    exits 0. Returns the run (its stdout is the script's log)."""
    assert shutil.which("node"), "node is required for the browser test"
    assert Path("/usr/bin/chromium").exists(), "Debian chromium is required (make setup installs it)"
    SHOTS.mkdir(parents=True, exist_ok=True)
    run = subprocess.run(["node", str(REPO / "web_console" / "e2e" / script), lab.url, str(SHOTS), *args],
                         cwd=REPO / "web_console", capture_output=True, text=True, timeout=timeout,
                         env=e2e_env(lab, user))
    assert run.returncode == 0, f"{run.stdout}\n{run.stderr}\n{lab.output()}"
    return run


def fresh_screenshots(*names: str) -> list[Path]:
    """The paths of screenshots a test is about to take, any earlier ones removed (so a stale file cannot pass)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    paths = [SHOTS / name for name in names]
    for path in paths:
        path.unlink(missing_ok=True)
    return paths
