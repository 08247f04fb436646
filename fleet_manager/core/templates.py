"""Mission templates (missions/*.yaml): typed parameters with defaults, steps with {param} slots, and the texts
people read in other languages than English (`labels`, docs/site_files.md)."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.core.missions import Step, parse_steps

PARAM_TYPES = ("place", "zone", "string", "integer", "number", "boolean")
_SLOT = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
LANG_PATTERN = r"^[a-z]{2}(-[A-Z]{2})?$"  # a language of `labels`: ko, en, pt-BR
_LANG = re.compile(LANG_PATTERN)


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
class ParamLabel:
    name: str = ""  # what the parameter is called in the language (its field's label); "": its name
    description: str = ""


@dataclass(frozen=True)
class Labels:
    """A template's texts in one language; what is left out is shown in English (name, description)."""

    name: str = ""
    description: str = ""
    params: dict[str, ParamLabel] = field(default_factory=dict)
    prompts: dict[int, str] = field(default_factory=dict)  # confirm step index → its prompt, with {param} slots

    def public(self) -> dict[str, Any]:
        return {"name": self.name or None, "description": self.description or None,
                "params": {p: {"name": label.name or None, "description": label.description or None}
                           for p, label in self.params.items()}}


@dataclass(frozen=True)
class Template:
    name: str
    description: str
    robot_kind: str | None
    capabilities: tuple[str, ...]
    params: tuple[ParamSpec, ...]
    steps: list[Any] = field(default_factory=list)  # raw steps with {param} slots
    labels: dict[str, Labels] = field(default_factory=dict)  # language ("ko") → its texts

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
        steps = parse_steps(_fill(self.steps, resolved), where or f"template {self.name}.steps")
        for index, step in enumerate(steps):  # a confirm step's prompt in the languages that give one
            prompts = {lang: str(_fill(labels.prompts[index], resolved)) for lang, labels in self.labels.items()
                       if index in labels.prompts}
            if prompts:
                steps[index] = dataclasses.replace(step, prompt_labels=prompts)
        return resolved, steps


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
    confirms = {i for i, s in enumerate(steps) if isinstance(s, dict) and "confirm" in s}
    labels = parse_labels(data.get("labels"), {p.name for p in params}, source, confirms)
    return Template(name, str(data.get("description", "")), robot.get("kind"), tuple(caps), tuple(params), steps,
                    labels)


def _text(value: Any, where: str, source: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not value.strip():
        raise TemplateError(f"{source}: {where} must be a non-empty text")
    return value.strip()


def parse_labels(raw: Any, params: set[str], source: str, confirms: set[int] | None = None) -> dict[str, Labels]:
    """`labels: {ko: {name, description, params: {pickup: {name, description}}, prompts: {3: ...}}}`: each
    language's texts, of the template's own parameters only (a parameter's entry may be just its description, as
    a text), and the prompts of its confirm steps (by the step's index, with the same {param} slots)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: labels must be a mapping of languages (ko: {{name, description, params}})")
    out: dict[str, Labels] = {}
    for lang, entry in raw.items():
        where = f"labels.{lang}"
        if not isinstance(lang, str) or not _LANG.match(lang):
            raise TemplateError(f"{source}: {where}: a language is a code such as ko or pt-BR")
        if not isinstance(entry, dict) or set(entry) - {"name", "description", "params", "prompts"}:
            raise TemplateError(f"{source}: {where} must be a mapping of name, description, params and prompts")
        param_labels: dict[str, ParamLabel] = {}
        for pname, label in (entry.get("params") or {}).items():
            if pname not in params:
                raise TemplateError(f"{source}: {where}.params.{pname}: the template has no such parameter "
                                    f"(it has {sorted(params)})")
            if isinstance(label, str):
                label = {"description": label}
            if not isinstance(label, dict) or not label or set(label) - {"name", "description"}:
                raise TemplateError(f"{source}: {where}.params.{pname} must be a text or a mapping of name and "
                                    "description")
            param_labels[str(pname)] = ParamLabel(_text(label.get("name"), f"{where}.params.{pname}.name", source),
                                                  _text(label.get("description"),
                                                        f"{where}.params.{pname}.description", source))
        out[lang] = Labels(_text(entry.get("name"), f"{where}.name", source),
                           _text(entry.get("description"), f"{where}.description", source), param_labels,
                           _prompts(entry.get("prompts"), confirms or set(), f"{where}.prompts", source))
    return out


def _prompts(raw: Any, confirms: set[int], where: str, source: str) -> dict[int, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise TemplateError(f"{source}: {where} must be a mapping of confirm step indexes to prompts")
    out = {}
    for index, text in raw.items():
        if not isinstance(index, int) or index not in confirms:
            raise TemplateError(f"{source}: {where}.{index}: not the index of a confirm step (those are "
                                f"{sorted(confirms)}, counted from 0)")
        out[index] = _text(text, f"{where}.{index}", source)
    return out


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
