"""Issue 17, acceptance 5: a map_server map (YAML + PGM) drawn here, a 20 x 12 m floor with shelves and a
one-robot-wide aisle, imported with `labfleet site import`, started with `labfleet up --site` and crossed by
deliveries: two robots, each from a pickup at one end of the floor to a dropoff at the other, in opposite
directions. Both complete, with no contact."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tests.conftest import REPO, VENV_BIN
from tests.lab_process import LabProcess, http, run_deliveries
from tests.sites.drawing import WAREHOUSE_FLOOR, floor_image, write_map

pytestmark = pytest.mark.ros


@pytest.mark.timeout(300)
def test_an_imported_slam_map_runs_as_a_lab_and_delivers_across_it(tmp_path, ros_env):
    maps, sites = tmp_path / "maps", tmp_path / "sites"
    maps.mkdir()
    map_yaml = write_map(maps, floor_image(20.0, 12.0, 0.05, WAREHOUSE_FLOOR), resolution=0.05,
                         origin=(-3.0, -2.0, 0.0))
    env = ros_env | {"LABFLEET_SITES_DIR": str(sites)}
    done = subprocess.run([str(VENV_BIN / "labfleet"), "site", "import", str(map_yaml), "--kind", "occupancy",
                           "--name", "scanned_floor", "--fleet", "2:wardbot"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "site scanned_floor:" in done.stdout
    places = yaml.safe_load((sites / "scanned_floor" / "navgraph.yaml").read_text())["places"]
    pickups = sorted((p["x"], n) for n, p in places.items() if p.get("kind") == "pickup")
    dropoffs = sorted((p["x"], n) for n, p in places.items() if p.get("kind") == "dropoff")
    west_pickup, east_pickup = pickups[0][1], pickups[-1][1]
    west_dropoff, east_dropoff = dropoffs[0][1], dropoffs[-1][1]
    assert places[east_dropoff]["x"] - places[west_pickup]["x"] > 10  # across the floor

    lab = LabProcess(env, tmp_path / "lab", extra=("--site", "scanned_floor", "--speed", "4"))
    try:
        lab.wait_ready(robots=2)
        api = f"{lab.url}/api/v1"
        missions = run_deliveries(api, ((west_pickup, east_dropoff), (east_pickup, west_dropoff)), 150, poll_s=1.0)
        incidents = http.get(f"{api}/incidents", params={"limit": 1000}, timeout=10).json()
    finally:
        lab.stop()
    assert lab.leftovers == []
    assert [m["status"] for m in missions] == ["completed", "completed"], [
        (m["id"], m["status"], m.get("failure_reason"), m["route"]) for m in missions]
    assert {m["robot_id"] for m in missions} == {"wardbot_1", "wardbot_2"}
    assert not [line for line in lab.lines if "contact:" in line], lab.output()
    assert [i for i in incidents if i["kind"] == "collision"] == []
