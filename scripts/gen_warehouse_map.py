"""Writes a MovingAI `.map` grid of a warehouse laid out as the grid-benchmark warehouse maps are named
(`warehouse-<shelf length>-<shelves per row>-<rows>-<shelf depth>-<aisle>`): open floor at both ends, rows of
shelves between with one-cell gaps, one-cell aisles between rows, a wall around. The defaults draw the layout of
`warehouse-10-20-10-2-1` with its one-cell wall (161 x 63 cells, 5,699 of them free), the map issue 17 measured on.

    .venv/bin/python scripts/gen_warehouse_map.py [--out bench/maps/warehouse-10-20-10-2-1.map]
"""

from __future__ import annotations

import argparse
from pathlib import Path


def warehouse(shelf: int = 10, per_row: int = 10, rows: int = 20, depth: int = 2, aisle: int = 1,
              end: int = 25) -> list[str]:
    width = 2 + 2 * end + per_row * shelf + (per_row - 1)
    height = 2 + aisle + rows * (depth + aisle)
    grid = [["."] * width for _ in range(height)]
    for x in range(width):
        grid[0][x] = grid[height - 1][x] = "@"
    for y in range(height):
        grid[y][0] = grid[y][width - 1] = "@"
    for r in range(rows):
        top = 1 + aisle + r * (depth + aisle)
        for s in range(per_row):
            left = 1 + end + s * (shelf + 1)
            for y in range(top, top + depth):
                for x in range(left, left + shelf):
                    grid[y][x] = "@"
    return ["".join(row) for row in grid]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("bench/maps/warehouse-10-20-10-2-1.map"))
    args = parser.parse_args()
    lines = warehouse()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(f"type octile\nheight {len(lines)}\nwidth {len(lines[0])}\nmap\n" + "\n".join(lines) + "\n")
    free = sum(row.count(".") for row in lines)
    print(f"{args.out}: {len(lines[0])} x {len(lines)} cells, {free} free")  # noqa: T201 (a script's output)


if __name__ == "__main__":
    main()
