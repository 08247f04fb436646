"""Test bench for the simulated VDA 5050 vehicle: a unicycle base integrated in the test, order builders, and
a record of every message the vehicle publishes, each checked against the vendored 2.0.0 schema and for
headerIds that count up by one per topic."""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from vda5050.codec import parse, to_json
from vda5050.enums import ActionStatus, BlockingType
from vda5050.models import Action, ActionParameter, Edge, InstantActions, Node, NodePosition, Order, State, WireModel
from vda5050.schemas import validate
from vda5050.topics import Topic
from vda5050.vehicle import Vehicle

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z
MAP = "lab"
MANUFACTURER = "LabFleet"
SERIAL = "SN1"


def check_message(topic: Topic, model: WireModel) -> dict[str, Any]:
    """The message as JSON data, after checking it against the 2.0.0 schema (and that it parses back)."""
    data = json.loads(to_json(model))
    assert parse(topic, to_json(model)) == model
    if topic is Topic.STATE and any(a["actionStatus"] == ActionStatus.PAUSED for a in data["actionStates"]):
        # the one deviation from the tag 2.0.0 schema: it lacks PAUSED, which the 2.0 text lists (6.11)
        erratum = {**data, "actionStates": [{**a, "actionStatus": "RUNNING"} if a["actionStatus"] == "PAUSED" else a
                                            for a in data["actionStates"]]}
        validate(topic, erratum, "2.0.0")
    else:
        validate(topic, data, "2.0.0")
    return data


def action(action_type: str, action_id: str, blocking: BlockingType = BlockingType.NONE,
           **params: Any) -> Action:
    return Action(action_type=action_type, action_id=action_id, blocking_type=blocking,
                  action_parameters=[ActionParameter(key=k, value=v) for k, v in params.items()] or None)


def instant(*actions: Action, header_id: int = 0) -> InstantActions:
    return InstantActions(header_id=header_id, timestamp="2026-01-01T00:00:00.000Z", version="2.0.0",
                          manufacturer=MANUFACTURER, serial_number=SERIAL, actions=list(actions))


def order(order_id: str, points: Sequence[tuple[float, float]], *, released: int | None = None, update_id: int = 0,
          first_seq: int = 0, names: Sequence[str] | None = None, node_actions: dict[int, list[Action]] | None = None,
          edge_actions: dict[int, list[Action]] | None = None, max_speed: float | None = None,
          theta: dict[int, float] | None = None, deviation: float | None = None, header_id: int = 0) -> Order:
    """An order through `points` (nodes n<i> or `names`); the first `released` nodes are the base (all by
    default); sequenceIds from first_seq; node_actions / edge_actions / theta by node or edge index."""
    released = len(points) if released is None else released
    names = list(names) if names is not None else [f"n{i}" for i in range(len(points))]
    nodes = [Node(node_id=names[i], sequence_id=first_seq + 2 * i, released=i < released,
                  node_position=NodePosition(x=x, y=y, theta=(theta or {}).get(i), map_id=MAP,
                                             allowed_deviation_xy=deviation),
                  actions=(node_actions or {}).get(i, [])) for i, (x, y) in enumerate(points)]
    edges = [Edge(edge_id=f"e{names[i]}-{names[i + 1]}", sequence_id=first_seq + 2 * i + 1, released=i + 1 < released,
                  start_node_id=names[i], end_node_id=names[i + 1], max_speed=max_speed,
                  actions=(edge_actions or {}).get(i, [])) for i in range(len(points) - 1)]
    return Order(header_id=header_id, timestamp="2026-01-01T00:00:00.000Z", version="2.0.0",
                 manufacturer=MANUFACTURER, serial_number=SERIAL, order_id=order_id, order_update_id=update_id,
                 nodes=nodes, edges=edges)


@dataclass
class Bench:
    """A vehicle on a unicycle base, stepped every dt seconds of simulated time from T0."""

    vehicle: Vehicle
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)
    dt: float = 0.05
    battery: float = 80.0
    charging: bool = False
    t: float = 0.0
    v: float = 0.0
    w: float = 0.0
    messages: list[tuple[Topic, WireModel]] = field(default_factory=list)
    path: list[tuple[float, float]] = field(default_factory=list)
    _header_ids: dict[Topic, int] = field(default_factory=dict)

    def _collect(self) -> None:
        for topic, model in self.vehicle.take_outgoing():
            check_message(topic, model)
            header_id = getattr(model, "header_id", None)
            assert header_id == self._header_ids.get(topic, -1) + 1, f"{topic} headerId {header_id} out of sequence"
            self._header_ids[topic] = header_id
            self.messages.append((topic, model))

    def step(self, scan: Any = None) -> None:
        x, y, yaw = self.pose
        self.pose = (x + self.v * math.cos(yaw) * self.dt, y + self.v * math.sin(yaw) * self.dt,
                     math.atan2(math.sin(yaw + self.w * self.dt), math.cos(yaw + self.w * self.dt)))
        self.t += self.dt
        self.path.append(self.pose[:2])
        self.v, self.w = self.vehicle.step(T0 + self.t, self.pose, (self.v, self.w), self.battery, self.charging,
                                           scan(self.pose) if scan else None)
        self._collect()

    def run(self, seconds: float, scan: Any = None) -> None:
        for _ in range(round(seconds / self.dt)):
            self.step(scan)

    def run_until(self, done: Callable[[Bench], object], timeout_s: float = 60.0, scan: Any = None) -> float:
        """Step until done(bench); the simulated seconds it took (AssertionError after timeout_s)."""
        start = self.t
        while not done(self):
            assert self.t - start < timeout_s, f"not done after {timeout_s} s (pose {self.pose})"
            self.step(scan)
        return self.t - start

    def send(self, message: Order | InstantActions) -> None:
        if isinstance(message, Order):
            self.vehicle.on_order(message)
        else:
            self.vehicle.on_instant_actions(message)
        self._collect()

    # -- what the vehicle published ----------------------------------------------------------------------------
    def of(self, topic: Topic) -> list[Any]:
        return [model for t, model in self.messages if t is topic]

    @property
    def state(self) -> State:
        states = self.of(Topic.STATE)
        assert states, "no state published yet"
        return states[-1]

    def status(self, action_id: str) -> ActionStatus | None:
        return next((a.action_status for a in self.state.action_states if a.action_id == action_id), None)

    def statuses(self, action_id: str) -> list[ActionStatus]:
        """Every status the action had in the published states, repeats collapsed."""
        seen: list[ActionStatus] = []
        for st in self.of(Topic.STATE):
            now = next((a.action_status for a in st.action_states if a.action_id == action_id), None)
            if now is not None and (not seen or seen[-1] is not now):
                seen.append(now)
        return seen

    def errors(self, error_type: str | None = None) -> list[Any]:
        return [e for e in self.state.errors if error_type is None or e.error_type == error_type]

    def stands(self) -> bool:
        return abs(self.v) < 1e-6 and abs(self.w) < 1e-6
