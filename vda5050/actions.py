"""Action execution for the simulated vehicle (2.0 text, sections 6.8, 6.11, 6.12; figures 14 and 15).

Every action the vehicle receives (on a node or edge of its order, or as an instant action) has one ActionRun,
listed in the state's actionStates. Order actions wait (WAITING) until their node is traversed or their edge
entered; then the actions of that node or edge run in the sequence of figure 15: the actions before a HARD
one run in parallel, the HARD one runs alone once they are over, and so on. The vehicle does not drive while
a SOFT or HARD action runs or is still to run. Timed actions (those of the vehicle's action table) run for
their duration and then succeed with their success rate (seeded random); built-in actions (pause, charging,
cancelOrder, ...) are started and ended by the vehicle itself."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from vda5050.enums import TERMINAL, ActionScope, ActionStatus, ActionType, BlockingType
from vda5050.models import Action, ActionState, Load

ACTIVE = frozenset({ActionStatus.INITIALIZING, ActionStatus.RUNNING, ActionStatus.PAUSED})
KEEP_INSTANT = 50  # instant actions that are over stay in the state until a new order, at most this many
_BLOCKING = frozenset({BlockingType.SOFT, BlockingType.HARD})


@dataclass(eq=False)
class ActionRun:
    action: Action
    scope: ActionScope
    owner: int | None = None  # sequenceId of the node or edge it belongs to (None: instant)
    timed: bool = False  # runs for duration_s, then succeeds with success_rate
    duration_s: float = 0.0
    success_rate: float = 1.0
    status: ActionStatus = ActionStatus.WAITING
    remaining_s: float = 0.0  # timed: time still to run; built-in: time left before it gives up
    result: str | None = None
    canceled: bool = False  # ended by cancelOrder, not by its own failure

    @property
    def action_id(self) -> str:
        return self.action.action_id

    @property
    def order_action(self) -> bool:
        return self.scope is not ActionScope.INSTANT

    def state(self) -> ActionState:
        return ActionState(action_id=self.action.action_id, action_type=self.action.action_type,
                           action_description=self.action.action_description, action_status=self.status,
                           result_description=self.result)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def loads_after(run: ActionRun, loads: list[Load]) -> list[Load]:
    """The loads on the vehicle after an action ended (6.8.2): a finished pick adds one (loadId, loadType and
    lhd from its parameters), a finished drop removes the one of its loadId, else the last."""
    if run.status is not ActionStatus.FINISHED:
        return loads
    param = run.action.parameter
    if run.action.action_type == ActionType.PICK:
        return [*loads, Load(load_id=_text(param("loadId")), load_type=_text(param("loadType")),
                             load_position=_text(param("lhd")))]
    if run.action.action_type == ActionType.DROP and loads:
        load_id = _text(param("loadId"))
        gone = next((load for load in loads if load_id is not None and load.load_id == load_id), loads[-1])
        return [load for load in loads if load is not gone]
    return loads


def init_position(action: Action) -> tuple[tuple[float, float, float], str, str | None] | None:
    """The parameters of initPosition (6.8.1): ((x, y, theta), mapId, lastNodeId or None); None if invalid."""
    values = [action.parameter(k) for k in ("x", "y", "theta")]
    numbers = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    map_id = action.parameter("mapId")
    if len(numbers) != 3 or not isinstance(map_id, str) or not map_id:
        return None
    return (numbers[0], numbers[1], numbers[2]), map_id, _text(action.parameter("lastNodeId"))


def phases(runs: Iterable[ActionRun]) -> list[list[ActionRun]]:
    """Figure 15: the actions of one node or edge as phases run one after the other."""
    out: list[list[ActionRun]] = []
    parallel: list[ActionRun] = []
    for run in runs:
        if run.action.blocking_type is BlockingType.HARD:
            if parallel:
                out.append(parallel)
                parallel = []
            out.append([run])
        else:
            parallel.append(run)
    if parallel:
        out.append(parallel)
    return out


class ActionBoard:
    """The vehicle's action runs, in the order received, and the phases still to start."""

    def __init__(self, seed: int, on_start: Callable[[ActionRun], None], on_end: Callable[[ActionRun], None]) -> None:
        self._rng = random.Random(seed)
        self._on_start = on_start  # a built-in action starts: the vehicle sets its status
        self._on_end = on_end  # an action ended (FINISHED or FAILED): the vehicle applies its effects
        self.runs: dict[str, ActionRun] = {}
        self._phases: list[list[ActionRun]] = []
        self.paused = False
        self.standing = True  # the vehicle stands still: SOFT and HARD actions may start (figure 15)
        self.changed = False  # an action status changed since the vehicle last looked

    def __contains__(self, action_id: str) -> bool:
        return action_id in self.runs

    def add(self, run: ActionRun) -> ActionRun:
        self.runs[run.action_id] = run
        self.changed = True
        done = [i for i, r in self.runs.items() if not r.order_action and r.status in TERMINAL]
        for action_id in done[:max(0, len(done) + 1 - KEEP_INSTANT)]:  # no order to clear them for a long time
            del self.runs[action_id]
        return run

    def set_status(self, run: ActionRun, status: ActionStatus, result: str | None = None) -> None:
        """Move a run on; FINISHED and FAILED are final (figure 14)."""
        if run.status in TERMINAL or (run.status is status and result in (None, run.result)):
            return
        run.status = status
        if result is not None:
            run.result = result
        self.changed = True
        if status in TERMINAL:
            self._on_end(run)

    def states(self) -> list[ActionState]:
        return [run.state() for run in self.runs.values()]

    def order_active(self) -> bool:
        """Whether an order action is not over yet (waiting, running or paused)."""
        return any(r.order_action and r.status not in TERMINAL for r in self.runs.values())

    def blocks_driving(self) -> bool:
        """Whether a SOFT or HARD action runs, or is still to run, so the vehicle must not drive."""
        if any(r.status in ACTIVE and r.action.blocking_type in _BLOCKING for r in self.runs.values()):
            return True
        return any(r.action.blocking_type in _BLOCKING for phase in self._phases for r in phase)

    # -- running ---------------------------------------------------------------------------------------------
    def trigger(self, runs: Iterable[ActionRun]) -> None:
        """The node was traversed or the edge entered (or an instant action arrived): queue its actions."""
        self._phases.extend(phases(r for r in runs if r.status is ActionStatus.WAITING))
        self.start_ready()

    def start_ready(self) -> None:
        """Start the phases whose turn has come: a HARD action once no other runs, others unless a HARD runs,
        SOFT and HARD ones once the vehicle stands."""
        while self._phases and not self.paused:
            phase = self._phases[0]
            hard = phase[0].action.blocking_type is BlockingType.HARD
            active = [r for r in self.runs.values() if r.status in ACTIVE and (r.timed or r.order_action)]
            if (hard and active) or any(r.action.blocking_type is BlockingType.HARD for r in active):
                return
            if not self.standing and any(r.action.blocking_type in _BLOCKING for r in phase):
                return
            self._phases.pop(0)
            for run in phase:
                self._start(run)

    def _start(self, run: ActionRun) -> None:
        if run.timed:
            run.remaining_s = run.duration_s
            self.set_status(run, ActionStatus.RUNNING)
        else:
            self._on_start(run)

    def tick(self, dt: float) -> None:
        """Advance the timed actions by dt seconds (not while paused)."""
        if self.paused:
            return
        for run in list(self.runs.values()):
            if run.timed and run.status is ActionStatus.RUNNING:
                run.remaining_s -= dt
                if run.remaining_s <= 1e-9:
                    ok = self._rng.random() < run.success_rate
                    self.set_status(run, ActionStatus.FINISHED if ok else ActionStatus.FAILED)
        self.start_ready()

    def pause(self) -> None:
        """startPause: running timed actions are PAUSED, no new phase starts."""
        self.paused = True
        for run in self.runs.values():
            if run.timed and run.status in (ActionStatus.RUNNING, ActionStatus.INITIALIZING):
                self.set_status(run, ActionStatus.PAUSED)

    def resume(self) -> None:
        self.paused = False
        for run in self.runs.values():
            if run.status is ActionStatus.PAUSED:
                self.set_status(run, ActionStatus.RUNNING)
        self.start_ready()

    # -- order changes ---------------------------------------------------------------------------------------
    def _drop_phases(self, gone: Callable[[ActionRun], bool]) -> None:
        self._phases = [kept for kept in ([r for r in phase if not gone(r)] for phase in self._phases) if kept]

    def fail_order_actions(self) -> None:
        """cancelOrder (6.6.3): waiting and running order actions end FAILED (they can all be interrupted)."""
        self._drop_phases(lambda r: r.order_action)
        for run in self.runs.values():
            if run.order_action and run.status not in TERMINAL:
                run.canceled = True
                self.set_status(run, ActionStatus.FAILED, "order canceled")
        self.start_ready()

    def end_edge(self, sequence_id: int) -> None:
        """The vehicle left an edge (6.10.2): its running actions end FINISHED, ones never started FAILED."""
        self._drop_phases(lambda r: r.scope is ActionScope.EDGE and r.owner == sequence_id)
        for run in self.runs.values():
            if run.scope is ActionScope.EDGE and run.owner == sequence_id and run.status not in TERMINAL:
                waited = run.status is ActionStatus.WAITING
                self.set_status(run, ActionStatus.FAILED if waited else ActionStatus.FINISHED)
        self.start_ready()

    def discard(self, scope: ActionScope, owners: set[int]) -> None:
        """Forget the waiting actions of horizon nodes or edges that an order update replaced."""
        for action_id, run in list(self.runs.items()):
            if run.scope is scope and run.owner in owners and run.status is ActionStatus.WAITING:
                del self.runs[action_id]
                self.changed = True

    def forget_for_new_order(self) -> None:
        """A new order was accepted (figure 8, "delete action states"): keep only instant actions not over."""
        self._drop_phases(lambda r: r.order_action)
        for action_id, run in list(self.runs.items()):
            if run.order_action or run.status in TERMINAL:
                del self.runs[action_id]
                self.changed = True
