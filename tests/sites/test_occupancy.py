"""map_server maps read as nav2_map_server's map_io reads them (fleet_manager/sites/importer/occupancy.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from fleet_manager.sites.importer.grid import FREE, OCCUPIED, UNKNOWN, SiteImportError
from fleet_manager.sites.importer.occupancy import classify, load_occupancy, occupancy_values, read_netpbm
from tests.sites.drawing import write_map


def _values(pixels: list[int], **params: object) -> list[int]:
    shade = np.array([pixels], dtype=np.float64) / 255
    args = {"negate": False, "free_thresh": 0.196, "occupied_thresh": 0.65, "mode": "trinary"} | params
    return occupancy_values(shade, **args)[0].tolist()  # type: ignore[arg-type]


def test_trinary_thresholds_are_strict_as_in_map_io():
    # occ = 1 - shade: black 0 -> 1.0, white 255 -> 0.0; 205 (map_saver's unknown) -> 0.196..., not below 0.196
    assert _values([0, 255, 254, 205]) == [100, 0, 0, -1]
    at = 1 - 89 / 255  # a threshold that a pixel meets exactly is not passed: occupied only when occ > occupied_thresh
    assert _values([89, 88], occupied_thresh=at) == [-1, 100]
    free_at = 1 - 240 / 255
    assert _values([240, 241], free_thresh=free_at) == [-1, 0]


def test_negate_swaps_black_and_white_but_not_the_thresholds():
    assert _values([0, 255, 128], negate=True) == [0, 100, -1]
    assert _values([0, 255, 128], negate=False) == [100, 0, -1]


def test_scale_maps_between_the_thresholds_linearly_and_raw_keeps_the_value():
    occ = 0.4  # halfway-ish between 0.2 and 0.6
    pixel = round((1 - occ) * 255)
    expected = round(((1 - pixel / 255) - 0.2) / (0.6 - 0.2) * 100)
    assert _values([pixel, 0, 255], mode="scale", free_thresh=0.2, occupied_thresh=0.6) == [expected, 100, 0]
    assert _values([0, 57, 100, 101, 255], mode="raw") == [0, 57, 100, -1, -1]


def test_the_importer_reads_values_as_the_costmap_static_layer_does():
    cells = classify(np.array([[100, 0, -1, 57, 99]], dtype=np.int8))
    assert cells.tolist() == [[OCCUPIED, FREE, UNKNOWN, FREE, FREE]]


def test_the_image_is_flipped_and_the_origin_is_the_lower_left_corner(tmp_path):
    img = np.full((4, 6), 254, dtype=np.uint8)
    img[3, 0] = 0  # bottom-left pixel of the image
    img[0, 5] = 205  # top-right: unknown
    grid = load_occupancy(write_map(tmp_path, img, resolution=0.5, origin=(1.0, 2.0, 0.0)))
    assert grid.cells[0, 0] == OCCUPIED and grid.cells[3, 5] == UNKNOWN
    assert int((grid.cells == OCCUPIED).sum()) == 1
    assert grid.cell_centre(0, 0) == pytest.approx((1.25, 2.25))
    turned = load_occupancy(write_map(tmp_path, img, resolution=0.5, origin=(1.0, 2.0, math.pi / 2)))
    assert turned.cell_centre(0, 0) == pytest.approx((0.75, 2.25))  # rotated about the origin
    assert turned.cell_centre(0, 2) == pytest.approx((0.75, 3.25))  # along the rows is +y after a quarter turn


def test_ascii_and_16_bit_images_read_the_same(tmp_path):
    (tmp_path / "a.pgm").write_text("P2\n# comment\n3 1\n255\n0 128 255\n")
    assert read_netpbm(tmp_path / "a.pgm", "m.yaml")[0].tolist() == pytest.approx([0.0, 128 / 255, 1.0])
    wide = np.array([[0, 32768, 65535]], dtype=">u2")  # big-endian, as netpbm stores 16-bit pixels
    (tmp_path / "b.pgm").write_bytes(b"P5\n3 1\n65535\n" + wide.tobytes())
    assert read_netpbm(tmp_path / "b.pgm", "m.yaml")[0].tolist() == pytest.approx([0.0, 32768 / 65535, 1.0])


# bad files: the error names the file and the field
@pytest.mark.parametrize(("fields", "expected"), [
    ({"resolution": None}, "resolution: missing"),
    ({"resolution": -0.05}, "resolution: must be above 0"),
    ({"resolution": "fine"}, "resolution: a number is needed"),
    ({"image": None}, "image: missing"),
    ({"image": "elsewhere.pgm"}, "image: "),
    ({"origin": "[1.0, 2.0]"}, "origin: [x, y, yaw] (3 numbers) is needed"),
    ({"occupied_thresh": 1.5}, "occupied_thresh: must be 0 to 1"),
    ({"free_thresh": 0.9}, "free_thresh: 0.9 is above occupied_thresh"),
    ({"negate": None}, "negate: missing"),
    ({"negate": "maybe"}, "negate: 0, 1, true or false"),
    ({"mode": "fancy"}, "mode: must be one of trinary, scale, raw"),
])
def test_a_bad_map_yaml_is_refused_naming_the_file_and_the_field(tmp_path, fields, expected):
    path = write_map(tmp_path, np.full((4, 4), 254, dtype=np.uint8), **({"resolution": 0.05} | fields))
    with pytest.raises(SiteImportError) as err:
        load_occupancy(path)
    assert str(err.value).startswith(f"{path}: ")
    assert expected in str(err.value)
    if fields.get("image") == "elsewhere.pgm":
        assert str(err.value) == f"{path}: image: {tmp_path / 'elsewhere.pgm'} not found"


def test_a_bad_image_is_refused_naming_the_yaml_and_the_image(tmp_path):
    path = write_map(tmp_path, np.full((4, 4), 254, dtype=np.uint8), resolution=0.05)
    (tmp_path / "floor.pgm").write_bytes(b"\x89PNG\r\n\x1a\n")
    with pytest.raises(SiteImportError, match=r"floor\.yaml: image: floor\.pgm is not a PGM or PPM image"):
        load_occupancy(path)
    (tmp_path / "floor.pgm").write_bytes(b"P5\n4 4\n255\n" + bytes(5))
    with pytest.raises(SiteImportError, match=r"floor\.yaml: image: floor\.pgm is cut short"):
        load_occupancy(path)
    (tmp_path / "floor.yaml").write_text("image: [floor.pgm\n")
    with pytest.raises(SiteImportError, match=r"floor\.yaml: not YAML"):
        load_occupancy(path)
