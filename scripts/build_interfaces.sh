#!/usr/bin/env bash
# Build the interface packages of ros2_ws/src into the venv (the venv root is the ROS install prefix):
# tf2_msgs and nav2_msgs (upstream Jazzy definitions the PyPI wheels lack), then labfleet_interfaces.
# See shared/ROS2_WHEELS.md. Usage: scripts/build_interfaces.sh [VENV]
set -euo pipefail
VENV=$(cd "${1:-.venv}" && pwd)
PY="$VENV/bin/python"
PYINC=$("$PY" -c "import sysconfig;print(sysconfig.get_paths()['include'])")
NPINC=$("$PY" -c "import numpy;print(numpy.get_include())")
# The wheels' CMake exports carry the include paths of the machine that built them.
# (none left when they were fixed before: grep then finds nothing, which is fine)
{ grep -rl /opt/python/cp311-cp311 "$VENV/share" --include='*.cmake' || true; } | xargs -r sed -i \
  -e "s#/opt/python/cp311-cp311/include/python3.11#$PYINC#g" \
  -e "s#/opt/python/cp311-cp311/lib/python3.11/site-packages/numpy/_core/include#$NPINC#g"
export AMENT_PREFIX_PATH=$VENV CMAKE_PREFIX_PATH=$VENV PATH="$VENV/bin:$PATH"
mkdir -p build
for pkg in tf2_msgs nav2_msgs labfleet_interfaces; do  # in dependency order
  log=build/$pkg.log
  cmake -S "ros2_ws/src/$pkg" -B "build/$pkg" \
    -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF >"$log" 2>&1 \
    || { cat "$log"; exit 1; }
  cmake --build "build/$pkg" -j2 >>"$log" 2>&1 || { tail -50 "$log"; exit 1; }
  cmake --install "build/$pkg" >>"$log" 2>&1 || { tail -50 "$log"; exit 1; }
done
"$PY" -c "
from tf2_msgs.msg import TFMessage
from nav2_msgs.action import NavigateThroughPoses, DockRobot, UndockRobot
from nav2_msgs.msg import SpeedLimit
from labfleet_interfaces.msg import CommandReport, RobotState
from labfleet_interfaces.action import ExecuteTask
from labfleet_interfaces.srv import RobotCommand, SimFault"
echo "tf2_msgs, nav2_msgs and labfleet_interfaces built into $VENV"
