"""Mission templates (missions/*.yaml): typed parameters with defaults, steps with {param} slots."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.missions import Step, parse_steps

PARAM_TYPES = ("place", "zone", "string", "integer", "number", "boolean")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class TemplateError(ValueError):
    """A template file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class ParamSpec:
    name: str
    type: str
    default: Any = None
    required: bool = False
    description: str = ""


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    robot_kind: str | None
    capabilities: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    steps: list[Any] = field(default_factory=list)  # raw steps with {param} slots

    def instantiate(
        self, values: dict[str, Any], places: set[str], where: str | None = None, zones: set[str] | None = None
    ) -> tuple[dict[str, Any], list[Step]]:
        """Check and default the parameters, fill the slots; returns (params, steps)."""
        known = {p.name for p in self.params}
        unknown = sorted(set(values) - known)
        if unknown:
            raise InvalidInput(
                f"template {self.name!r} has no parameter {unknown[0]!r} (it has {sorted(known)})",
                field=f"params.{unknown[0]}",
            )
        resolved: dict[str, Any] = {}
        for spec in self.params:
            if spec.name in values:
                resolved[spec.name] = coerce(spec, values[spec.name], places, zones)
            elif spec.default is not None:
                resolved[spec.name] = coerce(spec, spec.default, places, zones)
            elif spec.required:
                raise InvalidInput(f"parameter {spec.name!r} is required", field=f"params.{spec.name}")
        return resolved, parse_steps(_fill(self.steps, resolved), where or f"template {self.name}.steps")


def coerce(spec: ParamSpec, value: Any, places: set[str], zones: set[str] | None = None) -> Any:
    where = f"params.{spec.name}"
    if spec.type == "zone":
        if not isinstance(value, str) or (zones is not None and value not in zones):
            raise InvalidInput(f"{where}: unknown zone {value!r} (zones: {sorted(zones or [])})", field=where)
        return value
    if spec.type == "place":
        if not isinstance(value, str) or value not in places:
            raise InvalidInput(f"{where}: unknown place {value!r}", field=where)
        return value
    if spec.type == "string":
        if not isinstance(value, str):
            raise InvalidInput(f"{where}: expected a string, got {value!r}", field=where)
        return value
    if spec.type == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false", "yes", "no", "1", "0"):
            return value.lower() in ("true", "yes", "1")
        raise InvalidInput(f"{where}: expected true or false, got {value!r}", field=where)
    try:
        if isinstance(value, bool):
            raise ValueError
        number = int(value) if spec.type == "integer" else float(value)
        if spec.type == "integer" and isinstance(value, float) and not value.is_integer():
            raise ValueError
    except (TypeError, ValueError):
        raise InvalidInput(f"{where}: expected {spec.type}, got {value!r}", field=where) from None
    return number


def _fill(raw: Any, values: dict[str, Any]) -> Any:
    if isinstance(raw, str):
        whole = _SLOT.fullmatch(raw)
        if whole:
            return values.get(whole.group(1), raw)
        return _SLOT.sub(lambda m: str(values.get(m.group(1), m.group(0))), raw)
    if isinstance(raw, list):
        return [_fill(item, values) for item in raw]
    if isinstance(raw, dict):
        return {k: _fill(v, values) for k, v in raw.items()}
    return raw


def parse_template(data: Any, source: str) -> Template:
    if not isinstance(data, dict):
        raise TemplateError(f"{source}: expected a mapping with name, params and steps")
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise TemplateError(f"{source}: 'name' is required")
    robot = data.get("robot") or {}
    if not isinstance(robot, dict):
        raise TemplateError(f"{source}: 'robot' must be a mapping with kind and capabilities")
    params: list[ParamSpec] = []
    for pname, spec in (data.get("params") or {}).items():
        if not isinstance(spec, dict) or spec.get("type") not in PARAM_TYPES:
            raise TemplateError(f"{source}: params.{pname}.type must be one of {PARAM_TYPES}")
        params.append(ParamSpec(str(pname), spec["type"], spec.get("default"), bool(spec.get("required", False)),
                                str(spec.get("description", ""))))
    steps = data.get("steps")
    if not isinstance(steps, list) or not steps:
        raise TemplateError(f"{source}: 'steps' must be a non-empty list")
    caps = robot.get("capabilities") or []
    return Template(name, str(data.get("description", "")), robot.get("kind"), tuple(caps), tuple(params), steps)


class TemplateLibrary:
    def __init__(self, templates: dict[str, Template]) -> None:
        self._templates = templates

    @classmethod
    def load(cls, directory: Path) -> TemplateLibrary:
        templates: dict[str, Template] = {}
        for path in sorted(directory.glob("*.yaml")):
            try:
                template = parse_template(yaml.safe_load(path.read_text()), str(path))
            except yaml.YAMLError as exc:
                raise TemplateError(f"{path}: {exc}") from exc
            templates[template.name] = template
        return cls(templates)

    def all(self) -> list[Template]:
        return list(self._templates.values())

    def get(self, name: str) -> Template:
        try:
            return self._templates[name]
        except KeyError:
            raise NotFound(f"unknown mission template {name!r}", field="template") from None
