#!/usr/bin/env bash
# `make test`: lint, type-check, then every pytest suite (unit, ROS integration, API on SQLite and
# PostgreSQL, browser). ROS stays on loopback; each ROS test picks its own ROS_DOMAIN_ID.
set -euo pipefail
cd "$(dirname "$0")/.."
export ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST
echo "[test] ruff"
.venv/bin/ruff check .
echo "[test] mypy"
.venv/bin/mypy fleet_manager vda5050 ros2_ws/src/labfleet_sim/labfleet_sim ros2_ws/src/labfleet_robot/labfleet_robot ros2_ws/src/labfleet_gazebo/labfleet_gazebo
echo "[test] pytest"
# two workers, one test module each at a time (module-scoped labs stay in one worker); the longest
# modules start first (tests/conftest.py), so the soak overlaps the rest
# the `long` tests (many minutes each: make test-long) are left out unless a marker expression is given
marker=(-m "not long")
for arg in "$@"; do [ "$arg" = "-m" ] && marker=(); done
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 -n "${LABFLEET_TEST_WORKERS:-2}" --dist loadfile \
  --no-loadscope-reorder "${marker[@]}" "$@"
