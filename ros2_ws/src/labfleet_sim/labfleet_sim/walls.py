"""Which wall edges are near a point, fast: a grid of the site's floor, each cell listing the edges within
`reach` of it, so that people (social.py) are only measured against the walls around them (pure Python)."""

from __future__ import annotations

import math

import numpy as np


class WallGrid:
    """Wall edges (S x 4: x1, y1, x2, y2) indexed by square cells of `cell` metres."""

    def __init__(self, segments: np.ndarray, *, cell: float = 1.0, reach: float = 1.5) -> None:
        segs = np.asarray(segments, dtype=float).reshape(-1, 4)
        self.a, self.d = segs[:, 0:2], segs[:, 2:4] - segs[:, 0:2]
        self.len2 = np.maximum((self.d**2).sum(axis=1), 1e-12)
        self.cell = cell
        if not len(segs):
            self.origin, self.shape = np.zeros(2), (1, 1)
            self.table = np.full((1, 1), -1, dtype=int)
            return
        lo = np.minimum(segs[:, 0:2], segs[:, 2:4]).min(axis=0) - reach
        hi = np.maximum(segs[:, 0:2], segs[:, 2:4]).max(axis=0) + reach
        self.origin = lo
        nx, ny = (math.ceil(float(v)) for v in (hi - lo) / cell)
        self.shape = (nx, ny)
        centres = np.stack(np.meshgrid(lo[0] + (np.arange(nx) + 0.5) * cell, lo[1] + (np.arange(ny) + 0.5) * cell,
                                       indexing="ij"), axis=-1).reshape(-1, 2)
        listed: dict[int, np.ndarray] = {}
        chunk = max(1, 2_000_000 // len(segs))  # cells measured at once (bounds the memory on large sites)
        for first in range(0, len(centres), chunk):
            part = centres[first:first + chunk]
            dist, _ = self._measure(part, np.broadcast_to(np.arange(len(segs)), (len(part), len(segs))))
            near = dist <= reach + cell * math.sqrt(0.5)  # every edge within reach of any point of the cell
            for row in np.flatnonzero(near.any(axis=1)).tolist():
                listed[first + row] = np.flatnonzero(near[row])
        width = max([1, *(len(found) for found in listed.values())])
        self.table = np.full((len(centres), width), -1, dtype=int)
        for c, found in listed.items():
            self.table[c, :len(found)] = found

    def _measure(self, p: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        rel = p[:, None, :] - self.a[ids]
        s = np.clip((rel * self.d[ids]).sum(axis=2) / self.len2[ids], 0.0, 1.0)
        away = rel - s[..., None] * self.d[ids]
        return np.hypot(away[..., 0], away[..., 1]), away

    def _ids(self, p: np.ndarray) -> np.ndarray:
        """N x K: the edges listed for the cell of each point (-1: none; points off the grid have none)."""
        cells = np.floor((p - self.origin) / self.cell).astype(int)
        inside = (cells >= 0).all(axis=1) & (cells[:, 0] < self.shape[0]) & (cells[:, 1] < self.shape[1])
        ids = np.full((len(p), self.table.shape[1]), -1, dtype=int)
        ids[inside] = self.table[cells[inside, 0] * self.shape[1] + cells[inside, 1]]
        return ids

    def nearest(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point (N x 2): the distance to the nearest edge and that edge's index (the lowest of equally
        near ones), exact within `reach`; beyond it, inf and -1 or a farther edge."""
        if not len(self.a):
            return np.full(len(p), np.inf), np.full(len(p), -1)
        ids = self._ids(p)
        dist, _ = self._measure(p, np.maximum(ids, 0))
        dist[ids < 0] = np.inf
        k = np.argmin(dist, axis=1)
        rows = np.arange(len(p))
        return dist[rows, k], np.where(np.isfinite(dist[rows, k]), ids[rows, k], -1)

    def near(self, p: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """For each point (N x 2): the distance to each edge near it (N x K, inf for none) and the vector from
        that edge's nearest point to the point (N x K x 2). Edges farther than `reach` may be left out."""
        if not len(self.a):
            return np.full((len(p), 1), np.inf), np.zeros((len(p), 1, 2))
        ids = self._ids(p)
        dist, away = self._measure(p, np.maximum(ids, 0))
        dist[ids < 0] = np.inf
        return dist, away
