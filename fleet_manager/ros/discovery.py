"""How ROS 2 nodes find each other (LABFLEET_ROS_DISCOVERY), as the environment ROS 2 Jazzy reads.

- `localhost` (default; the simulated lab and every test): ROS_AUTOMATIC_DISCOVERY_RANGE=LOCALHOST, nothing
  leaves the machine;
- `subnet`: ROS_AUTOMATIC_DISCOVERY_RANGE=SUBNET, multicast discovery on the local network (real robots on
  the lab's Wi-Fi or LAN);
- `server:HOST:PORT`: a Fast DDS discovery server (`fastdds discovery -i 0 -l HOST -p PORT`, shipped in the
  venv as `fastdds`): ROS_DISCOVERY_SERVER=HOST:PORT for every process; the fleet manager is a super client
  (ROS_SUPER_CLIENT=TRUE) so that it sees every robot's topics, not only those it already uses.
"""

from __future__ import annotations

KEYS = ("ROS_AUTOMATIC_DISCOVERY_RANGE", "ROS_DISCOVERY_SERVER", "ROS_SUPER_CLIENT")


def discovery_env(mode: str, *, super_client: bool = False) -> dict[str, str]:
    """The ROS environment of a discovery mode; keys of KEYS left out must be removed from the environment."""
    if mode == "localhost":
        return {"ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST"}
    if mode == "subnet":
        return {"ROS_AUTOMATIC_DISCOVERY_RANGE": "SUBNET"}
    if mode.startswith("server:"):
        _, host, port = mode.split(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"discovery {mode!r}: expected server:HOST:PORT with a port 1-65535")
        env = {"ROS_DISCOVERY_SERVER": f"{host}:{port}", "ROS_AUTOMATIC_DISCOVERY_RANGE": "SYSTEM_DEFAULT"}
        if super_client:
            env["ROS_SUPER_CLIENT"] = "TRUE"
        return env
    raise ValueError(f"unknown discovery mode {mode!r}: localhost | subnet | server:HOST:PORT")


def apply(env: dict[str, str], mode: str, *, super_client: bool = False) -> dict[str, str]:
    """`env` (a copy) set up for the discovery mode."""
    out = {k: v for k, v in env.items() if k not in KEYS}
    out.update(discovery_env(mode, super_client=super_client))
    return out
