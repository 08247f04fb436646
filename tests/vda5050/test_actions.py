"""Action execution: the phases of figure 15, HARD actions alone, SOFT and HARD ones only standing."""

from __future__ import annotations

from tests.vda5050.bench import action
from vda5050.actions import ActionBoard, ActionRun, phases
from vda5050.enums import ActionScope, ActionStatus, BlockingType

NONE, SOFT, HARD = BlockingType.NONE, BlockingType.SOFT, BlockingType.HARD


def run(action_id: str, blocking: BlockingType, duration_s: float = 1.0) -> ActionRun:
    return ActionRun(action("x", action_id, blocking), ActionScope.NODE, owner=2, timed=True, duration_s=duration_s)


def test_phases_of_figure_15() -> None:
    runs = [run("a", NONE), run("b", SOFT), run("h", HARD), run("c", NONE), run("k", HARD)]
    assert [[r.action_id for r in p] for p in phases(runs)] == [["a", "b"], ["h"], ["c"], ["k"]]


def test_the_board_runs_them_in_turn() -> None:
    ended: list[str] = []
    board = ActionBoard(0, on_start=lambda r: None, on_end=lambda r: ended.append(r.action_id))
    runs = [board.add(run(i, b, d)) for i, b, d in (("a", NONE, 0.5), ("h", HARD, 1.0), ("s", SOFT, 0.5))]
    board.standing = False
    board.trigger(runs)
    assert [r.status for r in runs] == [ActionStatus.RUNNING, ActionStatus.WAITING, ActionStatus.WAITING]
    assert board.blocks_driving()  # a HARD and a SOFT one are still to run
    board.tick(0.6)
    assert runs[1].status is ActionStatus.WAITING  # its turn, but the vehicle still moves
    board.standing = True
    board.start_ready()
    assert [r.status for r in runs] == [ActionStatus.FINISHED, ActionStatus.RUNNING, ActionStatus.WAITING]
    board.pause()
    board.tick(5.0)
    assert runs[1].status is ActionStatus.PAUSED
    board.resume()
    board.tick(1.0)
    board.tick(0.5)
    assert [r.status for r in runs] == [ActionStatus.FINISHED] * 3 and ended == ["a", "h", "s"]
    assert not board.blocks_driving() and not board.order_active()
