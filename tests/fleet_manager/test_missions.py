from __future__ import annotations

import pytest

from fleet_manager.core.errors import Conflict, InvalidInput
from fleet_manager.core.missions import (
    MissionStatus,
    StepKind,
    check_transition,
    expand,
    first_target,
    parse_steps,
    validate_steps,
)

S = MissionStatus


@pytest.mark.parametrize(
    ("current", "new"),
    [(S.QUEUED, S.ASSIGNED), (S.ASSIGNED, S.UNDERWAY), (S.UNDERWAY, S.PAUSED), (S.PAUSED, S.UNDERWAY),
     (S.UNDERWAY, S.COMPLETED), (S.QUEUED, S.CANCELED), (S.ASSIGNED, S.QUEUED)],
)
def test_allowed_transitions(current, new):
    check_transition(current, new)


@pytest.mark.parametrize(
    ("current", "new"),
    [(S.COMPLETED, S.CANCELED), (S.CANCELED, S.QUEUED), (S.FAILED, S.UNDERWAY), (S.QUEUED, S.COMPLETED),
     (S.QUEUED, S.UNDERWAY)],
)
def test_refused_transitions(current, new):
    with pytest.raises(Conflict):
        check_transition(current, new)


def test_terminal_states():
    assert {s for s in S if s.terminal} == {S.COMPLETED, S.FAILED, S.CANCELED}


def test_every_step_kind_parses():
    steps = parse_steps([
        {"go_to": "mid"}, {"dock": "dock"}, {"action": "load", "params": {"item": "kit"}},
        {"action": {"name": "announce", "text": "hello"}}, {"wait": 2.5}, {"confirm": "sign here"},
        {"patrol": ["w", "e"], "repeat": 2},
    ])
    K = StepKind
    assert [s.kind for s in steps] == [K.GO_TO, K.DOCK, K.ACTION, K.ACTION, K.WAIT, K.CONFIRM, K.PATROL]
    assert steps[3].params == {"text": "hello"}
    assert steps[6].repeat == 2
    assert [s.target for s in expand(steps) if s.kind is StepKind.GO_TO] == ["mid", "w", "e", "w", "e"]
    assert first_target(steps) == "mid"


def test_retries_timeouts_and_cover_are_kept_in_the_step_record():
    steps = parse_steps([
        {"action": "pick", "retries": 2}, {"confirm": "sign", "timeout": 60}, {"cover": "hall", "spacing": 0.5},
        {"patrol": ["w", "e"], "retries": 1},
    ])
    assert steps[0].to_dict() == {"kind": "action", "action": "pick", "params": {}, "retries": 2}
    assert steps[1].to_dict() == {"kind": "confirm", "prompt": "sign", "timeout": 60.0}
    assert steps[2].to_dict() == {"kind": "cover", "zone": "hall", "spacing": 0.5}
    assert [s.retries for s in expand(steps)[3:]] == [1, 1]


def test_requeue_and_pause_transitions():
    check_transition(MissionStatus.UNDERWAY, MissionStatus.QUEUED)
    check_transition(MissionStatus.PAUSED, MissionStatus.QUEUED)
    check_transition(MissionStatus.PAUSED, MissionStatus.UNDERWAY)
    with pytest.raises(Conflict):
        check_transition(MissionStatus.COMPLETED, MissionStatus.QUEUED)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ([], "expected a non-empty list"),
        (["mid"], r"spec.steps\[0\]: a step is a mapping"),
        ([{"go_to": "mid", "wait": 1}], r"spec.steps\[0\]: a step has exactly one of"),
        ([{"fly_to": "mid"}], r"spec.steps\[0\]: a step has exactly one of"),
        ([{"go_to": 3}], r"spec.steps\[0\].go_to: expected a place name"),
        ([{"wait": -1}], r"spec.steps\[0\].wait: expected a non-negative number"),
        ([{"patrol": ["w"], "repeat": 0}], r"spec.steps\[0\].repeat: expected a whole number"),
        ([{"go_to": "mid", "speed": 2}], r"unknown key\(s\) \['speed'\]"),
        ([{"go_to": "mid", "repeat": 2}], r"unknown key\(s\) \['repeat'\]"),
        ([{"action": "pick", "retries": -1}], r"spec.steps\[0\].retries: expected a whole number from 0 to 10"),
        ([{"action": "pick", "retries": "2"}], r"spec.steps\[0\].retries: expected a whole number"),
        ([{"confirm": ""}], r"spec.steps\[0\].confirm: expected a prompt text"),
        ([{"confirm": "ok?", "timeout": "soon"}], r"spec.steps\[0\].timeout: expected a non-negative number"),
        ([{"cover": 7}], r"spec.steps\[0\].cover: expected a zone name"),
        ([{"cover": "hall", "spacing": 0}], r"spec.steps\[0\].spacing: expected 0.1 to 10 metres"),
    ],
)
def test_bad_steps_name_the_step(raw, message):
    with pytest.raises(InvalidInput, match=message):
        parse_steps(raw)


def test_validation_against_the_site(graph):
    validate_steps(parse_steps([{"go_to": "room"}, {"dock": "dock"}]), graph)
    with pytest.raises(InvalidInput, match=r"spec.steps\[1\]: unknown place 'ward'"):
        validate_steps(parse_steps([{"go_to": "room"}, {"go_to": "ward"}]), graph)
    with pytest.raises(InvalidInput, match="is not a charger"):
        validate_steps(parse_steps([{"dock": "room"}]), graph)
    validate_steps(parse_steps([{"confirm": "ok?", "timeout": 30}]), graph)
    with pytest.raises(InvalidInput, match=r"spec.steps\[0\].cover: unknown zone 'attic'"):
        validate_steps(parse_steps([{"cover": "attic"}]), graph, zones={"hall"})
