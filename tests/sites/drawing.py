"""Maps drawn in the tests: a map_server map (YAML + PGM) and MovingAI grids, from rectangles in metres."""

from __future__ import annotations

from pathlib import Path

import numpy as np

FREE_PIXEL, OCCUPIED_PIXEL = 254, 0  # as map_saver writes them (205 is unknown)
Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in metres from the map's lower-left corner


def floor_image(width: float, height: float, resolution: float, boxes: list[Box], walls: float = 0.2) -> np.ndarray:
    """A PGM raster (top row first): free floor, a wall `walls` thick round the edge, and the boxes occupied."""
    img = np.full((round(height / resolution), round(width / resolution)), FREE_PIXEL, dtype=np.uint8)
    edge = [(0, 0, width, walls), (0, height - walls, width, height), (0, 0, walls, height),
            (width - walls, 0, width, height)] if walls else []
    for x0, y0, x1, y1 in [*edge, *boxes]:
        img[round((height - y1) / resolution):round((height - y0) / resolution),
            round(x0 / resolution):round(x1 / resolution)] = OCCUPIED_PIXEL
    return img


def write_pgm(path: Path, img: np.ndarray, maxval: int = 255) -> Path:
    path.write_bytes(b"P5\n# drawn by a test\n%d %d\n%d\n" % (img.shape[1], img.shape[0], maxval) + img.tobytes())
    return path


def write_map(folder: Path, img: np.ndarray, *, resolution: object, origin: tuple[float, float, float] = (0, 0, 0),
              name: str = "floor", extra: str = "", **fields: object) -> Path:
    """floor.pgm and floor.yaml (map_server's fields, overridden or left out with `fields`: None leaves out)."""
    write_pgm(folder / f"{name}.pgm", img)
    values: dict[str, object] = {"image": f"{name}.pgm", "resolution": resolution, "origin": list(origin),
                                 "negate": 0, "occupied_thresh": 0.65, "free_thresh": 0.196} | fields
    text = "".join(f"{k}: {v}\n" for k, v in values.items() if v is not None) + extra
    (folder / f"{name}.yaml").write_text(text)
    return folder / f"{name}.yaml"


# A 20 x 12 m floor: two 10 m shelves with a 1 m aisle between them (one robot wide), two shorter shelves north,
# open floor all round
WAREHOUSE_FLOOR: list[Box] = [(4, 4, 14, 5), (4, 6, 14, 7), (4, 9, 10, 9.6), (12, 9, 16, 9.6)]
