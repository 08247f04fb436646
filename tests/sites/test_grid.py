"""Occupied cells merged into rectangles (fleet_manager/sites/importer/grid.py)."""

from __future__ import annotations

import numpy as np
import pytest

from fleet_manager.sites.importer.grid import merged_rectangles


@pytest.mark.parametrize(("seed", "density"), [(1, 0.1), (2, 0.5), (3, 0.9), (4, 0.0), (5, 1.0)])
def test_merged_rectangles_cover_exactly_the_occupied_cells_once(seed, density):
    mask = np.random.default_rng(seed).random((23, 31)) < density
    cover = np.zeros(mask.shape, dtype=int)
    for r in merged_rectangles(mask):
        assert r.row0 < r.row1 and r.col0 < r.col1
        cover[r.row0:r.row1, r.col0:r.col1] += 1
    assert (cover == mask).all()  # every occupied cell once, no free cell


def test_runs_of_the_same_columns_on_rows_above_grow_one_rectangle():
    mask = np.zeros((6, 8), dtype=bool)
    mask[1:5, 2:6] = True  # a shelf: one box
    mask[0, 0:8] = True  # a wall along the bottom: one box
    mask[3, 7] = True
    rects = merged_rectangles(mask)
    assert [(r.row0, r.col0, r.row1, r.col1) for r in rects] == [(0, 0, 1, 8), (1, 2, 5, 6), (3, 7, 4, 8)]
