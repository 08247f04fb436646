from __future__ import annotations

import pytest

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.templates import TemplateError, TemplateLibrary, parse_template

RAW = {
    "name": "courier",
    "description": "take something somewhere",
    "robot": {"kind": "delivery", "capabilities": ["cargo_bay"]},
    "params": {
        "pickup": {"type": "place", "default": "w"},
        "destination": {"type": "place", "required": True},
        "dwell": {"type": "number", "default": 2},
        "copies": {"type": "integer", "default": 1},
        "fragile": {"type": "boolean", "default": False},
        "note": {"type": "string", "default": "for {destination}"},
    },
    "steps": [{"go_to": "{pickup}"}, {"action": "load", "params": {"note": "{note}"}}, {"wait": "{dwell}"},
              {"go_to": "{destination}"}],
}
PLACES = {"w", "e", "mid"}


def test_instantiate_fills_defaults_and_slots():
    t = parse_template(RAW, "courier.yaml")
    params, steps = t.instantiate({"destination": "e", "dwell": "3.5", "fragile": "yes"}, PLACES)
    assert params == {"pickup": "w", "destination": "e", "dwell": 3.5, "copies": 1, "fragile": True,
                      "note": "for {destination}"}
    assert [s.target for s in steps if s.target] == ["w", "e"]
    assert steps[2].seconds == 3.5
    assert t.robot_kind == "delivery" and t.capabilities == ("cargo_bay",)


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({}, "params.destination"),
        ({"destination": "moon"}, "params.destination"),
        ({"destination": "e", "copies": 1.5}, "params.copies"),
        ({"destination": "e", "dwell": "soon"}, "params.dwell"),
        ({"destination": "e", "fragile": "perhaps"}, "params.fragile"),
        ({"destination": "e", "colour": "red"}, "params.colour"),
    ],
)
def test_bad_parameters_name_the_field(values, field):
    t = parse_template(RAW, "courier.yaml")
    with pytest.raises(InvalidInput) as info:
        t.instantiate(values, PLACES)
    assert info.value.field == field


def test_malformed_template_names_the_file():
    with pytest.raises(TemplateError, match=r"bad\.yaml: params\.x\.type must be one of"):
        parse_template({**RAW, "params": {"x": {"type": "colour"}}}, "bad.yaml")
    with pytest.raises(TemplateError, match=r"bad\.yaml: 'steps' must be a non-empty list"):
        parse_template({**RAW, "steps": []}, "bad.yaml")


def test_library_loads_the_repository_templates():
    from fleet_manager.settings import REPO_ROOT

    library = TemplateLibrary.load(REPO_ROOT / "missions")
    names = {t.name for t in library.all()}
    assert {"delivery", "security_patrol", "floor_cleaning", "pick_and_place"} <= names
    with pytest.raises(NotFound, match="unknown mission template 'teleport'"):
        library.get("teleport")


def test_labels_carry_a_templates_texts_in_other_languages():
    raw = {**RAW, "labels": {"ko": {"name": "택배", "description": "물건을 옮깁니다",
                                    "params": {"pickup": {"name": "싣는 곳", "description": "싣는 장소"},
                                               "note": "메모"}}}}
    labels = parse_template(raw, "courier.yaml").labels["ko"]
    assert (labels.name, labels.description) == ("택배", "물건을 옮깁니다")
    assert labels.public()["params"] == {"pickup": {"name": "싣는 곳", "description": "싣는 장소"},
                                         "note": {"name": None, "description": "메모"}}  # (a text: its description)
    assert parse_template(RAW, "courier.yaml").labels == {}  # optional: English only


@pytest.mark.parametrize(
    ("labels", "needle"),
    [
        (["ko"], r"labels must be a mapping of languages"),
        ({"korean": {"name": "x"}}, r"labels\.korean: a language is a code"),
        ({"ko": {"title": "x"}}, r"labels\.ko must be a mapping of name, description, params and prompts"),
        ({"ko": {"prompts": {1: "확인"}}}, r"labels\.ko\.prompts\.1: not the index of a confirm step \(those are "
                                          r"\[4\], counted from 0\)"),
        ({"ko": {"prompts": ["확인"]}}, r"labels\.ko\.prompts must be a mapping of confirm step indexes"),
        ({"ko": {"params": {"colour": "색"}}}, r"labels\.ko\.params\.colour: the template has no such parameter"),
        ({"ko": {"params": {"pickup": {"hint": "x"}}}}, r"labels\.ko\.params\.pickup must be a text or a mapping"),
        ({"ko": {"name": ""}}, r"labels\.ko\.name must be a non-empty text"),
    ],
)
def test_malformed_labels_name_the_field(labels, needle):
    raw = {**RAW, "steps": [*RAW["steps"], {"confirm": "ok?"}]}
    with pytest.raises(TemplateError, match=rf"bad\.yaml: {needle}"):
        parse_template({**raw, "labels": labels}, "bad.yaml")


def test_a_confirm_prompt_in_other_languages_is_filled_like_the_english_one():
    raw = {**RAW, "steps": [*RAW["steps"], {"confirm": "Recipient at {destination}: receive {note}"}],
           "labels": {"ko": {"prompts": {4: "{destination}의 수령인: {note} 수령"}}}}
    _, steps = parse_template(raw, "courier.yaml").instantiate({"destination": "e"}, PLACES)
    assert steps[4].prompt == "Recipient at e: receive for {destination}"  # (a default's own slots stay)
    assert steps[4].to_dict()["prompt_labels"] == {"ko": "e의 수령인: for {destination} 수령"}
    assert "prompt_labels" not in steps[0].to_dict()


def test_every_repository_template_is_in_korean():
    """Issue 18: the dispatch form in Korean shows each template's name, description and parameters in Korean."""
    import re

    from fleet_manager.settings import REPO_ROOT

    hangul = re.compile(r"[\uac00-\ud7a3]")
    for t in TemplateLibrary.load(REPO_ROOT / "missions").all():
        ko = t.labels.get("ko")
        assert ko is not None, t.name
        texts = {"name": ko.name, "description": ko.description}
        for p in t.params:
            label = ko.params.get(p.name)
            texts[f"params.{p.name}.name"] = label.name if label else ""
            texts[f"params.{p.name}.description"] = label.description if label else ""
        for index, step in enumerate(t.steps):
            if "confirm" in step:
                texts[f"prompts.{index}"] = ko.prompts.get(index, "")
        missing = [where for where, text in texts.items() if not hangul.search(text)]
        assert not missing, f"{t.name}: no Korean for {missing}"
