"""A map_server map (the YAML + image pair every ROS SLAM tool saves) as a Grid, read as nav2_map_server's
map_io.cpp reads it:

- the YAML's `image` (relative to the YAML's folder unless absolute), `resolution` (m/cell), `origin` [x, y, yaw]
  (the pose of the lower-left pixel), `free_thresh`, `occupied_thresh`, `negate` (0/1 or true/false) and `mode`
  (trinary, the default, scale or raw); other fields (elevation_image, ...) are ignored;
- a pixel's shade is the mean of its colour channels over the image's maximum (0 black .. 1 white), its occupancy
  `occ = shade` with negate, else `1 - shade`;
- trinary: 100 (occupied) when occupied_thresh < occ, 0 (free) when occ < free_thresh, else -1 (unknown);
  scale: the same ends, in between rint((occ - free) / (occupied - free) * 100); raw: round(shade * 255) when
  it is 0..100, else -1;
- the image's top row is the map's last row (the grid is flipped to +y up).

The importer then reads the OccupancyGrid as Nav2's costmap static layer does by default (lethal_cost_threshold
100, trinary_costmap true): 100 is an obstacle, -1 is unknown (neither driven on nor walled), any other value free.
Images: netpbm (PGM P2/P5, as map_saver writes them by default, and PPM P3/P6), 8 or 16 bits; no alpha channel,
so map_io's alpha rules never apply."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import yaml

from fleet_manager.sites.importer.grid import FREE, OCCUPIED, UNKNOWN, Grid, SiteImportError

MODES = ("trinary", "scale", "raw")
_NETPBM = {b"P2": (1, False), b"P5": (1, True), b"P3": (3, False), b"P6": (3, True)}  # channels, binary
_TOKEN = re.compile(rb"\s*(?:#[^\n]*\n\s*)*(\S+)")


def _number(path: Path, doc: dict[str, Any], key: str) -> float:
    if key not in doc:
        raise SiteImportError(f"{path}: {key}: missing (a map_server map needs it)")
    value = doc[key]
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SiteImportError(f"{path}: {key}: a number is needed, got {value!r}")
    return float(value)


def read_map_yaml(path: Path) -> dict[str, Any]:
    """The map's parameters, checked: image (a Path), resolution, origin, free_thresh, occupied_thresh, negate,
    mode. SiteImportError names the file and the field."""
    try:
        doc = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise SiteImportError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        raise SiteImportError(f"{path}: not YAML: {exc}") from None
    if not isinstance(doc, dict):
        raise SiteImportError(f"{path}: expected a mapping with image, resolution, origin, thresholds and negate")
    image = doc.get("image")
    if image is None:
        raise SiteImportError(f"{path}: image: missing (a map_server map needs it)")
    if not isinstance(image, str) or not image:
        raise SiteImportError(f"{path}: image: a file name is needed, got {image!r}")
    resolution = _number(path, doc, "resolution")
    if resolution <= 0:
        raise SiteImportError(f"{path}: resolution: must be above 0 m per cell, got {resolution:g}")
    origin = doc.get("origin")
    if origin is None:
        raise SiteImportError(f"{path}: origin: missing (a map_server map needs it)")
    if not isinstance(origin, list) or len(origin) != 3 or not all(
            isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in origin):
        raise SiteImportError(f"{path}: origin: [x, y, yaw] (3 numbers) is needed, got {origin!r}")
    free, occupied = _number(path, doc, "free_thresh"), _number(path, doc, "occupied_thresh")
    for key, value in (("free_thresh", free), ("occupied_thresh", occupied)):
        if not 0.0 <= value <= 1.0:
            raise SiteImportError(f"{path}: {key}: must be 0 to 1, got {value:g}")
    if free > occupied:
        raise SiteImportError(f"{path}: free_thresh: {free:g} is above occupied_thresh {occupied:g}")
    if "negate" not in doc:
        raise SiteImportError(f"{path}: negate: missing (a map_server map needs it: 0 or 1)")
    negate = doc["negate"]
    if not isinstance(negate, int):  # an int, or a bool (as map_io: as<int>, else as<bool>)
        raise SiteImportError(f"{path}: negate: 0, 1, true or false is needed, got {negate!r}")
    mode = doc.get("mode", "trinary")
    if mode not in MODES:
        raise SiteImportError(f"{path}: mode: must be one of {', '.join(MODES)}, got {mode!r}")
    if mode == "scale" and free == occupied:  # map_io would divide by zero between them
        raise SiteImportError(f"{path}: free_thresh: must be below occupied_thresh in scale mode, both are {free:g}")
    image_path = Path(image) if image.startswith("/") else path.parent / image
    return {"image": image_path, "resolution": resolution, "origin": tuple(float(v) for v in origin),
            "free_thresh": free, "occupied_thresh": occupied, "negate": bool(negate), "mode": mode}


def read_netpbm(path: Path, where: str) -> npt.NDArray[np.float64]:
    """An image's shades (0 black .. 1 white, the mean of its channels), shape (height, width), top row first."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SiteImportError(f"{where}: image {path} cannot be read: {exc.strerror or exc}") from None
    magic = data[:2]
    if magic not in _NETPBM:
        raise SiteImportError(f"{where}: image: {path.name} is not a PGM or PPM image (netpbm P2/P5/P3/P6): "
                              "save the map with map_saver's default format, or convert it to PGM")
    channels, binary = _NETPBM[magic]
    header: list[int] = []
    pos = 2
    for _ in range(3):
        match = _TOKEN.match(data, pos)
        if match is None or not match.group(1).isdigit():
            raise SiteImportError(f"{where}: image: {path.name} has a broken header (width, height, maximum)")
        header.append(int(match.group(1)))
        pos = match.end()
    width, height, maxval = header
    if width < 1 or height < 1 or not 0 < maxval < 65536:
        raise SiteImportError(f"{where}: image: {path.name} has a bad size {width} x {height} or maximum {maxval}")
    count = width * height * channels
    if binary:
        dtype = np.dtype(np.uint8) if maxval < 256 else np.dtype(">u2")
        raster = data[pos + 1:]  # one whitespace character after the maximum
        if len(raster) < count * dtype.itemsize:
            raise SiteImportError(f"{where}: image: {path.name} is cut short ({len(raster)} bytes of pixels, "
                                  f"{count * dtype.itemsize} needed for {width} x {height})")
        values = np.frombuffer(raster, dtype=dtype, count=count).astype(np.float64)
    else:
        text = re.sub(rb"#[^\n]*", b"", data[pos:]).split()
        if len(text) < count:
            raise SiteImportError(f"{where}: image: {path.name} has {len(text)} pixel values, "
                                  f"{count} needed for {width} x {height}")
        values = np.array([int(v) for v in text[:count]], dtype=np.float64)
    if values.max(initial=0) > maxval:
        raise SiteImportError(f"{where}: image: {path.name} has pixel values above its maximum {maxval}")
    return values.reshape(height, width, channels).mean(axis=2) / maxval


def occupancy_values(shade: npt.NDArray[np.float64], *, negate: bool, free_thresh: float, occupied_thresh: float,
                     mode: str) -> npt.NDArray[np.int8]:
    """The OccupancyGrid values map_server gives the pixels (-1, 0..100), image rows as they are."""
    occ = shade if negate else 1.0 - shade
    out = np.full(shade.shape, -1, dtype=np.int8)
    if mode == "raw":
        raw = np.round(shade * 255)
        inside = (raw >= 0) & (raw <= 100)
        out[inside] = raw[inside].astype(np.int8)
        return out
    occupied, free = occupied_thresh < occ, occ < free_thresh
    out[occupied] = 100
    out[free & ~occupied] = 0
    if mode == "scale":
        between = ~occupied & ~free
        out[between] = np.rint((occ[between] - free_thresh) / (occupied_thresh - free_thresh) * 100.0).astype(np.int8)
    return out


def classify(values: npt.NDArray[np.int8]) -> npt.NDArray[np.uint8]:
    """OccupancyGrid values as the costmap's static layer reads them by default: 100 an obstacle, -1 unknown, any
    other value free."""
    cells = np.full(values.shape, FREE, dtype=np.uint8)
    cells[values >= 100] = OCCUPIED
    cells[values < 0] = UNKNOWN
    return cells


def load_occupancy(path: Path) -> Grid:
    """A map_server map (its YAML file) as a Grid in the map frame, row 0 at the bottom."""
    params = read_map_yaml(path)
    image: Path = params["image"]
    if not image.is_file():
        raise SiteImportError(f"{path}: image: {image} not found")
    shade = read_netpbm(image, str(path))
    values = occupancy_values(shade, negate=params["negate"], free_thresh=params["free_thresh"],
                              occupied_thresh=params["occupied_thresh"], mode=params["mode"])
    return Grid(classify(values)[::-1].copy(), params["resolution"], params["origin"], str(path))
