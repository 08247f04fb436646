"""A VDA 5050 master control's side for the simulator's vehicles: orders built with vda5050.models (and checked
against the 2.0.0 schema before they are sent), a fake bus without a broker, and an MQTT master on the real
Mosquitto broker that listens to named vehicles only (never `#`) and clears the retained messages it leaves."""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.vda5050.bench import check_message
from vda5050.codec import to_json
from vda5050.models import Action, Edge, InstantActions, Node, NodePosition, Order, WireModel
from vda5050.route import Pose
from vda5050.schemas import validate
from vda5050.topics import Topic, topic_name
from vda5050.vehicle import Vehicle

BROKER = ("127.0.0.1", 1883)
MANUFACTURER = "LabFleet"
STAMP = "2026-01-01T00:00:00.000Z"


def make_order(serial: str, map_id: str, order_id: str, nodes: Sequence[tuple[str, float, float]],
               header_id: int = 0) -> Order:
    """An order through named nodes (name, x, y) in the vehicle's map, all released; checked against the 2.0.0
    schema as it will be sent."""
    wire_nodes = [Node(node_id=name, sequence_id=2 * i, released=True, actions=[],
                       node_position=NodePosition(x=x, y=y, map_id=map_id)) for i, (name, x, y) in enumerate(nodes)]
    edges = [Edge(edge_id=f"{a[0]}-{b[0]}", sequence_id=2 * i + 1, released=True, start_node_id=a[0],
                  end_node_id=b[0], actions=[]) for i, (a, b) in enumerate(itertools.pairwise(nodes))]
    order = Order(header_id=header_id, timestamp=STAMP, version="2.0.0", manufacturer=MANUFACTURER,
                  serial_number=serial, order_id=order_id, order_update_id=0, nodes=wire_nodes, edges=edges)
    validate(Topic.ORDER, json.loads(to_json(order)), "2.0.0")
    return order


def instant_actions(serial: str, *actions: Action, header_id: int = 0) -> InstantActions:
    return InstantActions(header_id=header_id, timestamp=STAMP, version="2.0.0", manufacturer=MANUFACTURER,
                          serial_number=serial, actions=list(actions))


class FakeBus:
    """The master-control side without a broker: each vehicle stepped in process; what it publishes is checked
    against the 2.0.0 schema and kept, newest last."""

    def __init__(self, vehicles: list[Vehicle]) -> None:
        self.vehicles = {v.description.serial_number: v for v in vehicles}
        self.sent: list[tuple[str, Topic, WireModel]] = []
        self.running = False

    def start(self) -> None:
        self.running = True

    def stop(self) -> None:
        self.running = False

    def wait_connected(self, timeout_s: float) -> bool:
        return self.running

    def step(self, serial: str, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float,
             charging: bool, scan: Any = None, wall_s: float | None = None) -> tuple[float, float]:
        vehicle = self.vehicles[serial]
        command = vehicle.step(now_s, pose, velocity, battery_pct, charging, scan, wall_s)
        for topic, model in vehicle.take_outgoing():
            check_message(topic, model)
            self.sent.append((serial, topic, model))
        return command

    def of(self, serial: str, topic: Topic) -> list[Any]:
        return [m for s, t, m in self.sent if s == serial and t is topic]

    def state(self, serial: str) -> Any:
        states = self.of(serial, Topic.STATE)
        assert states, f"{serial} published no state"
        return states[-1]


@dataclass
class Received:
    serial: str
    topic: Topic
    data: dict[str, Any]


class MqttMaster:
    """A master control on the real broker for some vehicles of one interface: every message they publish is
    checked against the 2.0.0 schema and kept; orders go out with QoS 0, as the 2.0 text asks."""

    def __init__(self, interface: str, serials: Sequence[str]) -> None:
        self.interface = interface
        self.serials = list(serials)
        self.messages: list[Received] = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-master-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        try:
            self.client.connect(*BROKER, keepalive=15)
        except OSError as exc:
            pytest.fail(f"the Mosquitto broker on {BROKER[0]}:{BROKER[1]} is required for this test: {exc}")
        self.client.subscribe([(self.topic(s, t), 1) for s in self.serials
                               for t in (Topic.STATE, Topic.CONNECTION, Topic.FACTSHEET, Topic.VISUALIZATION)])
        self.client.loop_start()

    def topic(self, serial: str, topic: Topic) -> str:
        return topic_name(self.interface, "v2", manufacturer=MANUFACTURER, serial=serial, topic=topic)

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not message.payload:  # a retained message being cleared
            return
        _, _, _, serial, sub = message.topic.split("/")
        topic = Topic(sub)
        data = json.loads(message.payload)
        validate(topic, data, "2.0.0")  # what the vehicle puts on the broker is valid
        with self._cond:
            self.messages.append(Received(serial, topic, data))
            self._cond.notify_all()

    def of(self, serial: str, topic: Topic) -> list[dict[str, Any]]:
        with self._cond:
            return [m.data for m in self.messages if m.serial == serial and m.topic is topic]

    def connection(self, serial: str) -> str | None:
        states = self.of(serial, Topic.CONNECTION)
        return states[-1]["connectionState"] if states else None

    def wait_for(self, check: Callable[[], Any], timeout_s: float, what: str) -> Any:
        deadline = time.monotonic() + timeout_s
        while True:
            result = check()
            if result:
                return result
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s waiting for {what}")
            with self._cond:
                self._cond.wait(0.05)

    def send(self, serial: str, message: Order | InstantActions) -> None:
        topic = Topic.ORDER if isinstance(message, Order) else Topic.INSTANT_ACTIONS
        self.client.publish(self.topic(serial, topic), to_json(message), qos=0).wait_for_publish(5)

    def close(self) -> None:
        for serial in self.serials:  # leave no retained messages behind
            for topic in (Topic.CONNECTION, Topic.FACTSHEET):
                self.client.publish(self.topic(serial, topic), b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()
