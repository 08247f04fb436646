#!/usr/bin/env bash
# Build ros2_ws/src/labfleet_interfaces into the venv (the venv root is the ROS install prefix).
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
cmake -S ros2_ws/src/labfleet_interfaces -B build/labfleet_interfaces \
  -DCMAKE_INSTALL_PREFIX="$VENV" -DPython3_EXECUTABLE="$PY" -DBUILD_TESTING=OFF >build/labfleet_interfaces.log 2>&1 \
  || { cat build/labfleet_interfaces.log; exit 1; }
cmake --build build/labfleet_interfaces -j2 >>build/labfleet_interfaces.log 2>&1 || { tail -50 build/labfleet_interfaces.log; exit 1; }
cmake --install build/labfleet_interfaces >>build/labfleet_interfaces.log 2>&1 || { tail -50 build/labfleet_interfaces.log; exit 1; }
"$PY" -c "from labfleet_interfaces.msg import RobotState; from labfleet_interfaces.action import ExecuteTask; from labfleet_interfaces.srv import RobotCommand"
echo "labfleet_interfaces built into $VENV"
