"""The vda5050 adapter's MQTT connection: one aiomqtt client for the whole fleet, on the event loop.

It connects (TLS for mqtts:// or with a CA file; username and password from the settings), subscribes to the
vehicles' state, connection, visualization and factsheet topics of the interface (never `#`), hands every
message on as (topic, payload), and reconnects with back-off when the broker goes away, subscribing again.
It knows nothing of VDA 5050 beyond the topic names: what a message means is the adapter's business."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import aiomqtt

from fleet_manager.settings import Settings
from vda5050.topics import MAJOR_VERSION, Topic

log = logging.getLogger(__name__)

SUBSCRIBED = (Topic.STATE, Topic.CONNECTION, Topic.VISUALIZATION, Topic.FACTSHEET)
KEEPALIVE_S = 15  # 6.14 suggests about 15 s
PUBLISH_TIMEOUT_S = 3.0


class BrokerUnavailable(Exception):
    """The MQTT broker cannot take a message now (not connected, or the connection broke)."""


class Throttle:
    """Warnings logged at most once per `every_s` for each key (a vehicle and a kind of fault), saying how
    many like them were left out meanwhile."""

    def __init__(self, logger: logging.Logger, every_s: float = 30.0) -> None:
        self.logger = logger
        self.every_s = every_s
        self._last: dict[tuple[str, str], float] = {}
        self._skipped: dict[tuple[str, str], int] = {}

    def warning(self, key: tuple[str, str], message: str, *args: Any) -> bool:
        """Log unless one of this key was logged less than every_s ago; whether it was logged."""
        now = time.monotonic()
        if now - self._last.get(key, -float("inf")) < self.every_s:
            self._skipped[key] = self._skipped.get(key, 0) + 1
            return False
        self._last[key] = now
        skipped = self._skipped.pop(key, 0)
        self.logger.warning(message + (f" ({skipped} more like it since the last report)" if skipped else ""),
                            *args)
        return True


def subscriptions(interface: str) -> list[str]:
    """`<interface>/v2/+/+/<topic>` for every topic master control reads."""
    return [f"{interface}/{MAJOR_VERSION}/+/+/{topic}" for topic in SUBSCRIBED]


def client_options(settings: Settings) -> dict[str, Any]:
    """aiomqtt.Client keyword arguments from the settings: host, port, credentials, TLS."""
    url = urlsplit(settings.mqtt_url)
    tls = url.scheme == "mqtts" or settings.mqtt_ca_file is not None
    options: dict[str, Any] = {"hostname": url.hostname or "127.0.0.1", "port": url.port or (8883 if tls else 1883),
                               "keepalive": KEEPALIVE_S, "timeout": 5.0, "clean_session": True}
    if settings.mqtt_username is not None:
        options["username"] = settings.mqtt_username
        options["password"] = settings.mqtt_password.get_secret_value() if settings.mqtt_password else None
    if tls:
        options["tls_params"] = aiomqtt.TLSParameters(
            ca_certs=str(settings.mqtt_ca_file) if settings.mqtt_ca_file else None,
            certfile=str(settings.mqtt_cert_file) if settings.mqtt_cert_file else None,
            keyfile=str(settings.mqtt_key_file) if settings.mqtt_key_file else None)
    return options


class MqttLink:
    """The connection to the broker; `on_message(topic, payload)` for every message received, `on_connected()`
    after every (re)connection once subscribed, `on_lost(reason)` when a connection ends."""

    def __init__(self, settings: Settings, on_message: Callable[[str, bytes], None],
                 on_connected: Callable[[], None], on_lost: Callable[[str], None],
                 backoff_s: tuple[float, float] = (0.5, 5.0)) -> None:
        self.options = client_options(settings)
        self.topics = subscriptions(settings.vda5050_interface)
        self.identifier = f"labfleet-{settings.vda5050_interface}-{secrets.token_hex(4)}"
        self._on_message = on_message
        self._on_connected = on_connected
        self._on_lost = on_lost
        self._backoff = backoff_s
        self._client: aiomqtt.Client | None = None
        self._task: asyncio.Task[None] | None = None
        self._throttle = Throttle(log)
        self.connections = 0  # successful connections so far

    @property
    def connected(self) -> bool:
        return self._client is not None

    @property
    def where(self) -> str:
        return f"{self.options['hostname']}:{self.options['port']}"

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="vda5050-mqtt")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._client = None

    async def publish(self, topic: str, payload: bytes, qos: int) -> None:
        """Publish, or BrokerUnavailable when the broker cannot take it now."""
        client = self._client
        if client is None:
            raise BrokerUnavailable(f"the MQTT broker {self.where} is out of reach")
        try:
            await client.publish(topic, payload, qos=qos, timeout=PUBLISH_TIMEOUT_S)
        except aiomqtt.MqttError as exc:
            raise BrokerUnavailable(f"the MQTT broker {self.where} did not take the message: {exc}") from None

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            try:
                async with aiomqtt.Client(identifier=self.identifier, **self.options) as client:
                    await client.subscribe([(topic, 1) for topic in self.topics])
                    self._client = client
                    self.connections += 1
                    delay = self._backoff[0]
                    log.info("VDA 5050: connected to the MQTT broker %s (%s)", self.where, ", ".join(self.topics))
                    self._on_connected()
                    async for message in client.messages:
                        self._hand_on(message)
            except aiomqtt.MqttError as exc:
                was = self._client is not None
                self._client = None
                self._throttle.warning(("broker", "lost" if was else "refused"),
                                       "VDA 5050: %s the MQTT broker %s (%s); trying again in %.1f s",
                                       "lost" if was else "cannot reach", self.where, exc, delay)
                if was:
                    self._on_lost(str(exc))
            except Exception:  # a bug here must not end the connection for good: log it and connect again
                log.exception("VDA 5050: the MQTT connection to %s failed", self.where)
            finally:
                self._client = None
            await asyncio.sleep(delay)
            delay = min(delay * 2, self._backoff[1])

    def _hand_on(self, message: aiomqtt.Message) -> None:
        payload = message.payload
        data = payload if isinstance(payload, bytes) else str(payload or "").encode()
        try:
            self._on_message(message.topic.value, data)
        except Exception as exc:  # never let one message end the connection
            if self._throttle.warning(("handler", type(exc).__name__), "VDA 5050: a message on %s could not be "
                                      "handled: %r", message.topic.value, exc):
                log.debug("the handler's traceback", exc_info=True)
