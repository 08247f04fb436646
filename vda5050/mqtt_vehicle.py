"""Simulated VDA 5050 vehicles on an MQTT broker (2.0 text, sections 6.2, 6.3, 6.5, 6.14), with paho-mqtt.

One MQTT client per vehicle, since the last will belongs to a connection: connection CONNECTIONBROKEN as the
will (QoS 1, retained), connection ONLINE on every (re)connect and OFFLINE before a clean disconnect (QoS 1,
retained), the factsheet retained after connecting, state and visualization with QoS 0. The vehicle
subscribes to its order and instantActions with QoS 1: the 2.0 text asks master control to publish orders
with QoS 0, and a QoS 1 subscription takes either. paho's network thread (loop_start) reconnects with
back-off; after a reconnect the vehicle publishes connection and state again.

Threads: paho's thread parses what arrives and queues it; the thread that steps the vehicle (a ROS timer, a
simulation loop, a test) hands the queue to the vehicle and publishes what the vehicle has to say. A lock
keeps the vehicle to one thread at a time (paho's thread takes it only to announce a new connection). A
payload that cannot be parsed is logged (at most once per log_every_s) and reported as a validationError in
the next state.

    vehicle = Vehicle(VehicleDescription("LabFleet", "amr_1", map_id="living_lab"), actions={"pick": (3.0, 0.95)})
    with MqttVehicleRunner([vehicle], BrokerSettings("mqtt://127.0.0.1:1883")) as runner:
        while running:  # e.g. a ROS timer at 20 Hz
            v, w = runner.step("amr_1", time.time(), pose, (v_now, w_now), battery_pct, charging)
"""

from __future__ import annotations

import logging
import queue
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import unquote, urlsplit

import numpy as np
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from vda5050.codec import MessageError, parse, to_json
from vda5050.enums import ConnectionState
from vda5050.models import InstantActions, Order, WireModel
from vda5050.route import Pose
from vda5050.topics import MAJOR_VERSION, Topic, topic_name
from vda5050.vehicle import Vehicle

log = logging.getLogger(__name__)

QOS = {Topic.CONNECTION: 1, Topic.FACTSHEET: 0, Topic.STATE: 0, Topic.VISUALIZATION: 0}
RETAINED = frozenset({Topic.CONNECTION, Topic.FACTSHEET})
SUBSCRIBED = (Topic.ORDER, Topic.INSTANT_ACTIONS)


@dataclass(frozen=True)
class BrokerSettings:
    """Where the broker is and how to talk to it. url: mqtt://host:port or mqtts://host:port (TLS), with
    optional user:password@; ca_certs / certfile / keyfile: TLS files (ca_certs alone turns TLS on)."""

    url: str = "mqtt://127.0.0.1:1883"
    username: str | None = None
    password: str | None = None
    ca_certs: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    tls_insecure: bool = False  # do not check the broker's host name (test setups only)
    protocol: Literal["3.1.1", "5"] = "3.1.1"
    keepalive_s: int = 15  # 6.14: the broker notices a lost vehicle after about 1.5 times this
    reconnect_min_s: int = 1
    reconnect_max_s: int = 30
    interface: str = "uagv"  # the first topic level
    client_id_prefix: str = "labfleet-vda5050"

    def endpoint(self) -> tuple[str, int, bool, str | None, str | None]:
        """(host, port, tls, username, password) from the URL and the fields."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL {self.url!r}: the scheme must be mqtt:// or mqtts://")
        tls = parts.scheme in ("mqtts", "ssl") or self.ca_certs is not None
        username = self.username or (unquote(parts.username) if parts.username else None)
        password = self.password or (unquote(parts.password) if parts.password else None)
        return parts.hostname or "127.0.0.1", parts.port or (8883 if tls else 1883), tls, username, password


class _Throttle:
    """Logs a repeated warning at most once per `every_s`, saying how many were left out."""

    def __init__(self, every_s: float) -> None:
        self.every_s = every_s
        self._last = -float("inf")
        self._skipped = 0

    def warning(self, message: str, *args: Any) -> None:
        now = time.monotonic()
        if now - self._last < self.every_s:
            self._skipped += 1
            return
        skipped, self._skipped, self._last = self._skipped, 0, now
        log.warning(message + (f" ({skipped} more since the last report)" if skipped else ""), *args)


class VehicleLink:
    """One vehicle on the broker: its MQTT client, the queue of what arrived, and the lock on the vehicle."""

    def __init__(self, vehicle: Vehicle, settings: BrokerSettings, log_every_s: float = 10.0) -> None:
        self.vehicle = vehicle
        self.settings = settings
        d = vehicle.description
        self._topics = {t: topic_name(settings.interface, MAJOR_VERSION, manufacturer=d.manufacturer,
                                      serial=d.serial_number, topic=t) for t in Topic}
        self._inbox: queue.Queue[Order | InstantActions | MessageError] = queue.Queue()
        self._lock = threading.Lock()
        self._throttle = _Throttle(log_every_s)
        self._connected = threading.Event()
        self._started = False
        host, self._port, tls, username, password = settings.endpoint()
        self._host = host
        v5 = settings.protocol == "5"
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2,
                                  client_id=f"{settings.client_id_prefix}-{settings.interface}-{d.manufacturer}-"
                                            f"{d.serial_number}",
                                  protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311, clean_session=None if v5 else True)
        if username is not None:
            self.client.username_pw_set(username, password)
        if tls:
            self.client.tls_set(ca_certs=settings.ca_certs, certfile=settings.certfile, keyfile=settings.keyfile)
            self.client.tls_insecure_set(settings.tls_insecure)
        self.client.reconnect_delay_set(settings.reconnect_min_s, settings.reconnect_max_s)
        with self._lock:
            will = vehicle.connection_message(ConnectionState.CONNECTIONBROKEN)
        self.client.will_set(self._topics[Topic.CONNECTION], to_json(will), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message

    def topic(self, topic: Topic) -> str:
        """The full MQTT topic of one of this vehicle's subtopics."""
        return self._topics[topic]

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout_s: float) -> bool:
        return self._connected.wait(timeout_s)

    def start(self) -> None:
        """Connect in the background (paho's thread retries until the broker answers)."""
        self.client.connect_async(self._host, self._port, self.settings.keepalive_s)
        self.client.loop_start()
        self._started = True

    def stop(self, timeout_s: float = 2.0) -> None:
        """Clean stop (6.14): connection OFFLINE, then an MQTT disconnect (so no last will)."""
        if not self._started:
            return
        self._started = False
        if self.connected:
            with self._lock:
                info = self._publish(Topic.CONNECTION, self.vehicle.connection_message(ConnectionState.OFFLINE))
            if info is not None:
                info.wait_for_publish(timeout_s)
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def drop_connection(self) -> None:
        """Fault injection: lose the connection as a crash would (no DISCONNECT, so the broker publishes the
        last will) and stop; the link cannot be started again."""
        self._started = False
        self.client.loop_stop()
        sock = self.client.socket()
        if isinstance(sock, socket.socket):
            sock.close()
        self._connected.clear()

    def step(self, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float, charging: bool,
             scan: tuple[np.ndarray, np.ndarray] | None = None, wall_s: float | None = None) -> tuple[float, float]:
        """Hand what arrived to the vehicle, step it (see Vehicle.step), publish what it says."""
        with self._lock:
            self._deliver()
            command = self.vehicle.step(now_s, pose, velocity, battery_pct, charging, scan, wall_s)
            self._flush()
        return command

    def pump(self) -> None:
        """Hand what arrived to the vehicle and publish what it says, without stepping it."""
        with self._lock:
            self._deliver()
            self._flush()

    # -- under the lock --------------------------------------------------------------------------------------
    def _deliver(self) -> None:
        while True:
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, Order):
                self.vehicle.on_order(item)
            elif isinstance(item, InstantActions):
                self.vehicle.on_instant_actions(item)
            else:
                self.vehicle.on_invalid_message(item)

    def _flush(self) -> None:
        for topic, model in self.vehicle.take_outgoing():
            self._publish(topic, model)

    def _publish(self, topic: Topic, model: WireModel) -> mqtt.MQTTMessageInfo | None:
        if not self.connected and topic is not Topic.CONNECTION:
            return None  # state and visualization of a disconnected vehicle are stale by the time it is back
        return self.client.publish(self._topics[topic], to_json(model), qos=QOS[topic], retain=topic in RETAINED)

    # -- paho's thread ---------------------------------------------------------------------------------------
    def _on_connect(self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _properties: Any) -> None:
        if reason.is_failure:
            log.warning("%s: the broker %s:%d refused the connection: %s", self.vehicle.description.serial_number,
                        self._host, self._port, reason)
            return
        client.subscribe([(self._topics[t], 1) for t in SUBSCRIBED])
        self._connected.set()
        with self._lock:
            self._publish(Topic.CONNECTION, self.vehicle.connection_message(ConnectionState.ONLINE))
            self._publish(Topic.FACTSHEET, self.vehicle.factsheet())
            self.vehicle.request_state()
            self._flush()
        log.info("%s: connected to %s:%d", self.vehicle.description.serial_number, self._host, self._port)

    def _on_disconnect(self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any) -> None:
        was = self.connected
        self._connected.clear()
        if was and self._started:
            log.warning("%s: lost the broker (%s); reconnecting", self.vehicle.description.serial_number, reason)

    def _on_message(self, _client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            if message.topic == self._topics[Topic.ORDER]:
                self._inbox.put(parse(Topic.ORDER, bytes(message.payload)))
            else:
                self._inbox.put(parse(Topic.INSTANT_ACTIONS, bytes(message.payload)))
        except MessageError as exc:
            self._throttle.warning("%s: refused a message on %s: %s", self.vehicle.description.serial_number,
                                   message.topic, exc)
            self._inbox.put(exc)


class MqttVehicleRunner:
    """Several vehicles on one broker: a VehicleLink each, by serial number."""

    def __init__(self, vehicles: Iterable[Vehicle], settings: BrokerSettings | None = None) -> None:
        self.settings = settings or BrokerSettings()
        self.links = {v.description.serial_number: VehicleLink(v, self.settings) for v in vehicles}

    def start(self) -> None:
        for link in self.links.values():
            link.start()

    def stop(self) -> None:
        for link in self.links.values():
            link.stop()

    def __enter__(self) -> MqttVehicleRunner:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def wait_connected(self, timeout_s: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout_s
        return all(link.wait_connected(max(0.0, deadline - time.monotonic())) for link in self.links.values())

    def step(self, serial: str, now_s: float, pose: Pose, velocity: tuple[float, float], battery_pct: float,
             charging: bool, scan: tuple[np.ndarray, np.ndarray] | None = None,
             wall_s: float | None = None) -> tuple[float, float]:
        """Step one vehicle (see VehicleLink.step): its velocity command."""
        return self.links[serial].step(now_s, pose, velocity, battery_pct, charging, scan, wall_s)
