"""Mission files (a template in missions/*.yaml, or an inline spec): line-aware validation and the
JSON Schema of the mission language."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.core.coverage import CoverageZone
from fleet_manager.core.errors import InvalidInput
from fleet_manager.core.missions import Step, parse_steps, validate_steps
from fleet_manager.core.navgraph import NavGraph
from fleet_manager.core.templates import LANG_PATTERN, PARAM_TYPES, TemplateError, parse_template
from fleet_manager.core.zone_access import check_zone_access
from fleet_manager.core.zones import OperatingZones


@dataclass(frozen=True)
class Problem:
    source: str
    line: int | None
    field: str | None
    message: str

    def __str__(self) -> str:
        where = f"{self.source}:{self.line}" if self.line else self.source
        return f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"


def yaml_with_lines(text: str) -> tuple[Any, dict[str, int]]:
    """The document, and the line (1-based) of every field path in it, e.g. "steps[2].go_to" → 14."""
    lines: dict[str, int] = {}

    def walk(node: yaml.Node, path: str) -> None:
        lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = f"{path}.{key.value}" if path else str(key.value)
                lines[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                walk(item, f"{path}[{i}]")

    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        walk(root, "")
    return yaml.safe_load(text), lines


def line_of(lines: dict[str, int], field: str | None) -> int | None:
    """The line of a field path, or of its nearest enclosing field."""
    path = field or ""
    while path:
        if path in lines:
            return lines[path]
        path = re.sub(r"(\.[^.\[\]]*|\[\d+\])$", "", path)
    return None


def _dummy(kind: str, graph: NavGraph | None) -> Any:
    """A stand-in value for a required parameter, so a template's steps can be checked."""
    return {"place": next(iter(graph.places)) if graph else "PLACE", "zone": "ZONE", "string": "x", "integer": 1,
            "number": 1.0, "boolean": True}[kind]


def check_mission_file(path: Path, graph: NavGraph | None, zones: OperatingZones | None = None,
                       cleaning_zones: Mapping[str, CoverageZone] | None = None) -> tuple[str, list[Step]]:
    """Validate a template or spec file; returns (description, steps) or raises MissionFileError. With the site's
    `zones`, a spec is checked against them as the API checks it (a template's places are its parameters: they
    are checked when a mission names them)."""
    source = str(path)
    try:
        data, lines = yaml_with_lines(Path(path).read_text())
    except OSError as exc:
        raise MissionFileError(Problem(source, None, None, str(exc))) from None
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise MissionFileError(Problem(source, line, None, f"not valid YAML: {exc.problem}")) from None
    if not isinstance(data, dict):
        raise MissionFileError(Problem(source, 1, None, "expected a mapping with 'steps' (and 'name' for a template)"))
    try:
        if "name" in data:
            template = parse_template(data, source)
            values = {p.name: _dummy(p.type, graph) for p in template.params if p.required and p.default is None}
            places = set(graph.places) if graph else {_dummy("place", graph)}
            _, steps = template.instantiate(values, places, where="steps")
            what = f"template {template.name!r}"
        else:
            steps = parse_steps(data.get("steps"), "steps")
            what = "mission spec"
        if graph is not None:
            validate_steps(steps, graph, "steps", zones=cleaning_zones)
            if zones is not None and "name" not in data:
                check_zone_access(steps, graph, zones, cleaning_zones or {}, "steps")
    except InvalidInput as exc:
        field = exc.field.removeprefix("spec.") if exc.field else None
        message = exc.message.removeprefix(f"{exc.field}: ") if exc.field else exc.message
        raise MissionFileError(Problem(source, line_of(lines, field), field, message)) from None
    except TemplateError as exc:
        text = str(exc).removeprefix(f"{source}: ")
        field = text.split(" ", 1)[0].strip("':")
        raise MissionFileError(Problem(source, line_of(lines, field), None, text)) from None
    return f"{what}, {len(steps)} steps", steps


class MissionFileError(ValueError):
    def __init__(self, problem: Problem) -> None:
        super().__init__(str(problem))
        self.problem = problem


def _step_schemas() -> list[dict[str, Any]]:
    place = {"type": "string", "minLength": 1, "description": "a place name from the site's navgraph"}

    def one(key: str, value: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {"type": "object", "required": [key], "additionalProperties": False,
                "properties": {key: value, **extra}}

    params = {"type": "object", "description": "action parameters"}
    number = {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string"}]}
    retries = {"oneOf": [{"type": "integer", "minimum": 0, "maximum": 10}, {"type": "string"}],
               "description": "extra attempts when the step fails"}
    return [
        one("go_to", place, retries=retries),
        one("dock", {**place, "description": "a charger place"}, retries=retries),
        one("action", {"oneOf": [{"type": "string"}, {"type": "object", "required": ["name"]}],
                       "description": "load, unload, pick, place, announce, handover, hitch, unhitch, clean, ..."},
            params=params, retries=retries),
        one("wait", {**number, "description": "seconds"}, retries=retries),
        one("confirm", {"type": "string", "description": "the prompt an operator or recipient confirms"},
            timeout={**number, "description": "seconds to wait; the step fails after it"}, retries=retries),
        one("patrol", {"type": "array", "items": place, "minItems": 1},
            repeat={"oneOf": [{"type": "integer", "minimum": 1}, {"type": "string"}]}, retries=retries),
        one("cover", {"type": "string", "minLength": 1, "description": "a cleaning zone of zones.yaml"},
            spacing={**number, "description": "metres between passes (default: the robot's width)"},
            retries=retries),
    ]


def _labels_schema() -> dict[str, Any]:
    text = {"type": "string", "minLength": 1}
    param = {"oneOf": [{**text, "description": "the parameter's description"},
                       {"type": "object", "minProperties": 1, "additionalProperties": False,
                        "properties": {"name": text, "description": text}}]}
    labels = {"type": "object", "additionalProperties": False, "properties": {
        "name": {**text, "description": "the template's name as people read it"}, "description": text,
        "params": {"type": "object", "additionalProperties": param},
        "prompts": {"type": "object", "additionalProperties": text,
                    "description": "a confirm step's prompt, by the step's index (from 0), with the same "
                                   "{param} slots"}}}
    return {"type": "object", "propertyNames": {"pattern": LANG_PATTERN}, "additionalProperties": labels,
            "description": "the template's texts in other languages than English, by language (ko: {...}); what "
                           "a language leaves out is shown in English"}


def mission_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of a mission file: a template (name, robot, params, steps) or a spec (steps)."""
    steps = {"type": "array", "minItems": 1, "items": {"oneOf": _step_schemas()}}
    param = {"type": "object", "required": ["type"], "additionalProperties": False, "properties": {
        "type": {"enum": list(PARAM_TYPES)}, "default": {}, "required": {"type": "boolean"},
        "description": {"type": "string"}}}
    template = {"type": "object", "required": ["name", "steps"], "additionalProperties": False, "properties": {
        "name": {"type": "string", "pattern": "^[a-z][a-z0-9_]*$"}, "description": {"type": "string"},
        "robot": {"type": "object", "additionalProperties": False, "properties": {
            "kind": {"type": "string"}, "capabilities": {"type": "array", "items": {"type": "string"}}}},
        "params": {"type": "object", "additionalProperties": param}, "steps": steps, "labels": _labels_schema()}}
    spec = {"type": "object", "required": ["steps"], "additionalProperties": False, "properties": {"steps": steps}}
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://labfleet.org/schemas/mission.json",
            "title": "LabFleet mission file", "description": "Step values may hold {param} slots in templates.",
            "oneOf": [{"title": "template", **template}, {"title": "spec", **spec}]}
