"""MQTT topic names of VDA 5050 (6.3): interfaceName/majorVersion/manufacturer/serialNumber/topic."""

from __future__ import annotations

import pytest

from vda5050.topics import Topic, TopicName, parse_topic_name, topic_name


def test_topic_name_and_back() -> None:
    name = topic_name(manufacturer="LabFleet", serial="SN1", topic=Topic.ORDER)
    assert name == "uagv/v2/LabFleet/SN1/order"
    assert parse_topic_name(name) == TopicName("uagv", "v2", "LabFleet", "SN1", Topic.ORDER)
    assert topic_name("uagv_test", "v2", manufacturer="M", serial="a.b-c_1:2", topic="instantActions") == \
        "uagv_test/v2/M/a.b-c_1:2/instantActions"


def test_the_example_of_the_text() -> None:
    assert parse_topic_name("uagv/v2/KIT/0001/order") == TopicName("uagv", "v2", "KIT", "0001", Topic.ORDER)


@pytest.mark.parametrize("serial", ["", "a/b", "$sys", "a+b", "a#"])
def test_levels_mqtt_cannot_carry_are_refused(serial: str) -> None:
    with pytest.raises(ValueError, match="cannot be an MQTT topic level"):
        topic_name(manufacturer="LabFleet", serial=serial, topic=Topic.STATE)


@pytest.mark.parametrize(("name", "why"), [
    ("uagv/v2/LabFleet/order", "is not interface/majorVersion"),
    ("uagv/2/LabFleet/SN1/order", "major version level"),
    ("uagv/v2/LabFleet/SN1/orders", "is not a VDA 5050 topic"),
    ("uagv/v2//SN1/order", "cannot be an MQTT topic level"),
])
def test_parse_refuses_other_topics(name: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        parse_topic_name(name)
