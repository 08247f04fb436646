"""A MovingAI grid map (the `.map` files of the path-finding benchmarks, movingai.com/benchmarks/formats.html) as a
Grid:

    type octile
    height H
    width W
    map
    (H rows of W characters)

`.` and `G` are passable ground and `S` swamp (passable); `@` and `O` are out of bounds, `T` trees and `W` water,
none of which a robot drives through: they are obstacles. The first row is the top of the map (+y up in the
Grid). The format has no scale: `resolution` metres per cell comes from the command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from fleet_manager.sites.importer.grid import FREE, OCCUPIED, Grid, SiteImportError

PASSABLE = frozenset(".GS")
BLOCKED = frozenset("@OTW")
_HEADER = ("type", "height", "width", "map")


def load_movingai(path: Path, resolution: float) -> Grid:
    """The map's cells, row 0 at the bottom; SiteImportError names the file, the line and the field."""
    try:
        lines = path.read_text(encoding="ascii").splitlines()
    except OSError as exc:
        raise SiteImportError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SiteImportError(f"{path}: not a MovingAI map (the format is ASCII text)") from None
    fields: dict[str, str] = {}
    for number, key in enumerate(_HEADER, start=1):
        line = lines[number - 1].split() if len(lines) >= number else []
        if not line or line[0] != key:
            raise SiteImportError(f"{path}:{number}: {key}: expected the header line {key!r}"
                                  f"{' octile' if key == 'type' else ' N' if key != 'map' else ''}, "
                                  f"got {' '.join(line)!r}")
        fields[key] = " ".join(line[1:])
    if fields["type"] != "octile":
        raise SiteImportError(f"{path}:1: type: only 'octile' maps exist, got {fields['type']!r}")
    size = {}
    for number, key in ((2, "height"), (3, "width")):
        if not fields[key].isdigit() or int(fields[key]) < 1:
            raise SiteImportError(f"{path}:{number}: {key}: a whole number above 0 is needed, got {fields[key]!r}")
        size[key] = int(fields[key])
    rows = [line.rstrip("\r") for line in lines[4:]]
    while rows and not rows[-1].strip():
        rows.pop()
    if len(rows) != size["height"]:
        raise SiteImportError(f"{path}: height: the header says {size['height']} rows, the map has {len(rows)}")
    cells = np.empty((size["height"], size["width"]), dtype=np.uint8)
    for i, row in enumerate(rows):
        number = i + 5
        if len(row) != size["width"]:
            raise SiteImportError(f"{path}:{number}: width: the header says {size['width']} cells a row, "
                                  f"this row has {len(row)}")
        bad = sorted(set(row) - PASSABLE - BLOCKED)
        if bad:
            raise SiteImportError(f"{path}:{number}: unknown terrain {''.join(bad)!r} (passable: . G S; "
                                  "blocked: @ O T W)")
        cells[i] = [FREE if ch in PASSABLE else OCCUPIED for ch in row]
    return Grid(cells[::-1].copy(), resolution, (0.0, 0.0, 0.0), str(path))
