"""An imported site's occupancy grid in the site map API (issue 17, item 1: the console draws it under the map):
GET /sites/{site}/map says where the grid lies (`grid`), GET /sites/{site}/map/grid serves its PNG with the map's
auth, site-scoped; a site without a grid answers `grid: null` and a 404 problem."""

from __future__ import annotations

import shutil
import struct
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from fleet_manager.settings import REPO_ROOT, Settings
from fleet_manager.sites.importer import import_site
from tests.api.conftest import ADMIN_PASSWORD, API, JWT_SECRET, USER_PASSWORD, admin_client, as_user, login
from tests.sites.drawing import WAREHOUSE_FLOOR, floor_image, write_map


def _settings(tmp_path: Path, **fields: object) -> Settings:
    return Settings(database_url=f"sqlite:///{tmp_path / 'labfleet.db'}", data_dir=tmp_path, ros_enabled=False,
                    environment="test", jwt_secret=JWT_SECRET, admin_password=ADMIN_PASSWORD,
                    vda5050_interface=f"uagv_grid{uuid.uuid4().hex[:8]}", vda5050_factsheet_wait_s=0.5, **fields)


@pytest.fixture
def scanned(tmp_path: Path) -> Iterator[TestClient]:
    """A lab on a site imported from a 20 x 12 m map_server map (0.05 m a pixel, its corner at (-3, -2)); living_lab
    beside it in the sites folder."""
    maps = tmp_path / "maps"
    maps.mkdir()
    map_yaml = write_map(maps, floor_image(20.0, 12.0, 0.05, WAREHOUSE_FLOOR), resolution=0.05,
                         origin=(-3.0, -2.0, 0.0))
    import_site(map_yaml, "occupancy", "scanned_floor", tmp_path / "sites", fleet=[(2, "wardbot")],
                model_dirs=[REPO_ROOT / "sim_worlds"])
    shutil.copytree(REPO_ROOT / "sim_worlds" / "living_lab", tmp_path / "sites" / "living_lab")
    with admin_client(_settings(tmp_path, site="scanned_floor", sites_dir=tmp_path / "sites")) as client:
        yield client


def test_an_imported_site_has_its_grid_in_the_map_and_serves_its_png(scanned: TestClient, tmp_path: Path):
    site_map = scanned.get(f"{API}/sites/scanned_floor/map")
    assert site_map.status_code == 200, site_map.text
    assert site_map.json()["grid"] == {"width": 400, "height": 240, "resolution": 0.05, "origin": [-3.0, -2.0, 0.0]}
    r = scanned.get(f"{API}/sites/scanned_floor/map/grid")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "image/png"
    assert r.content == (tmp_path / "sites" / "scanned_floor" / "map.png").read_bytes()
    assert r.content.startswith(b"\x89PNG\r\n\x1a\n") and struct.unpack(">II", r.content[16:24]) == (400, 240)
    assert len(r.content) < 4_000  # 96,000 cells of a few shades: small

    # the map's auth: a viewer of the site reads it, no token is a 401, a viewer of other sites a 403
    for name, sites in (("vic", ["scanned_floor"]), ("otto", ["living_lab"])):
        made = scanned.post(f"{API}/users", json={"username": name, "password": USER_PASSWORD, "role": "viewer",
                                                  "sites": sites})
        assert made.status_code == 201, made.text
    viewer = as_user(scanned, login(scanned, "vic", USER_PASSWORD)["access_token"])
    assert viewer.get(f"{API}/sites/scanned_floor/map/grid").content == r.content
    other = as_user(scanned, login(scanned, "otto", USER_PASSWORD)["access_token"])
    assert other.get(f"{API}/sites/scanned_floor/map/grid").status_code == 403
    anonymous = as_user(scanned, "")
    anonymous.headers.pop("Authorization")
    assert anonymous.get(f"{API}/sites/scanned_floor/map/grid").status_code == 401
    # site-scoped: another site's name is not this lab's map
    elsewhere = scanned.get(f"{API}/sites/living_lab/map/grid")
    assert elsewhere.status_code == 404 and elsewhere.json()["field"] == "site"


def test_a_site_without_a_grid_says_so_and_its_grid_is_a_404_problem(tmp_path: Path):
    with admin_client(_settings(tmp_path)) as client:  # living_lab, written by hand
        site_map = client.get(f"{API}/sites/living_lab/map")
        assert site_map.status_code == 200 and site_map.json()["grid"] is None
        r = client.get(f"{API}/sites/living_lab/map/grid")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    problem = r.json()
    assert problem["code"] == "not_found" and problem["field"] == "site", problem
    assert "no occupancy grid" in problem["detail"]
