"""Comparing a re-simulated run with the recorded one: per mission, duration, distance and energy side by
side; path deviation between the two trajectories (discrete Fréchet distance and dynamic time warping,
both over the paths resampled at a fixed spacing along their length); step events side by side; and the
KPIs of core/kpis.py over each run's missions."""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace
from typing import Any

import numpy as np

from fleet_manager.core.kpis import MissionRun as KpiRun
from fleet_manager.core.kpis import compute_kpis
from fleet_manager.replay.runs import MissionRun, Run, Trajectory

SPACING_M = 0.25  # resampling step along the path
MAX_POINTS = 2000  # per path: longer paths are resampled more coarsely (the DPs are O(n m) in time and memory)
KPIS = ("missions_total", "missions_completed", "missions_failed", "missions_canceled", "success_rate",
        "mean_duration_s", "p95_duration_s", "distance_km", "operating_h", "energy_wh_per_km")


def resample(x: np.ndarray, y: np.ndarray, spacing: float) -> np.ndarray:
    """Points every `spacing` metres along the polyline (x, y), its last point included; N x 2."""
    if len(x) == 0:
        return np.zeros((0, 2))
    s = np.concatenate([[0.0], np.cumsum(np.hypot(np.diff(x), np.diff(y)))])
    if s[-1] <= 0.0:
        return np.array([[x[0], y[0]]])
    at = np.arange(0.0, s[-1], spacing)
    at = np.append(at, s[-1]) if s[-1] - at[-1] > 1e-9 else at
    return np.column_stack([np.interp(at, s, x), np.interp(at, s, y)])


def _diagonal_dp(p: np.ndarray, q: np.ndarray, frechet: bool) -> tuple[float, int]:
    """The O(n m) recurrences over the point distances d[i,j] = |p_i - q_j|, one anti-diagonal at a time
    (vectorised; memory O(n + m)):
    Fréchet  C[i,j] = max(d[i,j], min(C[i-1,j], C[i-1,j-1], C[i,j-1]))
    DTW      C[i,j] = d[i,j] + min(C[i-1,j], C[i-1,j-1], C[i,j-1]), with the warping path's length.
    Returns (C[n-1,m-1], path length). Diagonal arrays are indexed by i + 1; index 0 stays infinite."""
    n, m = len(p), len(q)
    prev2 = np.full(n + 1, np.inf)  # diagonal k - 2
    prev2[0] = -np.inf if frechet else 0.0  # the cell before (0, 0)
    prev1 = np.full(n + 1, np.inf)  # diagonal k - 1
    len2, len1 = np.zeros(n + 1, np.int64), np.zeros(n + 1, np.int64)
    for k in range(n + m - 1):
        lo, hi = max(0, k - m + 1), min(n - 1, k)
        a = p[lo:hi + 1]
        b = q[k - hi:k - lo + 1][::-1]  # q[k - i] for i = lo..hi
        d = np.hypot(a[:, 0] - b[:, 0], a[:, 1] - b[:, 1])
        options = np.stack([prev2[lo:hi + 1], prev1[lo:hi + 1], prev1[lo + 1:hi + 2]])  # diag, up, left
        best = np.argmin(options, axis=0)
        pick = np.arange(hi - lo + 1)
        low = options[best, pick]
        cur = np.full(n + 1, np.inf)
        cur[lo + 1:hi + 2] = np.maximum(d, low) if frechet else d + low
        steps = np.zeros(n + 1, np.int64)
        steps[lo + 1:hi + 2] = np.stack([len2[lo:hi + 1], len1[lo:hi + 1], len1[lo + 1:hi + 2]])[best, pick] + 1
        prev2, prev1, len2, len1 = prev1, cur, len1, steps
    return float(prev1[n]), int(len1[n])


def path_deviation(a: Trajectory, b: Trajectory, spacing: float = SPACING_M) -> dict[str, Any]:
    """Discrete Fréchet distance and DTW (total, and mean per matched pair) between two paths, metres."""
    longest = max(a.length_m(), b.length_m())
    spacing = max(spacing, longest / (MAX_POINTS - 1)) if longest > 0 else spacing
    p, q = resample(a.x, a.y, spacing), resample(b.x, b.y, spacing)
    if not len(p) or not len(q):
        return {"frechet_m": None, "dtw_m": None, "dtw_mean_m": None, "spacing_m": spacing,
                "points": [len(p), len(q)]}
    frechet, _ = _diagonal_dp(p, q, frechet=True)
    dtw, pairs = _diagonal_dp(p, q, frechet=False)
    return {"frechet_m": round(frechet, 4), "dtw_m": round(dtw, 3), "dtw_mean_m": round(dtw / pairs, 4),
            "spacing_m": round(spacing, 4), "points": [len(p), len(q)]}


def events_side_by_side(original: list[dict[str, Any]], replay: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Step events matched by (step, status, occurrence): time from the mission's start in each run."""
    def keyed(events: list[dict[str, Any]]) -> dict[tuple[Any, Any, int], dict[str, Any]]:
        seen: Counter[tuple[Any, Any]] = Counter()
        out = {}
        for e in events:
            key = (e.get("step_index"), e.get("status"))
            seen[key] += 1
            out[(*key, seen[key])] = e
        return out

    a, b = keyed(original), keyed(replay)
    rows = []
    for key in [*a, *(k for k in b if k not in a)]:
        ta: float | None = a[key]["t"] if key in a else None
        tb: float | None = b[key]["t"] if key in b else None
        rows.append({"step_index": key[0], "status": key[1], "original_t": ta, "replay_t": tb,
                     "delta_s": round(tb - ta, 3) if ta is not None and tb is not None else None,
                     "original_message": a[key].get("message", "") if key in a else None,
                     "replay_message": b[key].get("message", "") if key in b else None})
    return rows


def kpis(run: Run) -> dict[str, Any]:
    """The KPIs of core/kpis.py over the run's missions (a mission not finished counts up to the run's end)."""
    records = [KpiRun(str(m.mission_id), m.robot_id, m.outcome if m.outcome != "unfinished" else "underway",
                      m.started_s, m.finished_s, m.distance_m, m.energy_wh or 0.0) for m in run.missions]
    report = compute_kpis(records, now=run.end_s)
    return {name: _num(getattr(report, name)) for name in KPIS}


def compare(original: Run, replay: Run) -> dict[str, Any]:
    """The comparison of a re-simulated run with the recorded run, JSON-ready."""
    missions: list[dict[str, Any]] = []
    same = True
    for before in original.missions:
        after = replay.mission(before.mission_id) or MissionRun(before.mission_id, before.robot_id, "unfinished")
        same = same and after.outcome == before.outcome
        missions.append({
            "mission_id": before.mission_id,
            "original": _side(before), "replay": _side(after),
            "delta": {"duration_s": _diff(after.duration_s, before.duration_s),
                      "distance_m": _diff(after.distance_m, before.distance_m),
                      "duration_ratio": _num(after.duration_s / before.duration_s)
                      if after.duration_s is not None and before.duration_s else None},
            "path": path_deviation(_leg(original, before), _leg(replay, after)),
            "events": events_side_by_side(before.events, after.events),
        })
    compared = {m.mission_id for m in original.missions}  # the same missions on both sides
    alike = replace(replay, missions=[m for m in replay.missions if m.mission_id in compared])
    return {"missions": missions, "kpis": {"original": kpis(original), "replay": kpis(alike)},
            "same_outcome": same}


def _leg(run: Run, mission: MissionRun) -> Trajectory:
    track = run.trajectories.get(mission.robot_id)
    if track is None or mission.started_s is None:
        return Trajectory.of([])
    return track.between(mission.started_s, mission.finished_s if mission.finished_s is not None else run.end_s)


def _side(m: MissionRun) -> dict[str, Any]:
    return {"robot_id": m.robot_id, "outcome": m.outcome, "reason": m.reason, "duration_s": _num(m.duration_s),
            "distance_m": _num(m.distance_m), "energy_wh": _num(m.energy_wh)}


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else _num(a - b)


def _num(value: float | int | None, digits: int = 4) -> float | int | None:
    if value is None or isinstance(value, int):
        return value
    return round(float(value), digits) if math.isfinite(value) else None
