"""MovingAI `.map` grids (fleet_manager/sites/importer/movingai.py)."""

from __future__ import annotations

import pytest

from fleet_manager.sites.importer.grid import FREE, OCCUPIED, SiteImportError
from fleet_manager.sites.importer.movingai import load_movingai

SMALL = """type octile
height 3
width 5
map
@@@@@
.GS.T
O.W.@
"""


def test_passable_and_blocked_terrain_with_the_first_row_on_top(tmp_path):
    path = tmp_path / "small.map"
    path.write_text(SMALL)
    grid = load_movingai(path, 0.5)
    assert (grid.rows, grid.cols, grid.resolution) == (3, 5, 0.5)
    assert grid.cells[2].tolist() == [OCCUPIED] * 5  # the file's first row is the top of the map
    assert grid.cells[1].tolist() == [FREE, FREE, FREE, FREE, OCCUPIED]  # . G S passable, T trees
    assert grid.cells[0].tolist() == [OCCUPIED, FREE, OCCUPIED, FREE, OCCUPIED]  # O out of bounds, W water
    assert grid.cell_centre(0, 1) == pytest.approx((0.75, 0.25))


@pytest.mark.parametrize(("text", "expected"), [
    (SMALL.replace("width 5", "width 6"), r"small\.map:5: width: the header says 6 cells a row, this row has 5"),
    (SMALL.replace("height 3", "height 4"), r"small\.map: height: the header says 4 rows, the map has 3"),
    (SMALL.replace("height 3", "height three"), r"small\.map:2: height: a whole number above 0 is needed"),
    (SMALL.replace("type octile", "type hex"), r"small\.map:1: type: only 'octile'"),
    (SMALL.replace("map\n", "grid\n"), r"small\.map:4: map: expected the header line 'map'"),
    (SMALL.replace(".GS.T", ".GX.T"), r"small\.map:6: unknown terrain 'X'"),
])
def test_a_bad_map_is_refused_naming_the_file_line_and_field(tmp_path, text, expected):
    path = tmp_path / "small.map"
    path.write_text(text)
    with pytest.raises(SiteImportError, match=expected):
        load_movingai(path, 1.0)
