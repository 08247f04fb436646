"""The official VDA 5050 JSON schemas, vendored under schemas/<version>/ (see schemas/README.md), and
validation of a message against them with the draft each schema declares (2020-12 for 2.0.0 and 2.1.0)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import FormatChecker
from jsonschema.exceptions import best_match
from jsonschema.protocols import Validator
from jsonschema.validators import validator_for

from vda5050.topics import Topic

VERSIONS = ("2.0.0", "2.1.0")
DEFAULT_VERSION = "2.0.0"


class SchemaValidationError(ValueError):
    """A message that its topic's schema refuses: names the topic, the version and the JSON path."""

    def __init__(self, topic: Topic, version: str, path: str, message: str, count: int) -> None:
        self.topic = topic
        self.version = version
        self.path = path
        self.count = count
        more = f" ({count - 1} more problems)" if count > 1 else ""
        super().__init__(f"{topic} (VDA 5050 {version} schema): {path}: {message}{more}")


@cache
def load_schema(version: str, topic: Topic | str) -> dict[str, Any]:
    """The published JSON schema of a topic, from the package data."""
    if version not in VERSIONS:
        raise ValueError(f"no vendored VDA 5050 schemas of version {version!r} (have {', '.join(VERSIONS)})")
    folder = resources.files("vda5050").joinpath("schemas", version)
    topic = Topic(topic)
    for name in (f"{topic}.schema", f"{topic}.json"):  # tag 2.0.0 publishes factsheet.json
        source = folder.joinpath(name)
        if source.is_file():
            schema: dict[str, Any] = json.loads(source.read_text(encoding="utf-8"))
            return schema
    raise FileNotFoundError(f"no {topic} schema in vda5050/schemas/{version}")


@cache
def _validator(version: str, topic: Topic) -> Validator:
    schema = load_schema(version, topic)
    cls = validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=FormatChecker())


def validate(topic: Topic | str, message: dict[str, Any], version: str = DEFAULT_VERSION) -> None:
    """Check a message (as JSON data, e.g. json.loads of the payload) against the published schema of its
    topic; SchemaValidationError naming the topic and the JSON path of the (best) failure."""
    topic = Topic(topic)
    errors = list(_validator(version, topic).iter_errors(message))
    if errors:
        worst = best_match(errors)
        raise SchemaValidationError(topic, version, worst.json_path, worst.message, len(errors))


def validate_2_0(topic: Topic | str, message: dict[str, Any]) -> None:
    """Check a message against the tag 2.0.0 schema of its topic as the 2.0 text reads it: the tag's two
    defects that concern messages on the wire (schemas/README.md) are accounted for — instantActions name the
    action type `actionType` (the tag's schema says `actionName`; such messages must also pass 2.1.0's), and a
    state's action may be PAUSED (the tag's schema leaves it out). Anything else must pass as published."""
    topic = Topic(topic)
    if topic is Topic.INSTANT_ACTIONS:
        validate(topic, message, "2.1.0")
        message = {**message, "actions": [{("actionName" if k == "actionType" else k): v for k, v in a.items()}
                                          for a in message.get("actions", [])]}
    elif topic is Topic.STATE:
        message = {**message, "actionStates": [
            {**a, "actionStatus": "RUNNING"} if a.get("actionStatus") == "PAUSED" else a
            for a in message.get("actionStates", [])]}
    validate(topic, message, "2.0.0")
