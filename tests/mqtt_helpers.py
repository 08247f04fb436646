"""MQTT in tests: each test uses VDA 5050 topics of its own interface name, and clears what it left retained; a
capture of those topics and the checks of what went over the broker."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt

from vda5050.schemas import validate_2_0
from vda5050.topics import parse_topic_name

BROKER = ("127.0.0.1", 1883)


def clear_retained(interface: str, wait_s: float = 1.0) -> list[str]:
    """Remove the retained messages (vehicles' `connection`, ...) under `<interface>/v2/`: the topics cleared."""
    found: list[str] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, m: found.append(m.topic) if m.retain and m.payload else None
    client.connect(*BROKER)
    client.subscribe(f"{interface}/v2/#", qos=1)
    client.loop_start()
    time.sleep(wait_s)
    for topic in found:
        client.publish(topic, b"", qos=1, retain=True).wait_for_publish(timeout=2)
    client.loop_stop()
    client.disconnect()
    return found


@dataclass
class Capture:
    """Every message on the lab's VDA 5050 topics, in arrival order: (wall time, topic, payload)."""

    interface: str
    messages: list[tuple[float, str, bytes]] = field(default_factory=list)
    client: mqtt.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"capture-{uuid.uuid4().hex[:8]}")
        self.client.on_message = lambda _c, _u, m: self.messages.append((time.time(), m.topic, m.payload))
        self.client.on_connect = lambda c, _u, _f, _r, _p: c.subscribe(f"{self.interface}/v2/#", qos=1)
        self.client.connect(*BROKER)
        self.client.loop_start()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def check_messages(capture: Capture, *, min_orders: int, min_states: int, updated: bool) -> None:
    """Schemas, order updates, and no node reached before its release, from what went over the broker: every
    message validates against the VDA 5050 2.0.0 schemas, at least `min_orders` orders and `min_states` states
    went over it, and (`updated`) some order was updated."""
    released: dict[tuple[str, str], int] = {}  # (serial, orderId) → highest released sequenceId sent so far
    last: dict[tuple[str, str], dict[str, Any]] = {}  # the latest order message of each order
    counted = {"order": 0, "state": 0, "instantActions": 0}
    for _, topic, payload in list(capture.messages):  # the capture goes on meanwhile
        if not payload:
            continue
        parts = parse_topic_name(topic)
        data = json.loads(payload)
        validate_2_0(parts.topic, data)
        key = (parts.serial_number, data.get("orderId", ""))
        if str(parts.topic) == "order":
            counted["order"] += 1
            before = last.get(key)
            if before is not None and data["orderUpdateId"] != before["orderUpdateId"]:
                assert data["orderUpdateId"] > before["orderUpdateId"], (before, data)
                stitch = [n for n in before["nodes"] if n["released"]][-1]
                first = data["nodes"][0]
                assert (first["nodeId"], first["sequenceId"]) == (stitch["nodeId"], stitch["sequenceId"]), (
                    before["nodes"], data["nodes"])
            last[key] = data
            base = [n["sequenceId"] for n in data["nodes"] if n["released"]]
            released[key] = max(released.get(key, -1), max(base, default=-1))
        elif str(parts.topic) == "state":
            counted["state"] += 1
            if data.get("orderId") and key in released and data.get("lastNodeSequenceId") is not None:
                assert data["lastNodeSequenceId"] <= released[key], (data["orderId"], data["lastNodeId"])
        elif str(parts.topic) == "instantActions":
            counted["instantActions"] += 1
    assert counted["order"] >= min_orders and counted["state"] >= min_states, counted
    assert not updated or any(u["orderUpdateId"] > 0 for u in last.values()), "no order was ever updated"
