"""Simulated VDA 5050 vehicles on the real Mosquitto broker at 127.0.0.1:1883 (anonymous). Each test uses an
interface name of its own (uagv_test_<random>), subscribes to its vehicle's topics only, stops every client it
starts and clears the retained messages it leaves. Without the broker these tests fail."""

from __future__ import annotations

import json
import logging
import math
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from tests.tcp_proxy import TcpProxy
from tests.vda5050.bench import MAP, T0, action, order
from vda5050.codec import to_json
from vda5050.description import VehicleDescription
from vda5050.mqtt_vehicle import BrokerSettings, MqttVehicleRunner, VehicleLink
from vda5050.schemas import validate
from vda5050.topics import Topic, topic_name
from vda5050.vehicle import Vehicle

BROKER = ("127.0.0.1", 1883)


@dataclass
class Received:
    topic: Topic
    data: dict[str, Any]
    retained: bool


@dataclass
class Listener:
    """A master control's view: a client subscribed to one vehicle's topics, and a publisher of orders."""

    interface: str
    serial: str
    client: mqtt.Client = field(init=False)
    messages: list[Received] = field(default_factory=list)
    _cond: threading.Condition = field(default_factory=threading.Condition)

    def __post_init__(self) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"test-listener-{uuid.uuid4().hex[:8]}")
        self.client.on_message = self._on_message
        try:
            self.client.connect(*BROKER, keepalive=15)
        except OSError as exc:
            pytest.fail(f"the Mosquitto broker on {BROKER[0]}:{BROKER[1]} is required for this test: {exc}")
        self.client.subscribe([(self.topic(t), 1) for t in (Topic.STATE, Topic.VISUALIZATION, Topic.CONNECTION,
                                                             Topic.FACTSHEET)])
        self.client.loop_start()

    def topic(self, topic: Topic) -> str:
        return topic_name(self.interface, "v2", manufacturer="LabFleet", serial=self.serial, topic=topic)

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        if not message.payload:  # a retained message being cleared
            return
        topic = Topic(message.topic.rsplit("/", 1)[1])
        data = json.loads(message.payload)
        validate(topic, data, "2.0.0")  # what comes over the broker is valid too
        with self._cond:
            self.messages.append(Received(topic, data, bool(message.retain)))
            self._cond.notify_all()

    def of(self, topic: Topic) -> list[Received]:
        with self._cond:
            return [m for m in self.messages if m.topic is topic]

    def wait_for(self, check: Callable[[Listener], Any], timeout_s: float = 5.0, tick: Callable[[], None] | None = None
                 ) -> Any:
        """Wait until check(listener) is truthy (calling tick() meanwhile, e.g. to step a vehicle)."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = check(self)
            if result:
                return result
            assert time.monotonic() < deadline, "timed out"
            if tick is not None:
                tick()
            with self._cond:
                self._cond.wait(0.005)

    def publish(self, topic: Topic, payload: bytes, qos: int = 0) -> None:
        self.client.publish(self.topic(topic), payload, qos=qos).wait_for_publish(5)

    def close(self) -> None:
        for topic in (Topic.CONNECTION, Topic.FACTSHEET):  # leave no retained messages behind
            self.client.publish(self.topic(topic), b"", qos=1, retain=True).wait_for_publish(5)
        self.client.disconnect()
        self.client.loop_stop()


def connection_states(listener: Listener) -> list[str]:
    return [m.data["connectionState"] for m in listener.of(Topic.CONNECTION)]


@dataclass
class Base:
    """A unicycle base stepping a link at 20 Hz of simulated time."""

    link: VehicleLink
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)
    t: float = 0.0
    v: float = 0.0
    w: float = 0.0

    def step(self) -> None:
        x, y, yaw = self.pose
        dt = 0.05
        self.pose = (x + self.v * math.cos(yaw) * dt, y + self.v * math.sin(yaw) * dt, yaw + self.w * dt)
        self.t += dt
        self.v, self.w = self.link.step(T0 + self.t, self.pose, (self.v, self.w), 90.0, False)


@pytest.fixture
def interface() -> str:
    return f"uagv_test_{uuid.uuid4().hex[:10]}"


@pytest.fixture
def listener(interface: str) -> Iterator[Listener]:
    listening = Listener(interface, "SN1")
    yield listening
    listening.close()


def make_runner(interface: str, url: str = "mqtt://127.0.0.1:1883", protocol: str = "3.1.1") -> MqttVehicleRunner:
    vehicle = Vehicle(VehicleDescription("LabFleet", "SN1", MAP), actions={"beep": (0.5, 1.0)})
    return MqttVehicleRunner([vehicle], BrokerSettings(url=url, interface=interface, protocol=protocol,  # type: ignore[arg-type]
                                                       reconnect_min_s=1, reconnect_max_s=2))


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_a_vehicle_comes_online_and_publishes_its_state(interface: str, listener: Listener, protocol: str) -> None:
    with make_runner(interface, protocol=protocol) as runner:
        assert runner.wait_connected(5)
        base = Base(runner.links["SN1"])
        listener.wait_for(lambda li: li.of(Topic.STATE) and li.of(Topic.VISUALIZATION), tick=base.step)
        assert connection_states(listener)[-1] == "ONLINE"
        late = Listener(interface, "SN1")  # a master control that connects later still learns it is online
        try:
            online = late.wait_for(lambda li: li.of(Topic.CONNECTION))[-1]
            assert online.retained and online.data["connectionState"] == "ONLINE"
            sheet = late.wait_for(lambda li: li.of(Topic.FACTSHEET))[-1]
            assert sheet.retained and sheet.data["typeSpecification"]["agvKinematic"] == "DIFF"
        finally:
            late.client.disconnect()
            late.client.loop_stop()
        state = listener.of(Topic.STATE)[-1].data
        assert (state["serialNumber"], state["orderId"], state["operatingMode"]) == ("SN1", "", "AUTOMATIC")
    listener.wait_for(lambda li: connection_states(li)[-1] == "OFFLINE")  # a clean stop: OFFLINE, no last will
    time.sleep(0.3)
    assert connection_states(listener)[-1] == "OFFLINE" and "CONNECTIONBROKEN" not in connection_states(listener)


def test_an_order_sent_over_the_broker_is_driven(interface: str, listener: Listener) -> None:
    with make_runner(interface) as runner:
        assert runner.wait_connected(5)
        base = Base(runner.links["SN1"])
        listener.wait_for(lambda li: li.of(Topic.STATE), tick=base.step)
        listener.publish(Topic.ORDER, to_json(order("o1", [(0, 0), (1.5, 0), (1.5, 1.5)],
                                                    node_actions={1: [action("beep", "b1")]})))

        def finished(li: Listener) -> bool:
            states = li.of(Topic.STATE)
            return bool(states) and states[-1].data["orderId"] == "o1" and not states[-1].data["nodeStates"] \
                and not states[-1].data["driving"] and states[-1].data["actionStates"][0]["actionStatus"] == "FINISHED"

        listener.wait_for(finished, timeout_s=20, tick=base.step)
    seen = [m.data["lastNodeId"] for m in listener.of(Topic.STATE) if m.data["orderId"] == "o1"]
    assert [n for i, n in enumerate(seen) if i == 0 or seen[i - 1] != n] == ["n0", "n1", "n2"]
    assert math.dist(base.pose[:2], (1.5, 1.5)) < 0.1
    ids = [m.data["headerId"] for m in listener.of(Topic.STATE)]
    assert ids == sorted(ids) and len(set(ids)) == len(ids)


def test_the_last_will_says_connection_broken(interface: str, listener: Listener) -> None:
    runner = make_runner(interface)
    runner.start()
    try:
        assert runner.wait_connected(5)
        listener.wait_for(lambda li: "ONLINE" in connection_states(li))
        runner.links["SN1"].drop_connection()
        listener.wait_for(lambda li: connection_states(li)[-1] == "CONNECTIONBROKEN")
    finally:
        runner.stop()


def test_it_reconnects_when_the_broker_comes_back(interface: str, listener: Listener) -> None:
    proxy = TcpProxy(BROKER)  # a TCP proxy the test can cut: the broker out of reach
    runner = make_runner(interface, url=f"mqtt://127.0.0.1:{proxy.port}")
    runner.start()
    try:
        assert runner.wait_connected(5)
        base = Base(runner.links["SN1"])
        listener.wait_for(lambda li: li.of(Topic.STATE), tick=base.step)
        proxy.cut()
        listener.wait_for(lambda li: connection_states(li)[-1] == "CONNECTIONBROKEN", tick=base.step)
        for _ in range(20):
            base.step()  # stepped while the broker is away: no crash, nothing sent
        states_before = len(listener.of(Topic.STATE))
        proxy.restore()
        listener.wait_for(lambda li: connection_states(li)[-1] == "ONLINE", timeout_s=10, tick=base.step)
        listener.wait_for(lambda li: len(li.of(Topic.STATE)) > states_before, tick=base.step)
        assert proxy.connections >= 2
    finally:
        runner.stop()
        proxy.close()


def test_malformed_json_is_reported_not_fatal(interface: str, listener: Listener,
                                              caplog: pytest.LogCaptureFixture) -> None:
    with make_runner(interface) as runner, caplog.at_level(logging.WARNING, logger="vda5050.mqtt_vehicle"):
        assert runner.wait_connected(5)
        base = Base(runner.links["SN1"])
        listener.wait_for(lambda li: li.of(Topic.STATE), tick=base.step)
        for _ in range(3):
            listener.publish(Topic.ORDER, b'{"headerId": 12, "orderId": ', qos=1)
        listener.publish(Topic.INSTANT_ACTIONS, json.dumps({"headerId": 4, "actions": [{"actionId": "x"}]}).encode())

        def reported(li: Listener) -> list[dict[str, Any]]:
            states = li.of(Topic.STATE)
            return [e for e in states[-1].data["errors"] if e["errorType"] == "validationError"] if states else []

        errors = listener.wait_for(lambda li: len(reported(li)) == 2 and reported(li), tick=base.step)
        refs = [{r["referenceKey"]: r["referenceValue"] for r in e["errorReferences"]} for e in errors]
        assert {"topic": "order"} in refs and {"headerId": "4", "topic": "instantActions"} in refs
        assert "invalid JSON" in errors[0]["errorDescription"]
        warnings = [r for r in caplog.records if "refused a message" in r.getMessage()]
        assert 1 <= len(warnings) <= 2  # rate-limited: four bad messages, not four warnings
        listener.publish(Topic.ORDER, to_json(order("o1", [(0, 0), (0.5, 0)])))
        listener.wait_for(lambda li: li.of(Topic.STATE)[-1].data["orderId"] == "o1", tick=base.step)
        assert not reported(listener)  # accepting an order clears the validation warnings (6.6.4.1)


def test_broker_settings_from_urls() -> None:
    assert BrokerSettings("mqtt://10.0.0.2:1884").endpoint() == ("10.0.0.2", 1884, False, None, None)
    assert BrokerSettings("mqtts://user:p%40ss@broker.lab").endpoint() == ("broker.lab", 8883, True, "user", "p@ss")
    assert BrokerSettings("mqtt://h", ca_certs="/ca.pem", username="u").endpoint()[2:4] == (True, "u")
    with pytest.raises(ValueError, match="mqtt:// or mqtts://"):
        BrokerSettings("http://h").endpoint()
    assert socket.gethostbyname("127.0.0.1")
