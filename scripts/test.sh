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
# four xdist workers, one test module each at a time; the modules that start a whole simulated lab (each about a
# core) run on two of them while other modules are left (much of those waits on the wall clock, a server or a
# subprocess: the other two workers take them), then on a third (tests/lab_scheduling.py). The longest modules
# start first (tests/conftest.py).
# The `long` tests (many minutes each: make test-long) are left out unless a marker expression is given.
marker=(-m "not long")
for arg in "$@"; do [ "$arg" = "-m" ] && marker=(); done
export LABFLEET_LAB_WORKERS=${LABFLEET_LAB_WORKERS:-2}
# each test's worker, start and end (tests/conftest.py), summed up after the run: which modules ended it
export LABFLEET_TEST_TIMELINE=${LABFLEET_TEST_TIMELINE:-var/test-timeline.txt}
mkdir -p "$(dirname "$LABFLEET_TEST_TIMELINE")" && : > "$LABFLEET_TEST_TIMELINE"
status=0
.venv/bin/python -m pytest -q -p no:cacheprovider --durations=25 -n "${LABFLEET_TEST_WORKERS:-4}" --dist loadfile \
  --no-loadscope-reorder "${marker[@]}" "$@" || status=$?
.venv/bin/python scripts/test_timeline.py "$LABFLEET_TEST_TIMELINE" || true
exit "$status"
