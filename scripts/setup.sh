#!/usr/bin/env bash
# `make setup`: everything LabFleet needs, idempotent and quick when nothing changed.
#   system packages (Debian: chromium for browser tests, the SDF parser), the venv with pinned ROS 2
#   Jazzy wheels, the interface packages (tf2_msgs, nav2_msgs, labfleet_interfaces) built into it, our Python packages (editable), the web console.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
PY=${PYTHON:-python3}
STAMPS=$VENV/.stamps
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
hash_of() { cat "$@" 2>/dev/null | sha256sum | cut -c1-16; }
fresh() { [ -f "$STAMPS/$1" ] && [ "$(cat "$STAMPS/$1")" = "$2" ]; }
mark() { mkdir -p "$STAMPS"; echo "$2" >"$STAMPS/$1"; }

# 1. system packages (Debian 12 and 13 carry the same names for these)
APT_PKGS=()
command -v chromium >/dev/null || APT_PKGS+=(chromium)
command -v ign >/dev/null || APT_PKGS+=(ignition-tools sdformat-sdf libsdformat-dev)
command -v docker-compose >/dev/null || APT_PKGS+=(docker-compose)
command -v cmake >/dev/null || APT_PKGS+=(cmake)
command -v g++ >/dev/null || APT_PKGS+=(g++)
if [ ${#APT_PKGS[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    say "installing Debian packages: ${APT_PKGS[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${APT_PKGS[@]}" >/dev/null
  else
    say "WARNING: missing Debian packages (${APT_PKGS[*]}); run as root or install them: browser and SDF tests need them"
  fi
fi
# a Korean font, so that the console's Korean shows in the browser tests' screenshots (the tests read text, not
# pixels: without it they still pass, and set-up goes on)
if [ ! -d /usr/share/fonts/truetype/nanum ] && [ "$(id -u)" = 0 ]; then
  say "installing a Korean font (fonts-nanum)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends fonts-nanum \
      >/dev/null; } || say "WARNING: fonts-nanum could not be installed: Korean shows as boxes in screenshots"
fi

# 2. the venv with ROS 2 Jazzy wheels
[ -x "$VENV/bin/python" ] || { say "creating $VENV"; "$PY" -m venv "$VENV"; }
pip_install() {  # quiet, without this machine's notes about missing local package folders
  "$VENV/bin/python" -m pip --disable-pip-version-check -q install "$@" 2>&1 | { grep -v '^WARNING: Location' || true; }
  return "${PIPESTATUS[0]}"
}
h=$(hash_of requirements/ros.txt requirements/constraints.txt)
if ! fresh ros "$h"; then
  say "installing ROS 2 Jazzy wheels (pinned in requirements/constraints.txt)"
  pip_install -r requirements/ros.txt -c requirements/constraints.txt
  mark ros "$h"; rm -f "$STAMPS/interfaces"
fi

# 3-5 run side by side (each is idle much of the time: downloads, or one core of a build): the interface build,
# our Python packages (their versions are the constraints' as in step 2: nothing the build uses changes under
# it) and the web console. Each stops the set-up when it fails.
python_packages() {  # 4. our Python packages, editable, with the test tools
  h=$(hash_of pyproject.toml requirements/constraints.txt requirements/dev.txt ros2_ws/src/*/setup.py ros2_ws/src/*/package.xml)
  if ! fresh python "$h"; then
    say "installing fleet_manager, labfleet_sim, labfleet_robot, labfleet_gazebo (editable) and the dev tools"
    pip_install -c requirements/constraints.txt -r requirements/dev.txt \
      -e . -e ros2_ws/src/labfleet_sim -e ros2_ws/src/labfleet_robot -e ros2_ws/src/labfleet_gazebo
    mark python "$h"
  fi
}
web_console() {  # 5. the web console
  if [ -f web_console/package-lock.json ]; then
    h=$(hash_of web_console/package-lock.json)
    if ! fresh npm "$h" || [ ! -d web_console/node_modules ]; then
      say "installing web console dependencies (npm ci)"
      (cd web_console && npm ci --no-audit --no-fund --loglevel=error)
      mark npm "$h"; rm -f "$STAMPS/console"
    fi
    h=$(hash_of $(find web_console/src web_console/index.html web_console/vite.config.* web_console/tsconfig*.json -type f 2>/dev/null | sort))
    if ! fresh console "$h" || [ ! -f web_console/dist/index.html ]; then
      say "building the web console"
      (cd web_console && npm run build --silent)
      mark console "$h"
    fi
  fi
}
python_packages & py_pid=$!
web_console & web_pid=$!
trap 'kill "$py_pid" "$web_pid" 2>/dev/null || true' EXIT  # a failed step stops the others
# 3. the interface packages built into the venv
h=$(hash_of $(find ros2_ws/src/tf2_msgs ros2_ws/src/nav2_msgs ros2_ws/src/labfleet_interfaces -type f | sort) \
  scripts/build_interfaces.sh)
if ! fresh interfaces "$h"; then
  say "building tf2_msgs, nav2_msgs and labfleet_interfaces"
  mkdir -p build
  scripts/build_interfaces.sh "$VENV"
  mark interfaces "$h"
fi
wait "$py_pid" || { say "installing the Python packages failed"; exit 1; }
wait "$web_pid" || { say "building the web console failed"; exit 1; }

say "ready"
