"""An imported site's occupancy grid under the console's live map (issue 17, item 1), in Debian Chromium
(playwright-core), against a lab of its own: a map_server map drawn here (the 20 x 12 m warehouse floor of
tests/sites/drawing.py with a metre of unknown all round, 0.05 m a pixel, its corner at (-4, -3), turned 0.25 rad) is
imported with `labfleet site import` and started with `labfleet up --site`; grid.e2e.mjs checks that the console
fetches the grid's PNG and draws it faint under the walls, its corners where origin and yaw put them before and after
zooming and panning. Screenshots map-grid.png, map-grid-zoomed.png, map-grid-dark.png."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

from tests.browser.e2e import fresh_screenshots, run_e2e
from tests.conftest import REPO, VENV_BIN
from tests.lab_process import LabProcess
from tests.sites.drawing import WAREHOUSE_FLOOR, floor_image, write_map

pytestmark = pytest.mark.browser
UNKNOWN_PIXEL = 205


@pytest.mark.timeout(150)
def test_the_console_draws_the_imported_grid_under_the_map(tmp_path, ros_env):
    maps, sites = tmp_path / "maps", tmp_path / "sites"
    maps.mkdir()
    floor = np.pad(floor_image(20.0, 12.0, 0.05, WAREHOUSE_FLOOR), 20, constant_values=UNKNOWN_PIXEL)
    map_yaml = write_map(maps, floor, resolution=0.05, origin=(-4.0, -3.0, 0.25))
    env = ros_env | {"LABFLEET_SITES_DIR": str(sites)}
    done = subprocess.run([str(VENV_BIN / "labfleet"), "site", "import", str(map_yaml), "--kind", "occupancy",
                           "--name", "scanned_floor", "--fleet", "2:wardbot"], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert (sites / "scanned_floor" / "map.png").stat().st_size < 2_000  # 123,200 pixels of three shades

    shots = fresh_screenshots("map-grid.png", "map-grid-zoomed.png", "map-grid-dark.png")
    lab = LabProcess(env, tmp_path / "lab", extra=("--site", "scanned_floor", "--speed", "2"))
    try:
        lab.wait_ready(robots=2)
        print(run_e2e("grid.e2e.mjs", lab, 90, args=("scanned_floor",)).stdout)
    finally:
        lab.stop()
    assert lab.leftovers == []
    for shot in shots:
        assert shot.stat().st_size > 10_000, shot
