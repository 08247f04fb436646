"""An occupancy grid in the site's map frame, what an imported site is made from, and the rectangles its occupied
cells merge into (the boxes of world.sdf).

Row 0 of `cells` is the bottom row (+y up, as nav_msgs/OccupancyGrid), column 0 the left one; cell (row, col)
covers [col, col + 1) x [row, row + 1) cells of `resolution` metres from the lower-left corner, which lies at
`origin` (x, y, yaw) in the map frame."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FREE, OCCUPIED, UNKNOWN = 0, 1, 2  # what a cell is to the importer

Mask = npt.NDArray[np.bool_]


class SiteImportError(ValueError):
    """A map cannot be imported: the message names the file and the field (or what is wrong with the map)."""


@dataclass(frozen=True)
class Grid:
    cells: npt.NDArray[np.uint8]  # FREE | OCCUPIED | UNKNOWN, shape (rows, cols), row 0 at the bottom
    resolution: float  # metres per cell
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)  # the lower-left corner of cell (0, 0): x, y, yaw
    source: str = ""  # the file it was read from

    @property
    def rows(self) -> int:
        return int(self.cells.shape[0])

    @property
    def cols(self) -> int:
        return int(self.cells.shape[1])

    @property
    def occupied(self) -> Mask:
        return self.cells == OCCUPIED

    @property
    def free(self) -> Mask:
        return self.cells == FREE

    def to_map(self, x: float, y: float) -> tuple[float, float]:
        """A point in grid metres (from the lower-left corner, along the rows and columns) in the map frame."""
        ox, oy, yaw = self.origin
        c, s = math.cos(yaw), math.sin(yaw)
        return ox + c * x - s * y, oy + s * x + c * y

    def cell_centre(self, row: float, col: float) -> tuple[float, float]:
        """The map-frame centre of a cell."""
        return self.to_map((col + 0.5) * self.resolution, (row + 0.5) * self.resolution)


@dataclass(frozen=True)
class Rect:
    """Cells [row0, row1) x [col0, col1) of a grid."""

    row0: int
    col0: int
    row1: int
    col1: int


def merged_rectangles(mask: Mask) -> list[Rect]:
    """Disjoint rectangles covering exactly the True cells of `mask`: each row's runs of True cells, and a run
    spanning the same columns as a run of the row below it grows that rectangle upwards (greedy row-run merging)."""
    rects: list[Rect] = []
    open_runs: dict[tuple[int, int], int] = {}  # (col0, col1) of a run on the row below -> the row it starts on
    for row in range(mask.shape[0] + 1):
        runs = _runs(mask[row]) if row < mask.shape[0] else []
        still = {}
        for run in runs:
            still[run] = open_runs.pop(run, row)
        for (c0, c1), r0 in open_runs.items():  # not continued on this row: closed
            rects.append(Rect(r0, c0, row, c1))
        open_runs = still
    return sorted(rects, key=lambda r: (r.row0, r.col0))


def _runs(line: Mask) -> list[tuple[int, int]]:
    """[start, end) of each run of True in a 1-D mask."""
    padded = np.concatenate(([False], line, [False])).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
