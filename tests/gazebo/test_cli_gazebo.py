"""`labfleet up --sim gazebo` on a machine without Gazebo/ROS 2 tools: a non-zero exit naming what is missing."""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.conftest import REPO, VENV_BIN


def _labfleet_up_gazebo(path: str) -> subprocess.CompletedProcess[str]:
    labfleet = VENV_BIN / "labfleet"
    if not labfleet.exists():
        pytest.fail(f"{labfleet} is missing: `make setup` installs the labfleet command")
    env = {"PATH": path, "HOME": str(REPO), "ROS_DOMAIN_ID": "75", "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    return subprocess.run([str(labfleet), "up", "--sim", "gazebo", "--port", "18765"], capture_output=True,
                          text=True, cwd=REPO, env=env, timeout=60)


def test_without_gz_and_ros2_it_names_both(tmp_path):
    result = _labfleet_up_gazebo(str(tmp_path))  # a PATH holding neither tool
    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert re.search(r"\bgz\b", message) and re.search(r"\bros2\b", message), message


def test_with_gz_only_it_names_ros2(tmp_path):
    fake_gz = tmp_path / "gz"
    fake_gz.write_text("#!/bin/sh\nexit 0\n")
    fake_gz.chmod(0o755)
    result = _labfleet_up_gazebo(str(tmp_path))
    assert result.returncode != 0
    message = result.stderr + result.stdout
    assert re.search(r"\bros2\b", message) and not re.search(r"\bgz\b", message), message
