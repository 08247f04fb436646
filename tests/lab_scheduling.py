"""pytest-xdist scheduling for `make test`, by test module: the modules that start a whole simulated lab (each about
a core of its own) run on the first LABFLEET_LAB_WORKERS workers only while other modules are left, one module each
at a time; the other workers take those other modules (much of them waits on the wall clock, a server or a
subprocess). Once no other module is left, one more worker may take a lab (three labs side by side at most, so that
their real-time processes keep their timing), and the workers with nothing left to do stop.

The modules keep the order tests/conftest.py gives them (the longest first)."""

from __future__ import annotations

from typing import Any

from xdist.scheduler.loadfile import LoadFileScheduling

LAB_PREFIXES = ("tests/integration/", "tests/browser/")


def is_lab(scope: str) -> bool:
    return scope.startswith(LAB_PREFIXES)


class LabScheduling(LoadFileScheduling):
    def __init__(self, config: Any, log: Any = None, lab_workers: int = 2) -> None:
        super().__init__(config, log)
        self.lab_workers = lab_workers

    def _runs_labs(self, node: Any) -> bool:
        worker = str(node.gateway.id)  # gw0, gw1, ...
        return int(worker.removeprefix("gw")) < self.lab_workers

    def _labs_running(self) -> int:
        """The workers with a lab module not yet done."""
        return sum(1 for work in self.assigned_work.values()
                   if any(is_lab(scope) and not all(unit.values()) for scope, unit in work.items()))

    def _pick(self, node: Any) -> str | None:
        labs = [s for s in self.workqueue if is_lab(s)]
        others = [s for s in self.workqueue if not is_lab(s)]
        # a worker takes its next lab only when its current module is (all but) done: xdist would queue a second
        # one behind it, and the workers that finish the rest early could not take it
        free = self._pending_of(self.assigned_work.get(node, {})) <= 1
        if self._runs_labs(node):  # a lab while there is one, then the rest
            return (labs or others or [None])[0] if free else None
        if others:
            return others[0]
        if labs and free and self._labs_running() <= self.lab_workers:
            return labs[0]  # the one more lab, once the rest is done
        return None

    def _assign_work_unit(self, node: Any) -> None:
        scope = self._pick(node)
        if scope is None:  # nothing this worker may take now: it is done once its own work is
            if not self._pending_of(self.assigned_work.get(node, {})):
                node.shutdown()
            return
        work_unit = self.workqueue.pop(scope)
        self.assigned_work.setdefault(node, {})[scope] = work_unit
        collection = self.registered_collections[node]
        node.send_runtest_some([collection.index(nodeid) for nodeid, done in work_unit.items() if not done])
