"""The grid an imported site keeps for the console (fleet_manager/sites/map_image.py, importer/writer.py): map.png
holds the grid's cells in map_saver's shades, named with its resolution and origin in site.yaml; a bad entry is
refused naming the file and the field."""

from __future__ import annotations

import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import yaml

from fleet_manager.settings import REPO_ROOT
from fleet_manager.sites.importer import import_site
from fleet_manager.sites.map_image import encode_png
from fleet_manager.sites.profile import SiteProfileError, load_site_profile, parse_site_profile
from tests.sites.drawing import WAREHOUSE_FLOOR, floor_image, write_map


def decode_png(data: bytes) -> np.ndarray:
    """An 8-bit greyscale PNG with unfiltered rows (as encode_png writes them), read with zlib alone."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    chunks, pos = {}, 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0] == zlib.crc32(kind + body)
        chunks[kind] = chunks.get(kind, b"") + body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    assert (depth, colour) == (8, 0)
    rows = np.frombuffer(zlib.decompress(chunks[b"IDAT"]), dtype=np.uint8).reshape(height, width + 1)
    assert not rows[:, 0].any()  # no filter
    return rows[:, 1:]


def test_the_imported_site_keeps_its_grid_as_a_png_placed_by_site_yaml(tmp_path: Path):
    drawn = floor_image(20.0, 12.0, 0.05, WAREHOUSE_FLOOR)
    drawn[:20, :40] = 205  # an unknown corner (top left)
    map_yaml = write_map(tmp_path, drawn, resolution=0.05, origin=(-3.0, -2.0, 0.5))
    site = import_site(map_yaml, "occupancy", "floor", tmp_path / "sites", model_dirs=[REPO_ROOT / "sim_worlds"])
    assert site.directory / "map.png" in site.files
    assert (decode_png((site.directory / "map.png").read_bytes()) == drawn).all()  # the image's rows, as drawn
    image = load_site_profile(site.directory).map_image
    assert image is not None
    assert (image.width, image.height, image.resolution, image.origin) == (400, 240, 0.05, (-3.0, -2.0, 0.5))


def test_encode_png_round_trips():
    shades = np.random.default_rng(1).integers(0, 256, (7, 13), dtype=np.uint8)
    assert (decode_png(encode_png(shades)) == shades).all()


@pytest.mark.parametrize(("entry", "says"), [
    ("{image: map.png, resolution: 0.05}", "map_image.origin: missing"),
    ("{image: map.png, resolution: 0, origin: [0, 0, 0]}", "map_image.resolution: a number"),
    ("{image: ../map.png, resolution: 0.05, origin: [0, 0, 0]}", "map_image.image: the name of a file"),
    ("{image: gone.png, resolution: 0.05, origin: [0, 0, 0]}", "map_image.image: gone.png not found"),
    ("{image: map.pgm, resolution: 0.05, origin: [0, 0, 0]}", "map_image.image: map.pgm is not a PNG"),
    ("{image: map.png, resolution: 0.05, origin: [0, 0]}", "map_image.origin: [x, y, yaw]"),
    ("{image: map.png, resolution: 0.05, origin: [0, 0, 0], scale: 2}", "map_image: unknown field 'scale'"),
])
def test_a_bad_map_image_entry_names_the_file_and_field(tmp_path: Path, entry: str, says: str):
    (tmp_path / "map.png").write_bytes(encode_png(np.full((2, 3), 254, dtype=np.uint8)))
    (tmp_path / "map.pgm").write_bytes(b"P5\n3 2\n255\n" + bytes(6))
    with pytest.raises(SiteProfileError, match=re.escape(f"site.yaml: {says}")):
        parse_site_profile(tmp_path / "site.yaml", yaml.safe_load(f"map_image: {entry}"))
