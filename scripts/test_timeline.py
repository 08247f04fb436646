"""A summary of a `make test` run's timeline (tests/conftest.py writes it when LABFLEET_TEST_TIMELINE is set): each
worker's busy time, and the test modules that ended last, with when they started and ended (seconds after the
first test began). Called by scripts/test.sh after pytest."""

from __future__ import annotations

import sys
from collections import defaultdict
from pathlib import Path


def main(path: str) -> int:
    lines = [line.split(" ", 3) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]
    if not lines:
        return 0
    t0 = min(float(start) for _, start, _, _ in lines)
    t1 = max(float(end) for _, _, end, _ in lines)
    busy: dict[str, float] = defaultdict(float)
    modules: dict[tuple[str, str], list[float]] = {}
    for worker, start, end, nodeid in lines:
        s, e = float(start) - t0, float(end) - t0
        busy[worker] += e - s
        span = modules.setdefault((worker, nodeid.split("::", 1)[0]), [s, e])
        span[0], span[1] = min(span[0], s), max(span[1], e)
    sys.stdout.write(f"[test] timeline: {t1 - t0:.0f} s from the first test to the last; busy "
                     + ", ".join(f"{w} {b:.0f} s" for w, b in sorted(busy.items())) + "\n")
    for (worker, module), (s, e) in sorted(modules.items(), key=lambda kv: kv[1][1])[-8:]:
        sys.stdout.write(f"[test]   {worker} {s:6.0f} → {e:6.0f} s  {module}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
