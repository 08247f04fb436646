"""The occupancy grid a site was imported from, kept for the web console to draw under its map: a greyscale PNG
beside site.yaml, named in site.yaml's `map_image` (docs/site_files.md):

    map_image:
      image: map.png                # beside site.yaml; its top row is the grid's last row (as map_server's images)
      resolution: 0.05              # metres per pixel
      origin: [-3.0, -2.0, 0.0]     # x, y, yaw of the lower-left pixel's corner in the map frame

Shades as map_saver writes them: 0 occupied, 205 unknown, 254 free. The PNG is written here (zlib, no imaging
library) and only its header is read back: its size, to place it."""

from __future__ import annotations

import math
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_FIELDS = {"image", "resolution", "origin"}


class MapImageError(ValueError):
    """site.yaml's map_image cannot be used: the message names the file and the field."""


@dataclass(frozen=True)
class MapImage:
    path: Path  # the PNG
    resolution: float  # metres per pixel
    origin: tuple[float, float, float]  # the lower-left pixel's corner: x, y, yaw
    width: int  # pixels
    height: int

    def public(self) -> dict[str, Any]:
        """What the site map API says of it (GET /sites/{site}/map, `grid`)."""
        return {"width": self.width, "height": self.height, "resolution": self.resolution, "origin": list(self.origin)}


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(shades: npt.NDArray[np.uint8]) -> bytes:
    """An 8-bit greyscale PNG of `shades` (top row first): every row unfiltered, the whole deflated at level 9
    (an occupancy grid is long runs of a few shades: a 400 x 240 floor takes about a kilobyte)."""
    if shades.ndim != 2 or shades.dtype != np.uint8 or 0 in shades.shape:
        raise ValueError(f"a non-empty 2-D uint8 array is needed, got {shades.dtype} {shades.shape}")
    height, width = shades.shape
    rows = np.concatenate([np.zeros((height, 1), dtype=np.uint8), shades], axis=1)  # filter byte 0: none
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8 bits, greyscale, deflate, filter, no interlace
    return (PNG_SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9))
            + _chunk(b"IEND", b""))


def png_size(path: Path, where: str) -> tuple[int, int]:
    """The width and height of a PNG file (from its header); MapImageError naming `where` otherwise."""
    try:
        with path.open("rb") as f:
            head = f.read(24)
    except OSError as exc:
        raise MapImageError(f"{where}: {path.name} cannot be read: {exc.strerror or exc}") from None
    if len(head) < 24 or not head.startswith(PNG_SIGNATURE) or head[12:16] != b"IHDR":
        raise MapImageError(f"{where}: {path.name} is not a PNG image")
    width, height = struct.unpack(">II", head[16:24])
    if width < 1 or height < 1:
        raise MapImageError(f"{where}: {path.name} has a bad size {width} x {height}")
    return width, height


def parse_map_image(site_yaml: Path, data: Any) -> MapImage:
    """site.yaml's `map_image` entry, its PNG beside site.yaml."""
    where = f"{site_yaml}: map_image"
    if not isinstance(data, dict):
        raise MapImageError(f"{where}: a mapping with image, resolution and origin is needed, got {data!r}")
    extra = sorted(set(data) - _FIELDS)
    if extra:
        raise MapImageError(f"{where}: unknown field {extra[0]!r} (known: {', '.join(sorted(_FIELDS))})")
    missing = sorted(_FIELDS - set(data))
    if missing:
        raise MapImageError(f"{where}.{missing[0]}: missing")
    image = data["image"]
    if not isinstance(image, str) or not image or Path(image).name != image:
        raise MapImageError(f"{where}.image: the name of a file beside site.yaml is needed, got {image!r}")
    resolution = data["resolution"]
    if isinstance(resolution, bool) or not isinstance(resolution, int | float) or not (
            math.isfinite(resolution) and resolution > 0):
        raise MapImageError(f"{where}.resolution: a number of metres per pixel above 0 is needed, got {resolution!r}")
    origin = data["origin"]
    if not isinstance(origin, list) or len(origin) != 3 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in origin):
        raise MapImageError(f"{where}.origin: [x, y, yaw] (3 numbers) is needed, got {origin!r}")
    path = site_yaml.parent / image
    if not path.is_file():
        raise MapImageError(f"{where}.image: {image} not found beside site.yaml")
    width, height = png_size(path, f"{where}.image")
    x, y, yaw = (float(v) for v in origin)
    return MapImage(path, float(resolution), (x, y, yaw), width, height)
