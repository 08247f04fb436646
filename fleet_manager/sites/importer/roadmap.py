"""The lane network of an imported grid: a lattice of places `lane_spacing` apart on the floor a robot fits on,
joined by straight lanes, and the places named by kind.

- A cell is drivable when the robot's centre there keeps `robot_radius` + MARGIN_M from every obstacle, unknown
  cell and the map's edge.
- The grid is cut into square blocks `lane_spacing` wide; each part of the drivable floor inside a block (an
  aisle and the floor beside its shelf are two parts) gets one vertex: on the cell with the most clearance, up to
  what a two-way lane's sides need (so a vertex keeps off a wall, and an aisle's lies on its centre line), nearest
  the block's centre among those (so an open floor's vertices form a regular lattice). Vertices of neighbouring
  blocks on one part of the floor are joined by a lane when the straight line between them is drivable all
  along (or strays from a drivable right-angled path by at most MARGIN_M), or else by two lanes at a right angle through
  a bend (where a lane leaves an aisle whose line misses the next vertex).
- A lane's width is the free floor across it (the shortest run of free cells across the lane, along its length),
  at most `lane_spacing` (the lattice's next lane is that far) and at most what keeps a robot driving a quarter of
  it off the centre line SIDE_MARGIN_M clear of obstacles (a lane along a wall is narrower than the floor beside
  it). A lane at least `two_way_width` wide is written with that width, which makes it two-way with a side for
  each direction (fleet_manager/core/lanes.py); a narrower one is a single lane, one robot at a time (no width).
  A two-way lane with another lane close beside it (not meeting it) is narrowed until their sides keep a robot's
  width and SIDE_MARGIN_M apart.
- Only the largest connected part of the lattice is kept: every place is reachable from every other.
- Shelves are the occupied parts of the map other than its outer walls (the largest part touching the map's
  edge): the vertex nearest each shelf becomes a `pickup`, and the one of its other vertices farthest from the
  pickup (at least a lane spacing away) a `dropoff`. Parking spots and chargers are then chosen one by one among
  the vertices whose taking leaves every other vertex reachable (a robot standing there blocks no way), dead ends
  first. Lanes that reach a named place are single lanes: a robot stops there."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
import numpy.typing as npt
from scipy import ndimage
from shapely import STRtree
from shapely.geometry import LineString

from fleet_manager.sites.importer.grid import Grid, Mask, SiteImportError

MARGIN_M = 0.1  # m kept between a robot's footprint and an obstacle on a single lane's centre line
SIDE_MARGIN_M = 0.3  # m kept between a robot's footprint and an obstacle on a two-way lane's side
BEND_MIN_M = 0.3  # m: a bend nearer than this to a lane's end is no bend (the lane is left out)
KEEP_RIGHT_MIN_M = 2.0  # fleet_manager/core/lanes.py KEEP_RIGHT_WIDTH: narrower lanes have no sides
SHELF_MIN_AREA_M2 = 0.25  # smaller occupied specks (SLAM noise) are no shelves

Key = tuple[int, int, int]  # a lattice vertex: block row, block column, part of the block's floor
BEND = 1_000_000  # the parts of bends (vertices added where a lane turns out of an aisle) count from here


def two_way_width(robot_radius: float) -> float:
    """The free width a lane needs for two robots to pass on its two sides (each drives a quarter of the width
    from the centre line)."""
    return max(KEEP_RIGHT_MIN_M, 4 * (robot_radius + MARGIN_M + 0.05))


@dataclass(frozen=True)
class Vertex:
    name: str
    row: int  # the grid cell it stands on
    col: int
    x: float  # map frame
    y: float
    kind: str = "waypoint"


@dataclass(frozen=True)
class Edge:
    start: str
    end: str
    width: float | None  # None: a single lane

    @property
    def id(self) -> str:
        return f"{self.start}-{self.end}"


@dataclass
class Roadmap:
    vertices: dict[str, Vertex]
    edges: list[Edge]
    shelves: int = 0  # occupied parts taken for shelves
    dropped: int = 0  # lattice vertices left out: not connected to the largest part
    notes: list[str] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[Vertex]:
        return [v for v in self.vertices.values() if v.kind == kind]


def clearance_m(grid: Grid) -> npt.NDArray[np.float64]:
    """Each cell's distance (m) from its centre to the nearest edge of an occupied or unknown cell or of the map;
    0 on such cells."""
    free = np.pad(grid.free, 1, constant_values=False)
    cells = ndimage.distance_transform_edt(free)[1:-1, 1:-1]
    return np.where(grid.free, (cells - 0.5) * grid.resolution, 0.0)


def free_runs(free: Mask) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For each free cell, the length in cells of the run of free cells through it along its column (across a
    row-wise lane) and along its row (across a column-wise lane)."""
    def along(mask: Mask) -> npt.NDArray[np.int64]:  # along axis 0
        out = np.zeros(mask.shape, dtype=np.int64)
        for col in range(mask.shape[1]):
            line = mask[:, col]
            padded = np.concatenate(([False], line, [False])).astype(np.int8)
            edges = np.flatnonzero(np.diff(padded))
            for a, b in zip(edges[::2], edges[1::2], strict=True):
                out[a:b, col] = b - a
        return out

    return along(free), along(free.T).T


def _segment_cells(r0: int, c0: int, r1: int, c1: int) -> Iterator[tuple[int, int]]:
    steps = max(abs(r1 - r0), abs(c1 - c0)) * 2 + 1
    for t in np.linspace(0.0, 1.0, steps):
        yield round(r0 + (r1 - r0) * t), round(c0 + (c1 - c0) * t)


def build_roadmap(grid: Grid, *, lane_spacing: float, robot_radius: float, parking: int,
                  chargers: int) -> Roadmap:
    clear = clearance_m(grid)
    drivable = grid.free & (clear >= robot_radius + MARGIN_M - 1e-9)
    if not drivable.any():
        raise SiteImportError(f"{grid.source}: no free cell keeps a robot of radius {robot_radius:g} m "
                              f"{MARGIN_M:g} m clear of obstacles: nowhere to drive")
    k = max(1, round(lane_spacing / grid.resolution))
    spacing = k * grid.resolution
    wide = two_way_width(robot_radius)
    # a vertex moves off a wall until a two-way lane through it would keep its sides clear, where the floor allows
    nodes = _lattice(drivable, np.minimum(clear, wide / 4 + robot_radius + SIDE_MARGIN_M), k)
    vertical, horizontal = free_runs(grid.free)
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    by_block: dict[tuple[int, int], list[Key]] = {}
    for key in nodes:
        by_block.setdefault(key[:2], []).append(key)
    def add_lane(a: Key, b: Key) -> None:
        (r0, c0), (r1, c1) = nodes[a], nodes[b]
        cells = list(_segment_cells(r0, c0, r1, c1))
        runs = vertical if abs(c1 - c0) >= abs(r1 - r0) else horizontal
        across = min(int(runs[r, c]) for r, c in cells) * grid.resolution
        sides = 4 * (min(float(clear[r, c]) for r, c in cells) - robot_radius - SIDE_MARGIN_M)
        width = min(across, spacing, sides)
        graph.add_edge(a, b, width=round(width, 3) if width >= wide - 1e-9 else None)

    for (br, bc), here in list(by_block.items()):
        for there in (by_block.get((br, bc + 1)), by_block.get((br + 1, bc))):
            for a, b, corner in _joins(drivable, k, nodes, here, there or [], BEND_MIN_M / grid.resolution,
                                       MARGIN_M / grid.resolution):
                if corner is None:
                    add_lane(a, b)
                    continue
                bend = (corner[0] // k, corner[1] // k, BEND + len(nodes))  # a bend of its own: an aisle's mouth
                nodes[bend] = corner
                by_block.setdefault(bend[:2], []).append(bend)
                add_lane(a, bend)
                add_lane(bend, b)
    parts = sorted(nx.connected_components(graph), key=lambda part: (-len(part), min(part)))
    keep = parts[0]
    if len(keep) < 2:
        raise SiteImportError(f"{grid.source}: the free floor holds no two places {spacing:g} m apart joined by a "
                              "lane (try a smaller --lane-spacing or --robot-radius)")
    graph = graph.subgraph(keep).copy()
    _narrow_beside_lanes(graph, nodes, grid.resolution, robot_radius, wide)
    names = {b: f"n{b[1]}_{b[0]}" + (f"_{b[2]}" if len(by_block[b[:2]]) > 1 else "") for b in sorted(keep)}
    kinds: dict[Key, str] = {}
    shelves = _assign_shelves(grid, graph, nodes, kinds, spacing)
    _assign_stands(graph, kinds, "parking", parking)
    _assign_stands(graph, kinds, "charger", chargers)
    counters: dict[str, int] = {}
    for block in sorted(kinds, key=lambda b: (kinds[b], b)):
        counters[kinds[block]] = counters.get(kinds[block], 0) + 1
        names[block] = f"{kinds[block]}_{counters[kinds[block]]}"
    vertices = {}
    for block in sorted(keep):
        row, col = nodes[block]
        x, y = grid.cell_centre(row, col)
        vertices[names[block]] = Vertex(names[block], row, col, round(x, 4), round(y, 4), kinds.get(block, "waypoint"))
    edges = [Edge(names[a], names[b], None if a in kinds or b in kinds else data["width"])
             for a, b, data in sorted(graph.edges(data=True), key=lambda e: (min(e[0], e[1]), max(e[0], e[1])))]
    return Roadmap(vertices, edges, shelves, len(nodes) - len(keep))


def _lattice(drivable: Mask, score: npt.NDArray[np.float64], k: int) -> dict[Key, tuple[int, int]]:
    """The lattice's vertices: (block row, block col, part) -> its cell, one for each part of the drivable floor
    inside a block (an aisle and the floor beside its shelf are two parts of one block)."""
    nodes: dict[Key, tuple[int, int]] = {}
    centre = (k - 1) / 2
    for br, bc in itertools.product(range(math.ceil(drivable.shape[0] / k)), range(math.ceil(drivable.shape[1] / k))):
        block = drivable[br * k:(br + 1) * k, bc * k:(bc + 1) * k]
        if not block.any():
            continue
        parts, count = ndimage.label(block)
        picks = []
        for part in range(1, count + 1):
            rows, cols = np.nonzero(parts == part)
            rank = -np.round(score[br * k + rows, bc * k + cols], 6)
            best = np.lexsort((cols, rows, (rows - centre) ** 2 + (cols - centre) ** 2, rank))[0]
            picks.append((br * k + int(rows[best]), bc * k + int(cols[best])))
        for i, cell in enumerate(sorted(picks)):
            nodes[(br, bc, i)] = cell
    return nodes


def _joins(drivable: Mask, k: int, nodes: dict[Key, tuple[int, int]], here: list[Key], there: list[Key],
           min_leg: float, jog: float) -> list[tuple[Key, Key, tuple[int, int] | None]]:
    """The lanes between the vertices of two neighbouring blocks: pairs on one part of the drivable floor of the
    two blocks, nearest first, each vertex in one pair at most, joined by a straight drivable line or else by two
    at a right angle (the bend's cell is given: the way out of an aisle whose line does not meet the next
    block's vertex)."""
    if not here or not there:
        return []
    r0, c0 = min(k0[0] for k0 in here + there) * k, min(k0[1] for k0 in here + there) * k
    r1, c1 = (max(k0[0] for k0 in here + there) + 1) * k, (max(k0[1] for k0 in here + there) + 1) * k
    parts, _ = ndimage.label(drivable[r0:r1, c0:c1])
    pairs = sorted((math.dist(nodes[a], nodes[b]), a, b) for a in here for b in there
                   if parts[nodes[a][0] - r0, nodes[a][1] - c0] == parts[nodes[b][0] - r0, nodes[b][1] - c0])
    used: set[Key] = set()
    out: list[tuple[Key, Key, tuple[int, int] | None]] = []
    for _, a, b in pairs:
        if a in used or b in used:
            continue
        (ra, ca), (rb, cb) = nodes[a], nodes[b]
        corners = [c for c in ((ra, cb), (rb, ca))
                   if _clear_line(drivable, (ra, ca), c) and _clear_line(drivable, c, (rb, cb))]
        legs = [min(math.dist(c, (ra, ca)), math.dist(c, (rb, cb))) for c in corners]
        if _clear_line(drivable, (ra, ca), (rb, cb)) or any(leg <= jog for leg in legs):
            out.append((a, b, None))  # straight, or all but straight: the line cuts a bend by at most the margin
        elif any(leg >= min_leg for leg in legs):
            out.append((a, b, next(c for c, leg in zip(corners, legs, strict=True) if leg >= min_leg)))
        else:
            continue
        used |= {a, b}
    return out


def _clear_line(drivable: Mask, a: tuple[int, int], b: tuple[int, int]) -> bool:
    return all(drivable[r, c] for r, c in _segment_cells(*a, *b))


def _narrow_beside_lanes(graph: nx.Graph, nodes: dict[Key, tuple[int, int]], resolution: float,
                         robot_radius: float, wide: float) -> None:
    """A two-way lane's sides must not come near another lane that runs close beside it (two vertices of a lattice
    pushed together by the walls): its width is cut to what keeps a robot on its side and one on the other lane's
    side (taken as just as wide) a robot's width apart, or it becomes a single lane."""
    edges = list(graph.edges)
    lines = [LineString([nodes[a][::-1], nodes[b][::-1]]) for a, b in edges]  # in cells: (col, row)
    tree = STRtree(lines)
    gap = (2 * robot_radius + SIDE_MARGIN_M) / resolution
    for i, (a, b) in enumerate(edges):
        width = graph.edges[a, b]["width"]
        if width is None:
            continue
        reach = width / resolution / 2 + gap
        for j in tree.query(lines[i], predicate="dwithin", distance=reach):
            c, d = edges[j]
            if {a, b} & {c, d}:
                continue
            width = min(width, 2 * (lines[i].distance(lines[j]) - gap) * resolution)
        graph.edges[a, b]["width"] = round(width, 3) if width >= wide - 1e-9 else None


def _shelf_labels(grid: Grid) -> tuple[npt.NDArray[np.int32], list[int]]:
    """The occupied parts (8-connected) and which of them are shelves."""
    labels, count = ndimage.label(grid.occupied, structure=np.ones((3, 3), dtype=bool))
    if count == 0:
        return labels, []
    sizes = np.bincount(labels.ravel())[1:]
    edge = set(np.unique(np.concatenate((labels[0], labels[-1], labels[:, 0], labels[:, -1])))) - {0}
    walls = int(np.argmax(sizes)) + 1
    min_cells = max(1, math.ceil(SHELF_MIN_AREA_M2 / grid.resolution ** 2))
    shelves = [label for label in range(1, count + 1)
               if sizes[label - 1] >= min_cells and not (label == walls and label in edge)]
    return labels, shelves


def _assign_shelves(grid: Grid, graph: nx.Graph, nodes: dict[Key, tuple[int, int]],
                    kinds: dict[Key, str], spacing: float) -> int:
    labels, shelves = _shelf_labels(grid)
    if not shelves:
        return 0
    distance, (near_r, near_c) = ndimage.distance_transform_edt(~grid.occupied, return_indices=True)
    by_shelf: dict[int, list[tuple[float, Key]]] = {}
    wanted = set(shelves)
    for block in sorted(graph.nodes):
        row, col = nodes[block]
        label = int(labels[near_r[row, col], near_c[row, col]])
        metres = float(distance[row, col]) * grid.resolution
        if label in wanted and metres <= spacing:
            by_shelf.setdefault(label, []).append((metres, block))
    for label in sorted(by_shelf, key=lambda lb: min(b for _, b in by_shelf[lb])):
        near = [b for _, b in sorted(by_shelf[label]) if b not in kinds]
        if not near:
            continue
        pickup = near[0]
        kinds[pickup] = "pickup"
        far = [b for b in near[1:] if math.dist(nodes[b], nodes[pickup]) * grid.resolution >= spacing * 0.99]
        if far:
            kinds[max(far, key=lambda b: (math.dist(nodes[b], nodes[pickup]), b))] = "dropoff"
    return len(by_shelf)


def _assign_stands(graph: nx.Graph, kinds: dict[Key, str], kind: str, count: int) -> None:
    """`count` vertices where a robot may stand without cutting any way between the others: dead ends first, then
    vertices on the open floor (every lane two-way: no aisle), with the fewest lanes, the farthest from the pickups
    and dropoffs."""
    taken = {b for b, k in kinds.items() if k in ("parking", "charger")}
    work = graph.copy()
    work.remove_nodes_from(taken)
    goods = [b for b, k in kinds.items() if k in ("pickup", "dropoff")]
    away = dict(nx.multi_source_dijkstra_path_length(graph, goods)) if goods else {}
    for _ in range(count):
        cut = set(nx.articulation_points(work))
        free = [b for b in work.nodes if b not in kinds and b not in cut]
        if not free:
            raise SiteImportError(f"the map has room for {sum(1 for k in kinds.values() if k == kind)} {kind} "
                                  f"spots where a robot blocks no way; {count} are needed (a smaller fleet, "
                                  "--lane-spacing or --robot-radius leaves more)")
        best = min(free, key=lambda b: (graph.degree(b) > 1, any(w is None for _, _, w in graph.edges(b, data="width")),
                                        graph.degree(b), -away.get(b, 0), b))
        kinds[best] = kind
        work.remove_node(best)
