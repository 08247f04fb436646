from __future__ import annotations

import os
import shutil
import subprocess

import jsonschema
import pytest
import yaml

from fleet_manager.core.mission_files import (
    MissionFileError,
    check_mission_file,
    line_of,
    mission_schema,
    yaml_with_lines,
)
from fleet_manager.core.navgraph import load_navgraph
from tests.conftest import REPO, VENV_BIN

GRAPH = load_navgraph(REPO / "sim_worlds" / "living_lab" / "navgraph.yaml")


def test_lines_of_fields():
    _, lines = yaml_with_lines("name: x\nsteps:\n  - go_to: a\n  - patrol:\n      - b\n      - c\n    repeat: 2\n")
    assert lines["steps[0].go_to"] == 3
    assert lines["steps[1].patrol[1]"] == 6 and lines["steps[1].repeat"] == 7
    assert line_of(lines, "steps[1].patrol[1]") == 6
    assert line_of(lines, "steps[0].go_to.nowhere") == 3  # nearest enclosing field
    assert line_of(lines, None) is None


@pytest.mark.parametrize(
    ("text", "line", "needle"),
    [
        ("steps:\n  - go_to: lobby\n  - wait: 3\n  - go_to: narnia\n", 4, "steps[2]: unknown place 'narnia'"),
        ("steps:\n  - go_to: lobby\n  - fly: 3\n", 3, "steps[1]: a step has exactly one of"),
        ("steps:\n  - wait: -2\n", 2, "steps[0].wait: expected a non-negative number"),
        ("name: t\nparams:\n  a: {type: colour}\nsteps:\n  - go_to: lobby\n", 3, "params.a.type must be one of"),
        ("name: t\nparams:\n  p: {type: place, default: moon}\nsteps:\n  - go_to: '{p}'\n", 3,
         "params.p: unknown place 'moon'"),
        ("steps:\n  - go_to: [lobby\n", 3, "not valid YAML"),
    ],
)
def test_errors_name_file_line_and_field(tmp_path, text, line, needle):
    path = tmp_path / "mission.yaml"
    path.write_text(text)
    with pytest.raises(MissionFileError) as info:
        check_mission_file(path, GRAPH)
    assert info.value.problem.line == line
    assert str(info.value).startswith(f"{path}:{line}: ")
    assert needle in str(info.value)


def test_repository_templates_are_valid_and_match_the_schema():
    schema = mission_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    for path in sorted((REPO / "missions").glob("*.yaml")):
        _, steps = check_mission_file(path, GRAPH)
        assert steps, path
        jsonschema.validate(yaml.safe_load(path.read_text()), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"steps": [{"fly_to": "lobby"}]}, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "params": {"a": {"type": "colour"}}, "steps": [{"go_to": "a"}]}, schema)


def test_cli_validate_and_schema(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("steps:\n  - go_to: lobby\n  - go_to: narnia\n")
    run = subprocess.run([str(VENV_BIN / "labfleet"), "mission", "validate", str(REPO / "missions" / "delivery.yaml"),
                          str(bad)], capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "delivery.yaml: ok (template 'delivery'" in run.stdout
    assert f"{bad}:3: steps[1]: unknown place 'narnia'" in run.stderr
    schema = subprocess.run([str(VENV_BIN / "labfleet"), "mission", "schema"], capture_output=True, text=True,
                            timeout=60)
    assert schema.returncode == 0 and '"$schema"' in schema.stdout


def test_cli_points_api_refusals_at_the_file_line(tmp_path):
    from fleet_manager.cli.client import ApiError
    from fleet_manager.cli.main import _file_error

    path = tmp_path / "m.yaml"
    path.write_text("steps:\n  - go_to: lobby\n  - go_to: narnia\n")
    refusal = ApiError(422, "spec.steps[1]: unknown place 'narnia'", "spec.steps[1]")
    assert _file_error(path, refusal) == f"{path}:3: spec.steps[1]: unknown place 'narnia'"
    assert _file_error(path, ApiError(404, "no such thing")) == f"{path}: no such thing"


def test_cli_validate_checks_the_sites_zones_as_the_api_does(tmp_path):
    """Issue 17: a spec whose drive ends in a no-go zone is refused by `labfleet mission validate --site` with the
    message the API gives (the same check, core/zone_access.py)."""
    sites = tmp_path / "sites"
    shutil.copytree(REPO / "sim_worlds" / "living_lab", sites / "living_lab")
    zones = sites / "living_lab" / "zones.yaml"
    zones.write_text(zones.read_text() + "  - name: spill\n    kind: no_go\n"
                     "    polygon: [[10.0, 4.0], [12.0, 4.0], [12.0, 6.0], [10.0, 6.0]]\n")
    spec = tmp_path / "to_pharmacy.yaml"
    spec.write_text("steps:\n  - go_to: lobby\n  - go_to: pharmacy\n")
    env = dict(os.environ, LABFLEET_SITES_DIR=str(sites))
    run = subprocess.run([str(VENV_BIN / "labfleet"), "mission", "validate", "--site", "living_lab", str(spec)],
                         capture_output=True, text=True, timeout=60, env=env)
    assert run.returncode == 1, run.stdout + run.stderr
    assert f"{spec}:3: steps[1]: place 'pharmacy' lies in" in run.stderr and "spill" in run.stderr, run.stderr
    ok = subprocess.run([str(VENV_BIN / "labfleet"), "mission", "validate", "--site", "living_lab", str(spec)],
                        capture_output=True, text=True, timeout=60)  # the real site: no such zone
    assert ok.returncode == 0, ok.stderr
