"""MQTT in tests: each test uses VDA 5050 topics of its own interface name, and clears what it left retained."""

from __future__ import annotations

import time

import paho.mqtt.client as mqtt

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
