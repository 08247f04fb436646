"""Bytes on the wire <-> models: to_json(model) and parse(topic, payload), with MessageError saying what is
wrong with a payload (invalid UTF-8 or JSON, or which field failed and why)."""

from __future__ import annotations

import json
from typing import Literal, overload

from pydantic import ValidationError

from vda5050.factsheet import Factsheet
from vda5050.models import Connection, InstantActions, Order, State, Visualization, WireModel
from vda5050.topics import Topic

MODEL_OF: dict[Topic, type[WireModel]] = {
    Topic.ORDER: Order,
    Topic.INSTANT_ACTIONS: InstantActions,
    Topic.STATE: State,
    Topic.VISUALIZATION: Visualization,
    Topic.CONNECTION: Connection,
    Topic.FACTSHEET: Factsheet,
}
_MAX_PROBLEMS = 5


class MessageError(ValueError):
    """A payload that is no valid message of its topic. `problems`: one line each ("nodes.0.nodeId: Field
    required"); `header_id`: the payload's headerId when it could be read (for error references)."""

    def __init__(self, topic: Topic, problems: list[str], header_id: int | None = None) -> None:
        self.topic = topic
        self.problems = problems
        self.header_id = header_id
        more = f" (and {len(problems) - _MAX_PROBLEMS} more)" if len(problems) > _MAX_PROBLEMS else ""
        super().__init__(f"{topic}: " + "; ".join(problems[:_MAX_PROBLEMS]) + more)

    def references(self) -> list[tuple[str, str]]:
        """Error references for the state (7.1): the headerId when known, and the topic."""
        head = [("headerId", str(self.header_id))] if self.header_id is not None else []
        return [*head, ("topic", str(self.topic))]


def to_json(model: WireModel) -> bytes:
    """The message as sent: JSON by alias (camelCase), fields that are None left out."""
    return model.model_dump_json(by_alias=True, exclude_none=True).encode()


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(message)"


@overload
def parse(topic: Literal[Topic.ORDER], payload: bytes | str) -> Order: ...
@overload
def parse(topic: Literal[Topic.INSTANT_ACTIONS], payload: bytes | str) -> InstantActions: ...
@overload
def parse(topic: Literal[Topic.STATE], payload: bytes | str) -> State: ...
@overload
def parse(topic: Literal[Topic.VISUALIZATION], payload: bytes | str) -> Visualization: ...
@overload
def parse(topic: Literal[Topic.CONNECTION], payload: bytes | str) -> Connection: ...
@overload
def parse(topic: Literal[Topic.FACTSHEET], payload: bytes | str) -> Factsheet: ...
@overload
def parse(topic: Topic | str, payload: bytes | str) -> WireModel: ...
def parse(topic: Topic | str, payload: bytes | str) -> WireModel:
    """The model of a topic's payload (Order for Topic.ORDER, ...); MessageError when it is not one."""
    topic = Topic(topic)
    try:
        data = json.loads(payload.decode("utf-8") if isinstance(payload, bytes) else payload)  # 6.1.2: UTF-8
    except UnicodeDecodeError as exc:
        raise MessageError(topic, [f"not UTF-8: {exc.reason} at byte {exc.start}"]) from None
    except json.JSONDecodeError as exc:
        raise MessageError(topic, [f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"]) from None
    if not isinstance(data, dict):
        raise MessageError(topic, [f"expected a JSON object, got {type(data).__name__}"])
    header_id = data.get("headerId")
    header_id = header_id if isinstance(header_id, int) and not isinstance(header_id, bool) else None
    try:
        return MODEL_OF[topic].model_validate(data)
    except ValidationError as exc:
        problems = [f"{_where(e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)]
        raise MessageError(topic, problems, header_id) from None
