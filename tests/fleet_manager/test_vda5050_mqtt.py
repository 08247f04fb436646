"""The vda5050 adapter's MQTT side (fleet_manager/adapters/vda5050_mqtt.py) without a broker: connection options
from the settings (TLS, credentials), the subscriptions (never `#`), and rate-limited warnings."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from pydantic import SecretStr

from fleet_manager.adapters.vda5050_mqtt import Throttle, client_options, subscriptions
from fleet_manager.settings import Settings


def test_connection_options_from_the_settings(tmp_path: Path) -> None:
    plain = client_options(Settings(mqtt_url="mqtt://broker.lab:1884"))
    assert (plain["hostname"], plain["port"], plain["keepalive"]) == ("broker.lab", 1884, 15)
    assert "tls_params" not in plain and "username" not in plain
    tls = client_options(Settings(mqtt_url="mqtts://broker.lab", mqtt_username="fm",
                                  mqtt_password=SecretStr("s3cret")))
    assert (tls["port"], tls["username"], tls["password"]) == (8883, "fm", "s3cret")
    assert tls["tls_params"].ca_certs is None  # the system's CAs
    ca = tmp_path / "ca.pem"
    mutual = client_options(Settings(mqtt_url="mqtt://10.0.0.2", mqtt_ca_file=ca, mqtt_cert_file=tmp_path / "c.pem",
                                     mqtt_key_file=tmp_path / "k.pem"))
    assert mutual["port"] == 8883 and mutual["tls_params"].ca_certs == str(ca)  # a CA file alone means TLS
    assert mutual["tls_params"].keyfile == str(tmp_path / "k.pem")


def test_subscriptions_name_the_topics_master_control_reads() -> None:
    assert subscriptions("uagv") == ["uagv/v2/+/+/state", "uagv/v2/+/+/connection", "uagv/v2/+/+/visualization",
                                     "uagv/v2/+/+/factsheet"]
    assert not any("#" in topic for topic in subscriptions("plant_7"))


def test_warnings_are_rate_limited_per_vehicle_and_kind(caplog: pytest.LogCaptureFixture,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    now = [100.0]
    monkeypatch.setattr("fleet_manager.adapters.vda5050_mqtt.time.monotonic", lambda: now[0])
    throttle = Throttle(logging.getLogger("test.vda5050"), every_s=30.0)
    with caplog.at_level(logging.WARNING, logger="test.vda5050"):
        assert throttle.warning(("amr_1", "malformed"), "bad %s", 1)
        assert not throttle.warning(("amr_1", "malformed"), "bad %s", 2)
        assert throttle.warning(("amr_2", "malformed"), "bad %s", 3)  # another vehicle
        assert throttle.warning(("amr_1", "stale"), "old %s", 4)  # another kind
        now[0] += 31.0
        assert throttle.warning(("amr_1", "malformed"), "bad %s", 5)
    assert [r.getMessage() for r in caplog.records] == [
        "bad 1", "bad 3", "old 4", "bad 5 (1 more like it since the last report)"]
