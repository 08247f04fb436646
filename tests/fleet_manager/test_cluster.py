"""The cluster's parts on their own: settings, the leader lock (PostgreSQL), forwarding writes over NATS."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import pytest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from fleet_manager.cluster.bus import Subjects, connect
from fleet_manager.cluster.election import LeaderLock, lock_key
from fleet_manager.cluster.forward import ForwardToLeader, LeaderApi, needs_leader
from fleet_manager.settings import Settings

NATS_URL = "nats://127.0.0.1:4222"


def test_a_replica_on_sqlite_is_refused_naming_the_setting(tmp_path):
    with pytest.raises(ValidationError, match="LABFLEET_DATABASE_URL"):
        Settings(role="replica", data_dir=tmp_path)
    assert not Settings(role="leader", data_dir=tmp_path).clustered  # SQLite: no election, the process leads
    assert Settings(role="leader", database_url="postgresql+psycopg://x@h/db").clustered
    assert not Settings(database_url="postgresql+psycopg://x@h/db").clustered  # role single: as before


def test_what_needs_the_leader():
    assert needs_leader("POST", "/api/v1/missions")
    assert needs_leader("DELETE", "/api/v1/robots/delivery_1")
    assert needs_leader("GET", "/api/v1/dispatch")
    assert needs_leader("GET", "/api/v1/sites/living_lab/traffic")
    assert not needs_leader("POST", "/api/v1/auth/token")  # served by any replica (the database alone)
    assert not needs_leader("GET", "/api/v1/missions")
    assert not needs_leader("GET", "/api/v1/robots")


def test_lock_keys_differ_per_site():
    assert lock_key("living_lab") != lock_key("clinic")
    assert lock_key("living_lab") == lock_key("living_lab")


@pytest.mark.postgres
def test_one_leader_per_site_and_the_lock_frees_with_its_connection(postgres_url):
    site = f"site_{uuid.uuid4().hex[:8]}"

    async def scenario() -> None:
        first, second, other = LeaderLock(postgres_url, site), LeaderLock(postgres_url, site), \
            LeaderLock(postgres_url, site + "_b")
        try:
            assert await first.try_acquire()
            assert not await second.try_acquire()
            assert await other.try_acquire()  # another site has its own leader
            await first.release()  # (as a killed leader's connection closing)
            await asyncio.wait_for(second.acquire(), 3)  # the standby, trying every second
        finally:
            for lock in (first, second, other):
                await lock.release()

    asyncio.run(scenario())


async def _leader_app(request: Request) -> JSONResponse:
    body = await request.json()
    return JSONResponse({"got": body, "client": request.client.host if request.client else None,
                         "auth": request.headers.get("authorization")}, status_code=201, headers={"x-leader": "yes"})


@pytest.mark.nats
def test_a_write_to_a_replica_is_answered_by_the_leader_and_503_without_one():
    subjects = Subjects(f"labfleet_test_{uuid.uuid4().hex[:8]}", "living_lab")
    leader = Starlette(routes=[Route("/api/v1/missions", _leader_app, methods=["POST"])])
    local = Starlette(routes=[Route("/api/v1/missions", lambda r: JSONResponse({"local": True}), methods=["GET"])])

    async def scenario() -> None:
        nc = await connect(NATS_URL, "test-cluster")
        replica = ForwardToLeader(local, lambda: (nc, subjects.api, 5.0), max_body_bytes=1000)
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=replica, client=("10.1.2.3", 5555)),
                                   base_url="http://replica")
        try:
            none = await client.post("/api/v1/missions", json={"spec": 1})
            assert none.status_code == 503 and none.headers["retry-after"]
            assert none.json()["code"] == "leader_unavailable"
            assert (await client.get("/api/v1/missions")).json() == {"local": True}  # reads: served here
            api = LeaderApi(nc, subjects.api, leader)
            await api.start()
            answer = await client.post("/api/v1/missions", json={"spec": 1}, headers={"Authorization": "Bearer t"})
            assert answer.status_code == 201 and answer.headers["x-leader"] == "yes"
            assert answer.json() == {"got": {"spec": 1}, "client": "10.1.2.3", "auth": "Bearer t"}
            too_large = await client.post("/api/v1/missions", content=b"x" * 2000)
            assert too_large.status_code == 413
            await api.stop()
        finally:
            await client.aclose()
            await nc.drain()

    asyncio.run(scenario())


@pytest.mark.postgres
def test_a_leader_whose_lock_connection_dies_learns_it_within_seconds(postgres_url):
    import psycopg

    from fleet_manager.cluster.election import libpq_url

    site = f"site_{uuid.uuid4().hex[:8]}"

    async def scenario() -> str:
        lock = LeaderLock(postgres_url, site)
        try:
            assert await lock.try_acquire()
            with psycopg.connect(libpq_url(postgres_url), autocommit=True) as admin:  # (as a network cut would)
                admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE %s",
                              (f"labfleet-leader:{site}:%",))
            return await asyncio.wait_for(lock.lost(), 5)
        finally:
            await lock.release()

    assert asyncio.run(scenario())
