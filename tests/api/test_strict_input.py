"""Strict types at the boundary (issue 19): a bool is not a number, a number is not a time. Each request below was
accepted by pydantic's lax coercion (an independent schemathesis run found the first three); each is now a 422
naming the field, and nothing stored changes."""

from __future__ import annotations

import pytest

from tests.api.conftest import API

PILOT = {"name": "ward trial", "site": "living_lab", "period_start": "2026-03-01T00:00:00Z",
         "period_end": "2026-06-01T00:00:00Z", "robots": ["delivery_1"]}


def refused(r, field: str, needle: str = "") -> None:  # type: ignore[no-untyped-def]
    assert r.status_code == 422, r.text
    body = r.json()
    assert any(field in str(e["loc"]) for e in body["errors"]), body
    assert needle in r.text, r.text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_lax_coercions_are_refused(client) -> None:  # type: ignore[no-untyped-def]
    pilot = client.post(f"{API}/pilots", json=PILOT).json()
    refused(client.patch(f"{API}/pilots/{pilot['id']}", json={"period_start": 0}), "period_start", "ISO 8601")
    refused(client.patch(f"{API}/pilots/{pilot['id']}", json={"period_end": "1700000000"}), "period_end", "ISO 8601")
    refused(client.patch(f"{API}/pilots/{pilot['id']}", json={"targets": {"success_rate": True}}), "targets")
    assert client.get(f"{API}/pilots/{pilot['id']}").json() == pilot  # nothing changed

    opened = client.post(f"{API}/interventions", json={"kind": "on_site", "robot_id": "delivery_1"}).json()
    refused(client.post(f"{API}/interventions/{opened['id']}/end", json={"distance_m": True}), "distance_m")
    refused(client.post(f"{API}/interventions", json={"kind": "on_site", "robot_id": "delivery_1",
                                                      "mission_id": True}), "mission_id")

    refused(client.get(f"{API}/audit", params={"until": "0.5"}), "until", "ISO 8601")
    refused(client.get(f"{API}/audit", params={"since": "1700000000"}), "since", "ISO 8601")
    assert client.get(f"{API}/audit", params={"until": "2030-01-01T00:00:00Z"}).status_code == 200

    refused(client.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "pharmacy"}]}, "not_before": 0}),
            "not_before", "ISO 8601")
    refused(client.post(f"{API}/incidents", json={"severity": "SEV3", "kind": "near_miss", "robot_id": "delivery_1",
                                                  "place": {"x": True, "y": 1.0}}), "x")
    refused(client.post(f"{API}/schedules", json={"name": "rounds", "template": "security_patrol",
                                                  "every_minutes": "60"}), "every_minutes")
    refused(client.post(f"{API}/missions/1/replay", json={"overrides": {"max_speed": True}}), "overrides")
    assert client.get(f"{API}/missions").json() == [] and client.get(f"{API}/schedules").json() == []
    # numbers given as numbers, times as ISO 8601, still pass
    r = client.patch(f"{API}/pilots/{pilot['id']}", json={"period_start": "2026-02-01T00:00:00+09:00",
                                                          "targets": {"success_rate": 1}})
    assert r.status_code == 200 and r.json()["targets"] == {"success_rate": 1.0}, r.text
