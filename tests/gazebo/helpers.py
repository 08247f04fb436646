"""Shared bits of the Gazebo/Docker suites: where things are and how to call the external validators."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import REPO, VENV_BIN

SITES = sorted(p.parent for p in (REPO / "sim_worlds").glob("*/fleet.yaml"))
GAZEBO_PKG = REPO / "ros2_ws" / "src" / "labfleet_gazebo"
MODELS_DIR = GAZEBO_PKG / "models"
LAUNCH_FILE = GAZEBO_PKG / "launch" / "labfleet_gazebo.launch.py"
DOCKER_DIR = REPO / "docker"


def tool(name: str, hint: str) -> str:
    """The path of an external tool the suite needs; a clear failure (not a skip) when it is missing."""
    path = shutil.which(name, path=f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin")
    if path is None:
        pytest.fail(f"{name} is required for this test: {hint}")
    return path


def ign_sdf_check(path: Path) -> subprocess.CompletedProcess[str]:
    """`ign sdf -k FILE` (Debian ignition-tools + sdformat-sdf): exit 0 and 'Valid.' when the SDF is valid."""
    ign = tool("ign", "install the Debian packages ignition-tools and sdformat-sdf (make setup)")
    return subprocess.run([ign, "sdf", "-k", str(path)], capture_output=True, text=True, timeout=60)
