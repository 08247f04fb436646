"""`labfleet-sim`: the ROS 2 node (sim_node.py) as `labfleet up` starts it, with `--ros-args`; or, given
`--vda5050-only`, the VDA 5050 test bench without ROS (vda_bench.py, which never imports rclpy).

    labfleet-sim --ros-args -p world_file:=WORLD.sdf -p fleet_file:=FLEET.yaml [-p ...]
    labfleet-sim --vda5050-only --world WORLD.sdf --fleet FLEET.yaml [--speed X] [--mqtt-url URL] ...
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(args: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if args is None else args)
    ours = argv[:argv.index("--ros-args")] if "--ros-args" in argv else argv
    if "--vda5050-only" in ours:
        from labfleet_sim.vda_bench import main as bench  # no ROS on this path

        sys.exit(bench(argv))
    from labfleet_sim.sim_node import main as ros_node

    ros_node(None if args is None else list(args))


if __name__ == "__main__":
    main()
