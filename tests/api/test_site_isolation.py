"""Site isolation (issue 19, acceptance 1): two labs — living_lab and city_block — on one PostgreSQL database, the
way a city runs several pilot sites. city_block's records (a mission, its pilot, an intervention, an incident, a
schedule, an alert, a replay, its robots) are made through its own lab; then every route of the living_lab lab's
OpenAPI is called, by living_lab's admin (every site, every role) and by a living_lab operator, with the ids of
those records: each answers 404, no list holds any of them, and city_block's records are as they were. A list
is compared by ids with the same list at city_block's own lab (its audit writer flushed first): audit entries
carry no site and, of city_block, no target, so only their ids tell them apart. living_lab's telemetry stream
carries nothing of city_block while a city mission changes; and the walk of the lists is repeated the other way
round (city_block's users at its lab against living_lab's records).

A route added later is walked too: a path parameter this test has no city_block value for fails it, as does a
table that db/scope.py neither scopes to a site nor lists as shared."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, SQLModel

from fleet_manager.db.scope import SITE_CRITERIA, UNSCOPED
from fleet_manager.db.tables import utcnow
from fleet_manager.replay.tables import Replay
from fleet_manager.settings import Settings
from tests.api.conftest import ADMIN_PASSWORD, API, JWT_SECRET, USER_PASSWORD, admin_client, as_user, login

# a body each mutating route accepts, so that what answers is the record lookup, not the body's validation
BODIES: dict[str, Any] = {
    "PATCH /pilots/{pilot_id}": {"name": "taken over"},
    "POST /missions/{mission_id}/confirm": {},
    "POST /interventions/{intervention_id}/end": {},
    "POST /robots/{robot_id}/commands": {"command": "estop", "reason": "from the other site"},
    "PATCH /robots/{robot_id}": {"name": "taken over"},
    "POST /missions/{mission_id}/replay": {},
}
# path parameters that name no record of a site: what they name is the same at every lab
SHARED_PARAMS = {"username", "site", "lane_id", "action"}
SHARED_LISTS = {"/sites"}  # the catalogue of the sites' folders, the same at every lab


@pytest.fixture
def two_labs(postgres_url: str, tmp_path: Path) -> Iterator[tuple[TestClient, TestClient]]:
    def settings(site: str) -> Settings:
        return Settings(database_url=postgres_url, data_dir=tmp_path / site, ros_enabled=False, environment="test",
                        jwt_secret=JWT_SECRET, admin_password=ADMIN_PASSWORD, site=site,
                        vda5050_interface=f"uagv_iso{uuid.uuid4().hex[:8]}", vda5050_factsheet_wait_s=0.5)

    with admin_client(settings("living_lab")) as living, admin_client(settings("city_block")) as city:
        yield living, city


def ok(response: Any) -> Any:
    assert response.status_code < 300, response.text
    return response.json()


def city_records(city: TestClient) -> dict[str, str]:
    """One record of each kind at city_block, made through its own lab: the path parameter values."""
    mission = ok(city.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "c_ne"}]},
                                                    "robot_id": "courier_1"}))
    pilot = ok(city.post(f"{API}/pilots", json={"name": "sidewalk trial", "site": "city_block",
                                                "period_start": "2026-03-01T00:00:00Z",
                                                "period_end": "2026-06-01T00:00:00Z", "robots": ["courier_1"]}))
    intervention = ok(city.post(f"{API}/interventions", json={"kind": "on_site", "robot_id": "courier_2",
                                                              "pilot_id": pilot["id"]}))
    incident = ok(city.post(f"{API}/incidents", json={"severity": "SEV2", "kind": "near_miss",
                                                      "robot_id": "courier_1", "pilot_id": pilot["id"],
                                                      "place": {"x": 11.5, "y": 18.5},
                                                      "description": "city only"}))
    schedule = ok(city.post(f"{API}/schedules", json={"name": "city rounds", "template": "security_patrol",
                                                      "params": {"start": "c_sw", "via": "c_se"},
                                                      "every_minutes": 60}))
    lab = city.app.state.lab  # type: ignore[attr-defined]
    with Session(lab.engine) as session:
        replay = Replay(mission_id=mission["id"], status="done", recording="mission-x", created_at=utcnow())
        session.add(replay)
        session.commit()
        replay_id = str(replay.id)
    alerts: list[dict[str, Any]] = []
    for _ in range(100):  # the alert watch raises one for the incident within a second or two
        alerts = ok(city.get(f"{API}/alerts", params={"state": "all"}))
        if alerts:
            break
        city.portal.call(_sleep, 0.1)  # type: ignore[union-attr]
    assert alerts, "the city lab raised no alert for its incident"
    return {"mission_id": str(mission["id"]), "pilot_id": pilot["id"], "intervention_id": intervention["id"],
            "incident_id": incident["id"], "schedule_id": str(schedule["id"]), "alert_id": str(alerts[0]["id"]),
            "replay_id": replay_id, "robot_id": "courier_1"}


async def _sleep(seconds: float) -> None:
    import asyncio

    await asyncio.sleep(seconds)


def snapshot(city: TestClient, ids: dict[str, str]) -> dict[str, Any]:
    """city_block's records as its own lab shows them."""
    return {path: ok(city.get(f"{API}{path}")) for path in (
        f"/missions/{ids['mission_id']}", f"/pilots/{ids['pilot_id']}", f"/incidents/{ids['incident_id']}",
        "/interventions", "/schedules", "/alerts?state=all", f"/replays/{ids['replay_id']}",
        f"/robots/{ids['robot_id']}")}


def sites_in(value: Any) -> set[str]:
    """Every value of a "site" key in a JSON document."""
    if isinstance(value, dict):
        return set().union(*(sites_in(v) for v in value.values()), {value["site"]} if "site" in value else set())
    if isinstance(value, list):
        return set().union(*(sites_in(v) for v in value))
    return set()


def test_every_table_is_scoped_to_a_site_or_shared() -> None:
    scoped = {table.__tablename__ for table in SITE_CRITERIA}  # type: ignore[attr-defined]
    assert set(SQLModel.metadata.tables) - scoped - UNSCOPED == set(), "a table db/scope.py does not know"


def list_routes(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The lists of records: GET routes with no path parameter, but for the catalogue of the sites' folders."""
    return [(template.removeprefix(API), operations["get"]) for template, operations in spec["paths"].items()
            if "get" in operations and "{" not in template and template.removeprefix(API) not in SHARED_LISTS]


def listed(client: TestClient, route: str, operation: dict[str, Any]) -> Any:
    """GET a list, as long as the route lets it be (every alert, not only the open ones)."""
    params: dict[str, Any] = {"state": "all"} if route == "/alerts" else {}
    for param in operation.get("parameters", []):
        if param["in"] == "query" and param["name"] == "limit":
            params["limit"] = param["schema"].get("maximum", 1000)
    return client.get(f"{API}{route}", params=params)


def ids_in(response: Any) -> set[str]:
    """The ids of the records a list answers (none when it is refused or is not a list of records)."""
    body = response.json() if response.status_code == 200 else None
    return {str(item["id"]) for item in body if isinstance(item, dict) and "id" in item} \
        if isinstance(body, list) else set()


def own_lists(lab: TestClient, spec: dict[str, Any]) -> dict[str, set[str]]:
    """The ids each list of a lab holds as the lab's own admin sees them, after its audit writer has stored
    every entry queued so far (else an audit entry not yet written could not be missed elsewhere)."""
    assert lab.app.state.lab.audit.flush(5.0), "the audit writer did not store its entries"  # type: ignore[attr-defined]
    lists = {route: ids_in(listed(lab, route, operation)) for route, operation in list_routes(spec)}
    assert lists["/audit"], "the lab's audit log is empty: the walk could not see one of its entries leak"
    return lists


def assert_lists_apart(theirs: dict[str, set[str]], users: list[tuple[str, TestClient]],
                       spec: dict[str, Any], site: str) -> int:
    """No list, as any of `users` sees it, holds an id that a list of the other lab holds. (Ids are unique in
    the one database both labs share, so an id in both is the same record.)"""
    walked = 0
    for route, operation in list_routes(spec):
        for who, client in users:
            r = listed(client, route, operation)
            if r.status_code == 200:
                leaked = theirs[route] & ids_in(r)
                assert not leaked, f"GET {route} as {who} lists {site}'s records: {sorted(leaked)}"
                walked += 1
    return walked


def test_no_route_reaches_a_record_of_another_site(two_labs: tuple[TestClient, TestClient]) -> None:
    living, city = two_labs
    ids = city_records(city)
    before = snapshot(city, ids)
    ok(living.post(f"{API}/users", json={"username": "ann", "password": USER_PASSWORD, "role": "operator",
                                         "sites": ["living_lab"]}))
    ann = as_user(living, login(living, "ann", USER_PASSWORD)["access_token"])
    spec = living.get("/openapi.json").json()
    theirs = own_lists(city, spec)  # city_block's audit entries among them (their targets are empty: no uuid)
    uuids = [v for k, v in ids.items() if k in ("pilot_id", "intervention_id", "incident_id")]
    routes = []
    for template, operations in spec["paths"].items():
        route = template.removeprefix(API)
        params = set(re.findall(r"{(\w+)}", route))
        unknown = params - set(ids) - SHARED_PARAMS
        assert not unknown, f"{route}: no city_block value for {unknown}; add a record of that kind"
        if not params & SHARED_PARAMS:  # (else a site's files or an account: not a record of a site)
            routes += [(method.upper(), route, params) for method in operations]
    walked = 0
    for method, route, params in routes:  # the lists first (living_lab's audit log then records the probes)
        if method != "GET" or params or route in SHARED_LISTS:
            continue
        for who, client in (("admin", living), ("operator", ann)):
            r = client.get(f"{API}{route}", params={"state": "all"} if route == "/alerts" else None)
            if r.status_code == 200:
                leaked = [v for v in uuids if v in r.text]
                assert not leaked and "city_block" not in sites_in(r.json()), \
                    f"GET {route} as {who} lists city_block's records: {leaked} {r.text[:500]}"
                walked += 1
    walked += assert_lists_apart(theirs, [("admin", living), ("operator", ann)], spec, "city_block")
    for method, route, params in routes:  # then every route that names a record, with city_block's
        if not params:
            continue
        key = f"{method} {route}"
        for who, client in (("admin", living), ("operator", ann)):
            r = client.request(method, f"{API}{route.format(**ids)}", json=BODIES.get(key))
            assert r.status_code in (403, 404), f"{key} as {who} with city_block's ids: {r.status_code} {r.text}"
            if who == "admin":
                assert r.status_code == 404, f"{key}: {r.status_code} {r.text}"
            walked += 1
    assert walked > 40
    assert snapshot(city, ids) == before  # nothing changed at city_block
    assert ok(living.get(f"{API}/missions", params={"limit": 1000})) == []  # and living_lab made none
    # living_lab's telemetry stream carries nothing of city_block while a city mission changes
    lab = living.app.state.lab  # type: ignore[attr-defined]
    token = ann.headers["Authorization"].removeprefix("Bearer ")
    with living.websocket_connect(f"{API}/ws/telemetry", subprotocols=["labfleet.bearer", token]) as stream:
        ok(city.post(f"{API}/missions/{ids['mission_id']}/cancel"))
        assert ok(city.get(f"{API}/missions/{ids['mission_id']}"))["status"] == "canceled"
        city.portal.call(_sleep, 1.0)  # type: ignore[union-attr]  # time for anything the labs share to pass on
        living.portal.call(lab.hub.publish_event, {"type": "end_of_probe"})  # type: ignore[union-attr]
        frames: list[str] = []
        while not frames or '"end_of_probe"' not in frames[-1]:
            frames.append(stream.receive_text())
    mission = re.compile(rf'mission_id":\s*{ids["mission_id"]}\b')  # (current_mission_id too)
    assert not [f for f in frames if "city_block" in f or mission.search(f)], frames


def test_the_other_way_round_no_list_or_lookup_at_city_block_reaches_living_lab(
        two_labs: tuple[TestClient, TestClient]) -> None:
    """The same, from city_block's side: its admin and an operator of its own, at the city lab, against
    living_lab's records (a mission, a pilot, its robots and its audit entries)."""
    living, city = two_labs
    mission = ok(living.post(f"{API}/missions", json={"spec": {"steps": [{"go_to": "lobby"}]}}))
    pilot = ok(living.post(f"{API}/pilots", json={"name": "ward trial", "site": "living_lab",
                                                  "period_start": "2026-03-01T00:00:00Z",
                                                  "period_end": "2026-06-01T00:00:00Z"}))
    ok(city.post(f"{API}/users", json={"username": "cole", "password": USER_PASSWORD, "role": "operator",
                                       "sites": ["city_block"]}))
    cole = as_user(city, login(city, "cole", USER_PASSWORD)["access_token"])
    spec = city.get("/openapi.json").json()
    theirs = own_lists(living, spec)
    assert str(mission["id"]) in theirs["/missions"] and pilot["id"] in theirs["/pilots"] and theirs["/robots"]
    assert assert_lists_apart(theirs, [("admin", city), ("operator", cole)], spec, "living_lab") > 10
    for who, client in (("admin", city), ("operator", cole)):
        for path in (f"/missions/{mission['id']}", f"/pilots/{pilot['id']}"):
            r = client.get(f"{API}{path}")
            assert r.status_code == 404, f"GET {path} as {who} at city_block: {r.status_code} {r.text}"
        r = client.post(f"{API}/missions/{mission['id']}/cancel")
        assert r.status_code == 404, f"cancel as {who}: {r.status_code} {r.text}"
    assert ok(living.get(f"{API}/missions/{mission['id']}"))["status"] == mission["status"]
