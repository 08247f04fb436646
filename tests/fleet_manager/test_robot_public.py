"""GET /robots answers RobotRegistry.public serialised by pydantic_core.to_json, without validating it against
RobotPublic: the bytes must be those FastAPI writes when it validates the data and serialises the models."""

from __future__ import annotations

import math

import pytest
from pydantic import TypeAdapter
from pydantic_core import to_json

from fleet_manager.core.errors import NotFound
from fleet_manager.core.robots import LOCALISATION_LOST, RobotMode, RobotReport
from fleet_manager.robots.schemas import RobotPublic
from fleet_manager.robots.service import RobotRegistry

LIST = TypeAdapter(list[RobotPublic])
ONE = TypeAdapter(RobotPublic)


def report(robot_id: str, **changes: object) -> RobotReport:
    fields: dict[str, object] = dict(id=robot_id, kind="delivery", model="deliverybot", mode=RobotMode.MOVING,
                                     x=1.5, y=-2.25, yaw=0.1, linear=0.3, angular=-0.05, battery=81.5,
                                     charging=False, task_id="", task_progress=0.0, errors=(), stamp=12.5,
                                     wall_time=1_765_000_000.123456)
    fields.update(changes)
    return RobotReport(**fields)  # type: ignore[arg-type]


@pytest.fixture
def registry() -> RobotRegistry:
    clock = {"now": 1_765_000_000.654321}
    registry = RobotRegistry(5.0, clock=lambda: clock["now"])
    registry.set_registered({"r1": ("Robot one", "labfleet", "delivery", "deliverybot"),
                             "r2": ("Robot two", "nav2", "delivery", "deliverybot"),
                             "quiet": ("Never reported", "vda5050", "tug", "tugger")})
    registry.update(report("r1"))
    registry.update(report("r2", x=3, y=4, yaw=0, linear=0, angular=0, battery=80, charging=True, stamp=7,
                           wall_time=1_765_000_000, errors=("motor hot", LOCALISATION_LOST),
                           mode=RobotMode.CHARGING))
    registry.update(report("stray", battery=math.nan, x=math.inf, yaw=-math.inf))  # announced, not registered
    registry.adapter_of["stray"] = "nav2"
    registry.adapter_of["ns_only"] = "nav2"  # announced without a state
    registry.assignments["r1"] = 42
    clock["now"] += 1.0
    registry.update(report("late", mode=RobotMode.IDLE))  # seen now: the others went offline meanwhile below
    clock["now"] += 4.5
    return registry


def test_the_listing_is_what_the_validated_model_serialises(registry: RobotRegistry) -> None:
    expected = LIST.dump_json(LIST.validate_python(registry.publics()))
    assert to_json(registry.publics(), inf_nan_mode="null") == expected
    modes = {r["id"]: r["mode"] for r in registry.publics()}
    assert modes == {"late": "idle", "r1": "offline", "r2": "offline", "stray": "offline", "quiet": "offline",
                     "ns_only": "offline"}


def test_one_robot_is_what_the_validated_model_serialises(registry: RobotRegistry) -> None:
    for robot_id in [*registry.ids(), "quiet", "ns_only"]:
        expected = ONE.dump_json(ONE.validate_python(registry.view(robot_id)))
        assert to_json(registry.public(robot_id), inf_nan_mode="null") == expected, robot_id
        seen = registry.view(robot_id)["last_seen"]  # the telemetry stream's text
        assert seen is None or seen == registry.public(robot_id)["last_seen"].isoformat()


def test_an_unknown_robot_is_not_found(registry: RobotRegistry) -> None:
    with pytest.raises(NotFound):
        registry.public("nobody")


def test_a_replica_answers_what_the_leader_answers(registry: RobotRegistry) -> None:
    """A replica's registry (cluster/mirror.py) holds the leader's stream: each robot's view as the hub sends it,
    through JSON as NATS carries it. GET /robots and /robots/{id} there give the bytes the leader gives, and a
    registered robot the leader streamed nothing of is offline without a pose, as on the leader (0e9b52e had
    replicas answer from an empty registry: every robot 404, an empty list)."""
    import asyncio

    import orjson

    from fleet_manager.cluster.mirror import MirroredRegistry
    from fleet_manager.telemetry.hub import TelemetryHub, states_frame

    loop = asyncio.new_event_loop()
    try:
        hub = TelemetryHub(loop)
        for state in orjson.loads(states_frame(registry.view(rid) for rid in registry.ids()))["states"]:
            hub.publish_state(state["id"], state)
        mirror = MirroredRegistry(hub, 5.0)
        mirror.set_registered(registry.registered)
        leader = [r for r in registry.publics() if r["id"] != "ns_only"]  # (announced, never reported: not streamed)
        assert [r["id"] for r in mirror.publics()] == [r["id"] for r in leader] == [
            "late", "quiet", "r1", "r2", "stray"]
        assert to_json(mirror.publics(), inf_nan_mode="null") == to_json(leader, inf_nan_mode="null")
        for robot_id in ("late", "quiet", "r1", "r2", "stray"):
            assert (to_json(mirror.public(robot_id), inf_nan_mode="null")
                    == ONE.dump_json(ONE.validate_python(registry.public(robot_id))))
        with pytest.raises(NotFound, match="unknown robot 'nobody'"):
            mirror.public("nobody")
        hub.close()
    finally:
        loop.close()
