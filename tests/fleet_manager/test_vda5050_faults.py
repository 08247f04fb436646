"""Faults (issue 15) around the vda5050 adapter, on the real Mosquitto broker with the simulated vehicle (the
harness of test_vda5050_adapter.py): bad messages on the state topic are logged warnings and the task goes on;
after a broker outage the adapter reconnects and sends the current order again; a vehicle is reported only
while it is heard from and not OFFLINE. Without the broker these tests fail."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from fleet_manager.adapters.base import Announced
from fleet_manager.core.errors import Unavailable
from fleet_manager.core.robots import Command, CommandResult, TaskOutcome, TaskRequest
from tests.fleet_manager.test_vda5050_adapter import BROKER, ROBOT, _nothing, lab, line, run, until
from tests.tcp_proxy import TcpProxy
from vda5050.topics import Topic


def test_bad_state_messages_are_logged_and_the_task_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    async def scenario() -> None:
        async with lab() as here:
            running = here.start(TaskRequest("7.0.gg.1.1", 7, line(0.0, 4.0)))
            await until(lambda: here.sim.pose[0] > 0.5, "the vehicle under way")
            monitor = here.monitor
            state_topic = monitor.topic("SN1", Topic.STATE)
            old = next(p for _t, name, p, _r in monitor.messages if name == state_topic)
            for _ in range(3):
                monitor.publish(state_topic, b'{"headerId": 99999, "orderId": ')  # malformed JSON, three times
            monitor.publish(state_topic, old)  # a state from before: its headerId goes backwards
            stranger = json.loads(old) | {"serialNumber": "SN9"}
            monitor.publish(monitor.topic("SN9", Topic.STATE), json.dumps(stranger).encode())
            monitor.publish(state_topic, json.dumps(json.loads(old) | {"headerId": 99998, "timestamp":
                                                                      "2020-01-01T00:00:00.000Z"}).encode())  # stale
            monitor.publish(state_topic, json.dumps({"headerId": 99997, "orderId": 7}).encode())  # not a state
            result = await asyncio.wait_for(running, 20)
            assert result.outcome is TaskOutcome.SUCCEEDED, result.reason
            assert here.announced and here.announced[0] == Announced("SN9", "vda5050", "LabFleet/SN9")
            assert all(r.id == "amr_1" for r in here.reports)
            here.sim.stepping = False  # silent: a state of an order this fleet manager never sent
            await asyncio.sleep(0.2)
            newest = json.loads(next(p for _t, name, p, _r in reversed(monitor.messages) if name == state_topic))
            foreign = newest | {"headerId": newest["headerId"] + 1, "orderId": "someone-else", "nodeStates": [
                {"nodeId": "x1", "sequenceId": 2, "released": True}]}
            monitor.publish(state_topic, json.dumps(foreign).encode())
            await until(lambda: (here.adapter.vda_status(ROBOT.id) or {}).get("orderId") == "someone-else",
                        "the foreign state taken in")

    with caplog.at_level(logging.WARNING, logger="fleet_manager.adapters"):
        run(scenario)
    text = [r.getMessage() for r in caplog.records]
    assert len([t for t in text if "sent a malformed state message" in t and "invalid JSON" in t]) == 1  # rate-limited
    assert any("headerId" in t and "backwards" in t and "amr_1" in t for t in text)
    assert any("LabFleet/SN9" in t and "not registered" in t for t in text)
    assert any("older than its others" in t for t in text)
    assert any("carries out order someone-else, which this fleet manager did not send" in t for t in text)


def test_the_adapter_reconnects_after_a_broker_outage_and_resends_the_order(caplog: pytest.LogCaptureFixture
                                                                             ) -> None:
    proxy = TcpProxy(BROKER)  # a TCP proxy between the adapter and Mosquitto; the vehicle talks to Mosquitto

    async def scenario() -> None:
        async with lab(url=f"mqtt://127.0.0.1:{proxy.port}", timeout_s=10.0) as here:
            task = TaskRequest("8.0.hh.1.1", 8, line(0.0, 1.5, 3.0), released=2)
            running = here.start(task)
            await until(lambda: here.sim.pose[0] > 0.3, "the vehicle under way")
            proxy.cut()  # a first outage with nothing pending: the current order goes again all the same
            await until(lambda: not here.adapter.link.connected, "the adapter noticing the outage")
            restored = time.monotonic()
            proxy.restore()
            resent = await until(lambda: here.monitor.of(Topic.ORDER, after=restored), "the order sent again")
            assert [(o["orderId"], o["orderUpdateId"]) for o in resent] == [(task.task_id, 0)]
            proxy.cut()  # a second one, while the fleet manager releases the rest
            await until(lambda: not here.adapter.link.connected, "the adapter noticing the outage")
            await here.adapter.release(ROBOT, task.task_id, 0)  # while the broker is away
            result, text = await here.adapter.command(ROBOT, Command.PAUSE, "")
            assert result is CommandResult.UNAVAILABLE and "out of reach" in text
            with pytest.raises(Unavailable, match=r"MQTT broker .* is out of reach"):
                await here.adapter.execute(ROBOT, TaskRequest("8.0.hh.2.2", 8, line(0.0, 1.0)), _nothing,
                                           here.feedback.append)
            await until(lambda: here.sim.stands and here.sim.pose[0] > 1.4, "the vehicle at the end of its base")
            await asyncio.sleep(1.0)
            assert here.sim.pose[0] <= 1.55 and not running.done()  # the update has not reached it
            restored = time.monotonic()
            proxy.restore()
            done = await asyncio.wait_for(running, 20)
            assert done.outcome is TaskOutcome.SUCCEEDED, done.reason
            assert here.sim.pose[0] == pytest.approx(3.0, abs=0.1)
            again = here.monitor.of(Topic.ORDER, after=restored)
            assert [(o["orderId"], o["orderUpdateId"]) for o in again][:1] == [(task.task_id, 1)]
            assert proxy.connections >= 3 and here.adapter.link.connections >= 3

    try:
        with caplog.at_level(logging.WARNING, logger="fleet_manager.adapters"):
            run(scenario)
    finally:
        proxy.close()
    assert any("lost the MQTT broker" in r.getMessage() for r in caplog.records)


def test_a_vehicle_is_reported_while_heard_from_and_never_when_offline() -> None:
    async def scenario() -> None:
        async with lab(timeout_s=1.5) as here:
            await asyncio.sleep(1.2)  # states every simulated second, visualization at 5 Hz: and re-reports
            here.sim.stepping = False  # silent from now on
            await asyncio.sleep(0.1)
            quiet = len(here.reports)
            await asyncio.sleep(1.0)
            assert len(here.reports) > quiet  # < robot timeout: the last known state again (>= 2 Hz)
            await asyncio.sleep(1.0)
            count = len(here.reports)
            await asyncio.sleep(0.8)
            assert len(here.reports) == count  # > robot timeout: no more reports, the robot goes offline
            result, text = await here.adapter.command(ROBOT, Command.PAUSE, "")
            assert result is CommandResult.UNAVAILABLE and "amr_1" in text
            with pytest.raises(Unavailable, match="offline"):
                await here.adapter.execute(ROBOT, TaskRequest("9.0.ii.1.1", 9, line(0.0, 1.0)), _nothing,
                                           here.feedback.append)
            here.sim.stepping = True
            await until(lambda: len(here.reports) > count + 3, "reports again")
            here.sim.link.stop()  # a clean stop: connection OFFLINE
            await until(lambda: (here.adapter.vda_status(ROBOT.id) or {}).get("connection") == "OFFLINE", "OFFLINE")
            await asyncio.sleep(0.3)
            count = len(here.reports)
            await asyncio.sleep(0.8)
            assert len(here.reports) == count  # within the robot timeout, but it said OFFLINE
    run(scenario)
