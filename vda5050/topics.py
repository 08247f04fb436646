"""MQTT topics of VDA 5050 (2.0 text, sections 6.3 and 6.5): interfaceName/majorVersion/manufacturer/
serialNumber/topic, e.g. uagv/v2/LabFleet/SN1/order. No level may contain '/', nor '$' (reserved by brokers),
nor the MQTT wildcards '+' and '#'."""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple

DEFAULT_INTERFACE = "uagv"
MAJOR_VERSION = "v2"
_FORBIDDEN = frozenset("/$+#")


class Topic(StrEnum):
    ORDER = "order"  # master control -> vehicle
    INSTANT_ACTIONS = "instantActions"  # master control -> vehicle
    STATE = "state"  # vehicle -> master control
    VISUALIZATION = "visualization"  # vehicle -> visualisation systems
    CONNECTION = "connection"  # vehicle (and the broker's last will) -> master control
    FACTSHEET = "factsheet"  # vehicle -> master control


class TopicName(NamedTuple):
    interface: str
    version_major: str
    manufacturer: str
    serial_number: str
    topic: Topic


def _level(name: str, value: str) -> str:
    if not value or any(c in _FORBIDDEN for c in value):
        raise ValueError(f"{name} {value!r} cannot be an MQTT topic level (empty, or has '/', '$', '+' or '#')")
    return value


def topic_name(interface: str = DEFAULT_INTERFACE, version_major: str = MAJOR_VERSION, *, manufacturer: str,
               serial: str, topic: Topic | str) -> str:
    """One vehicle's topic: topic_name(manufacturer="LabFleet", serial="SN1", topic=Topic.ORDER) is
    "uagv/v2/LabFleet/SN1/order"; ValueError for a level MQTT cannot carry."""
    return "/".join((_level("interface", interface), _level("major version", version_major),
                     _level("manufacturer", manufacturer), _level("serial number", serial), str(Topic(topic))))


def parse_topic_name(name: str) -> TopicName:
    """The parts of a topic made by topic_name; ValueError when it is not one."""
    parts = name.split("/")
    if len(parts) != 5:
        raise ValueError(f"{name!r} is not interface/majorVersion/manufacturer/serialNumber/topic")
    interface, major, manufacturer, serial, sub = parts
    if not major.startswith("v") or not major[1:].isdigit():
        raise ValueError(f"{name!r}: the major version level must be 'v' and a number, not {major!r}")
    try:
        topic = Topic(sub)
    except ValueError:
        raise ValueError(f"{name!r}: {sub!r} is not a VDA 5050 topic ({', '.join(Topic)})") from None
    return TopicName(_level("interface", interface), major, _level("manufacturer", manufacturer),
                     _level("serial number", serial), topic)
