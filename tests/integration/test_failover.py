"""Failover (issue 16): `labfleet up --replicas 1` on PostgreSQL and NATS (two leader candidates and a replica behind
one port, the simulator and two agents); the leader SIGKILLed mid-mission:

- the standby takes the site's leader lock and serves writes within 5 s;
- the mission in flight is reconciled with its robot's reports and completes;
- a websocket client on the replica keeps its stream (no disconnect) and gets every event the new leader writes;
- nothing is lost: every mission the API accepted is in the database once, and every event the client got is
  in the database (counted against what was sent).
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from fleet_manager.cluster.election import holder_pid
from tests.conftest import PG_ADMIN_URL, VENV_BIN, fresh_postgres, next_domain_id
from tests.integration.test_faults import Faults, Telemetry, until
from tests.lab_process import LabProcess, http, processes_with_env

pytestmark = [pytest.mark.ros, pytest.mark.postgres, pytest.mark.nats]

TAKEOVER_LIMIT_S = 5.0
SITE = "living_lab"


@dataclass
class Cluster(Faults):
    """The lab (`proxy` None: PostgreSQL reached directly) and its database."""

    def leader_pid(self) -> int | None:
        """The OS process holding the site's leader lock (its lock connection's application_name names it)."""
        return holder_pid(self.database, SITE)

    def managers(self, role: str) -> list[int]:
        """The lab's fleet-manager processes started with LABFLEET_ROLE=role."""
        ours = set(processes_with_env("ROS_DOMAIN_ID", self.lab.domain))
        return sorted(ours & set(processes_with_env("LABFLEET_ROLE", role)))


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    env = dict(os.environ) | {
        "ROS_DOMAIN_ID": str(next_domain_id()), "ROS_AUTOMATIC_DISCOVERY_RANGE": "LOCALHOST", "PYTHONUNBUFFERED": "1",
        "PATH": f"{VENV_BIN}:{os.environ.get('PATH', '')}",
        "LABFLEET_NATS_PREFIX": f"labfleet_test_{uuid.uuid4().hex[:10]}"}  # subjects of its own
    with fresh_postgres() as name:
        url = f"postgresql+psycopg://{base.split('://', 1)[1]}/{name}"
        lab = LabProcess(env, tmp_path_factory.mktemp("failover"), robots=2,
                         extra=("--speed", "2", "--replicas", "1"), database_url=url)
        try:
            lab.wait_ready(robots=2)
            yield Cluster(lab, None, f"{base}/{name}")  # type: ignore[arg-type]  # (no proxy)
        finally:
            lab.stop()
    assert lab.leftovers == [], f"processes left behind: {lab.leftovers}"


def serving_pid(server_port: int, client_port: int) -> int | None:
    """The process whose socket holds the server side of the loopback connection from `client_port`."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == server_port and int(remote, 16) == client_port:
            inode = fields[9]
    if inode is None:
        return None
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == f"socket:[{inode}]":
                    return int(proc.name)
    return None


def events(stream: Telemetry) -> list[dict[str, Any]]:
    return [f for _, f in list(stream.frames) if f["type"] in ("mission_event", "mission_step", "mission_info")]


def states_after(stream: Telemetry, since: float) -> int:
    return sum(1 for t, f in list(stream.frames) if f["type"] == "robot_state" and t > since)


def stream_on(cluster: Cluster, pid: int) -> Telemetry:
    """A telemetry websocket that the kernel gave to process `pid` (the port is shared: tried until it lands)."""
    url = cluster.lab.ws_url()
    for _ in range(40):
        stream = Telemetry(url)
        if serving_pid(cluster.lab.port, stream.local_port) == pid:
            return stream
        stream.close()
    raise AssertionError(f"no websocket landed on process {pid} in 40 tries")


def submit(api: str, steps: list[dict], robot_id: str | None = None) -> tuple[dict, int]:
    """POST /missions until accepted (a 503 while there is no leader is tried again): the mission, and the 503s."""
    refused = 0
    while True:
        body: dict[str, Any] = {"spec": {"steps": steps}} | ({"robot_id": robot_id} if robot_id else {})
        answer = http.post(f"{api}/missions", json=body, timeout=20)
        if answer.status_code == 201:
            return answer.json(), refused
        if answer.status_code == 504 and answer.json()["code"] == "leader_timeout":
            time.sleep(2.0)  # the leader took the write but did not answer in time: read it back, as the problem
            # says (once it has had time to store it), and send it
            # again only if it is not there (a busy machine; seen once in make test, cause not found)
            mine = [m for m in http.get(f"{api}/missions?limit=100", timeout=20).json()
                    if m["robot_id"] == robot_id and m["status"] != "canceled"]
            if mine and [s.get("target") for s in mine[0]["steps"]] == [s["go_to"] for s in steps]:
                return mine[0], refused
            refused += 1
            continue
        assert answer.status_code == 503 and answer.json()["code"] == "leader_unavailable", answer.text
        assert answer.headers["retry-after"]
        refused += 1
        time.sleep(0.1)


def stamp(value: datetime | str) -> float:
    return round((datetime.fromisoformat(value) if isinstance(value, str) else value).timestamp(), 3)


def test_the_standby_takes_over_a_killed_leader_and_nothing_is_lost(cluster):
    api = cluster.api
    leader = cluster.leader_pid()
    candidates = cluster.managers("leader")
    replicas = cluster.managers("replica")
    assert leader in candidates and len(candidates) == 2 and len(replicas) == 1, (leader, candidates, replicas)
    began = time.time()
    stream = stream_on(cluster, replicas[0])
    opened = time.time()

    sent = []
    long, _ = submit(api, [{"go_to": "c_warehouse"}, {"go_to": "c_ward"}, {"go_to": "c_charging"}],
                     "delivery_1")
    sent.append(long["id"])
    until(api, long["id"], lambda m: any(s["status"] == "active" for s in m["steps"][1:]), 120)  # mid-mission
    print(f"websocket on the replica after {opened - began:.1f} s; mid-mission {time.time() - opened:.1f} s later")
    assert any(e["mission_id"] == long["id"] for e in events(stream)), "the replica's client got no event"
    # reads on any process: each request a new connection, which the kernel gives to any of the three
    for _ in range(12):
        listed = {r["id"]: r for r in http.get(f"{api}/robots", timeout=10).json()}
        assert all(listed.get(r, {}).get("pose") for r in ("delivery_1", "delivery_2")), listed
        assert http.get(f"{api}/robots/delivery_1", timeout=10).json()["pose"] is not None

    os.kill(leader, signal.SIGKILL)
    killed = time.time()
    new_leader, led = None, killed
    while time.time() - killed < 30 and new_leader in (None, leader):  # the standby holds the lock
        new_leader, led = cluster.leader_pid(), time.time()
        time.sleep(0.1)
    short, refused = submit(api, [{"go_to": "bay_2"}], "delivery_2")  # goes through once a leader serves
    serving = time.time()
    sent.append(short["id"])
    assert new_leader is not None and new_leader != leader and new_leader in candidates
    assert cluster.leader_pid() == new_leader
    print(f"leader {leader} SIGKILLed; the standby {new_leader} held the lock {led - killed:.2f} s later and served "
          f"a write {serving - killed:.2f} s later ({refused} writes refused or unanswered meanwhile)")
    assert led - killed <= TAKEOVER_LIMIT_S

    done = [until(api, i, lambda m: m["status"] in ("completed", "failed", "canceled"), 150) for i in sent]
    assert [m["status"] for m in done] == ["completed", "completed"], [(m["failure_reason"], m["events"])
                                                                       for m in done]
    assert any("reconciled after restart" in e["message"] for e in done[0]["events"]), done[0]["events"]
    assert [e["status"] for e in done[0]["events"] if e["kind"] == "status"] == [
        "queued", "assigned", "underway", "completed"]
    assert done[0]["route"][-1] == "c_charging"
    reconciled = next(stamp(e["time"]) for e in done[0]["events"] if "reconciled after restart" in e["message"])
    print(f"the mission in flight reconciled {reconciled - killed:.2f} s after the kill")
    print(f"both missions completed {time.time() - serving:.1f} s after the takeover; "
          f"{len(events(stream))} events and {states_after(stream, 0)} robot states streamed on the replica")
    stored = {(m, stamp(t)) for m, t in cluster.rows(
        "SELECT mission_id, time FROM mission_event WHERE mission_id = ANY(%s)", sent)}
    deadline = time.time() + 15.0  # the last events may still be on their way to the replica (a loaded machine)
    while time.time() < deadline:
        received = {(e["mission_id"], stamp(e["time"])) for e in events(stream)}
        if {(m, t) for m, t in stored if t >= serving} <= received:
            break
        time.sleep(0.2)

    # the replica's client: never closed, robot states after the takeover, and every event the new leader wrote
    assert stream.open
    assert states_after(stream, serving) > 0
    received = {(e["mission_id"], stamp(e["time"])) for e in events(stream)}
    assert received <= stored, received - stored  # nothing streamed that is not stored
    after = {(m, t) for m, t in stored if t >= serving}
    assert after and after <= received, after - received
    before = {(m, t) for m, t in stored if opened <= t <= killed - 1.0}
    assert before <= received, before - received
    # every mission accepted is stored, once; nothing else
    assert sorted(r[0] for r in cluster.rows("SELECT id FROM mission")) == sorted(sent)
    stream.close()
    # the killed candidate was started again, as a standby
    assert any("leader-1" in line and "exited with code -9: restarting it" in line for line in cluster.lab.lines) \
        or any("leader-2" in line and "exited with code -9: restarting it" in line for line in cluster.lab.lines), \
        cluster.lab.output()
