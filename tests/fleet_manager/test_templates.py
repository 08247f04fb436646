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
