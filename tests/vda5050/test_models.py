"""Wire models of VDA 5050: what we build validates against the published schemas, round-trips through JSON,
reads the examples of the text, ignores unknown fields, and refuses malformed payloads naming the problem."""

from __future__ import annotations

import json
import types
import typing
from typing import Any

import pytest
from jsonschema.validators import validator_for

from vda5050.codec import MODEL_OF, MessageError, parse, to_json
from vda5050.description import VehicleDescription, make_factsheet
from vda5050.enums import (
    ActionStatus,
    ActionType,
    BlockingType,
    ConnectionState,
    CorridorRefPoint,
    ErrorLevel,
    EStop,
    InfoLevel,
    NavigationType,
    OperatingMode,
    OrientationType,
    WheelType,
)
from vda5050.factsheet import Factsheet, LoadSet, VehicleConfig, VersionInfo, WheelDefinition, WheelPosition
from vda5050.models import (
    Action,
    ActionParameter,
    ActionState,
    AgvPosition,
    BatteryState,
    BoundingBoxReference,
    Connection,
    ControlPoint,
    Corridor,
    Edge,
    EdgeState,
    Error,
    ErrorReference,
    InfoReference,
    Information,
    InstantActions,
    Load,
    LoadDimensions,
    Node,
    NodePosition,
    NodeState,
    Order,
    SafetyState,
    State,
    Trajectory,
    Velocity,
    Visualization,
    WireModel,
    format_timestamp,
)
from vda5050.schemas import load_schema, validate
from vda5050.topics import Topic

HEADER: dict[str, Any] = {"header_id": 7, "timestamp": "2026-03-01T09:15:02.250Z", "version": "2.0.0",
                          "manufacturer": "LabFleet", "serial_number": "amr_1"}


def a_realistic_order() -> Order:
    pick = Action(action_type=ActionType.PICK, action_id="pick-1", action_description="pick the tote",
                  blocking_type=BlockingType.HARD,
                  action_parameters=[ActionParameter(key="stationType", value="floor"),
                                     ActionParameter(key="loadType", value="EPAL"),
                                     ActionParameter(key="height", value=103.2),
                                     ActionParameter(key="side", value="left"),
                                     ActionParameter(key="lift", value=True),
                                     ActionParameter(key="tags", value=["arrays", "are", "also", "valid"])])
    beep = Action(action_type="beep", action_id="beep-1", blocking_type=BlockingType.NONE)
    return Order(**HEADER, order_id="mission-42", order_update_id=0, nodes=[
        Node(node_id="dock", sequence_id=0, released=True, actions=[],
             node_position=NodePosition(x=1.0, y=2.0, theta=0.0, allowed_deviation_xy=0.3, map_id="lab")),
        Node(node_id="shelf", sequence_id=2, node_description="shelf A", released=True, actions=[pick],
             node_position=NodePosition(x=5.5, y=2.0, theta=1.5707963, allowed_deviation_xy=0.05,
                                        allowed_deviation_theta=0.1, map_id="lab", map_description="ground floor")),
        Node(node_id="ward", sequence_id=4, released=False, actions=[],
             node_position=NodePosition(x=5.5, y=8.0, map_id="lab")),
    ], edges=[
        Edge(edge_id="dock-shelf", sequence_id=1, released=True, start_node_id="dock", end_node_id="shelf",
             max_speed=0.8, max_height=1.8, min_height=0.1, orientation=0.0, rotation_allowed=True,
             max_rotation_speed=1.0, length=4.5, actions=[beep],
             trajectory=Trajectory(degree=1, knot_vector=[0.0, 0.0, 1.0, 1.0], control_points=[
                 ControlPoint(x=1.0, y=2.0, weight=1.0), ControlPoint(x=5.5, y=2.0)])),
        Edge(edge_id="shelf-ward", sequence_id=3, released=False, start_node_id="shelf", end_node_id="ward",
             actions=[]),
    ])


def a_realistic_state() -> State:
    return State(
        **HEADER, order_id="mission-42", order_update_id=3, last_node_id="dock", last_node_sequence_id=0,
        driving=True, paused=False, new_base_request=False, distance_since_last_node=1.25,
        operating_mode=OperatingMode.AUTOMATIC,
        node_states=[NodeState(node_id="shelf", sequence_id=2, released=True,
                               node_position=NodePosition(x=5.5, y=2.0, theta=1.57, map_id="lab")),
                     NodeState(node_id="ward", sequence_id=4, node_description="ward 3", released=False)],
        edge_states=[EdgeState(edge_id="dock-shelf", sequence_id=1, released=True),
                     EdgeState(edge_id="shelf-ward", sequence_id=3, edge_description="corridor", released=False)],
        agv_position=AgvPosition(x=2.25, y=2.0, theta=0.01, map_id="lab", position_initialized=True,
                                 localization_score=0.97, deviation_range=0.05),
        velocity=Velocity(vx=0.8, vy=0.0, omega=0.02),
        loads=[Load(load_id="tote-9", load_type="EPAL", load_position="tray", weight=12.5,
                    bounding_box_reference=BoundingBoxReference(x=0.0, y=0.0, z=0.4, theta=0.0),
                    load_dimensions=LoadDimensions(length=0.6, width=0.4, height=0.3))],
        action_states=[ActionState(action_id="beep-1", action_type="beep", action_status=ActionStatus.RUNNING),
                       ActionState(action_id="pick-1", action_status=ActionStatus.WAITING),
                       ActionState(action_id="p0", action_type="startPause", action_status=ActionStatus.FINISHED,
                                   result_description="paused")],
        battery_state=BatteryState(battery_charge=76.5, battery_voltage=24.1, battery_health=98, charging=False,
                                   reach=4200),
        errors=[Error(error_type="orderUpdateError", error_level=ErrorLevel.WARNING, error_description="too old",
                      error_references=[ErrorReference(reference_key="orderId", reference_value="mission-42"),
                                        ErrorReference(reference_key="orderUpdateId", reference_value="1")])],
        information=[Information(info_type="route", info_level=InfoLevel.DEBUG, info_description="replanned",
                                 info_references=[InfoReference(reference_key="nodeId", reference_value="ward")])],
        safety_state=SafetyState(e_stop=EStop.NONE, field_violation=False))


def a_factsheet() -> Factsheet:
    return make_factsheet(VehicleDescription("LabFleet", "amr_1", "lab", max_load_kg=20.0, load_positions=("tray",)),
                          {ActionType.PICK: (3.0, 0.95), ActionType.DROP: (3.0, 1.0), "beep": (1.0, 1.0)},
                          header_id=0, timestamp=HEADER["timestamp"], state_period_s=1.0, visualization_hz=10.0)


def every_message() -> list[tuple[Topic, WireModel]]:
    return [
        (Topic.ORDER, a_realistic_order()),
        (Topic.INSTANT_ACTIONS, InstantActions(**HEADER, actions=[
            Action(action_type=ActionType.START_PAUSE, action_id="p1", blocking_type=BlockingType.HARD),
            Action(action_type=ActionType.INIT_POSITION, action_id="i1", blocking_type=BlockingType.NONE,
                   action_parameters=[ActionParameter(key=k, value=v) for k, v in
                                      (("x", 1.0), ("y", 2.0), ("theta", 0.0), ("mapId", "lab"))])])),
        (Topic.STATE, a_realistic_state()),
        (Topic.VISUALIZATION, Visualization(**HEADER, agv_position=AgvPosition(
            x=2.25, y=2.0, theta=0.01, map_id="lab", position_initialized=True), velocity=Velocity(vx=0.8))),
        (Topic.CONNECTION, Connection(**HEADER, connection_state=ConnectionState.CONNECTIONBROKEN)),
        (Topic.FACTSHEET, a_factsheet()),
    ]


@pytest.mark.parametrize(("topic", "message"), every_message(), ids=lambda x: str(x) if isinstance(x, Topic) else "")
def test_what_we_build_validates_and_round_trips(topic: Topic, message: WireModel) -> None:
    data = json.loads(to_json(message))
    if topic is not Topic.INSTANT_ACTIONS:  # see test_instant_actions_and_the_2_0_0_schema
        validate(topic, data, "2.0.0")
    validate(topic, data, "2.1.0")
    assert parse(topic, to_json(message)) == message
    assert parse(topic, to_json(message).decode()) == message
    assert "null" not in to_json(message).decode()


def test_instant_actions_and_the_2_0_0_schema() -> None:
    """The tag 2.0.0 schema wants `actionName`; the text (and 2.1.0) say `actionType`: we write actionType and
    read both, and that is the only thing the 2.0.0 schema holds against what we write."""
    message = dict(every_message())[Topic.INSTANT_ACTIONS]
    data = json.loads(to_json(message))
    schema = load_schema("2.0.0", Topic.INSTANT_ACTIONS)
    problems = [e.message for e in validator_for(schema)(schema).iter_errors(data)]
    assert problems == ["'actionName' is a required property"] * 2
    as_schema_20 = {**data, "actions": [{("actionName" if k == "actionType" else k): v for k, v in a.items()}
                                        for a in data["actions"]]}
    validate(Topic.INSTANT_ACTIONS, as_schema_20, "2.0.0")
    assert parse(Topic.INSTANT_ACTIONS, json.dumps(as_schema_20)) == message


def test_fields_2_1_adds_are_optional_and_valid_2_1() -> None:
    base = a_realistic_order()
    edge = base.edges[0].model_copy(update={"trajectory": None, "orientation_type": OrientationType.TANGENTIAL,
                                            "corridor": Corridor(left_width=0.5, right_width=0.4,
                                                                 corridor_ref_point=CorridorRefPoint.CONTOUR)})
    order = base.model_copy(update={"edges": [edge, base.edges[1]]})
    data = json.loads(to_json(order))
    assert data["edges"][0]["corridor"] == {"leftWidth": 0.5, "rightWidth": 0.4, "corridorRefPoint": "CONTOUR"}
    validate(Topic.ORDER, data, "2.1.0")
    assert parse(Topic.ORDER, to_json(order)) == order
    assert "corridor" not in json.loads(to_json(base))["edges"][0]  # emitted only when set
    sheet = a_factsheet().model_copy(update={
        "vehicle_config": VehicleConfig(versions=[VersionInfo(key="softwareVersion", value="1.2.0")])})
    validate(Topic.FACTSHEET, json.loads(to_json(sheet)), "2.1.0")
    assert parse(Topic.FACTSHEET, to_json(sheet)) == sheet


def test_a_detailed_factsheet_validates() -> None:
    sheet = a_factsheet()
    geometry = sheet.agv_geometry.model_copy(update={"wheel_definitions": [WheelDefinition(
        type=WheelType.DRIVE, is_active_driven=True, is_active_steered=False,
        position=WheelPosition(x=0.0, y=0.2), diameter=0.15, width=0.04)]})
    loads = sheet.load_specification.model_copy(update={"load_sets": [LoadSet(
        set_name="DEFAULT", load_type="tote", max_weight=20.0, load_dimensions=LoadDimensions(length=0.6, width=0.4),
        pick_time=3.0, drop_time=3.0)]})
    sheet = sheet.model_copy(update={"agv_geometry": geometry, "load_specification": loads})
    data = json.loads(to_json(sheet))
    assert data["loadSpecification"]["loadSets"][0]["maxWeight"] == 20.0
    validate(Topic.FACTSHEET, data, "2.0.0")
    validate(Topic.FACTSHEET, data, "2.1.0")
    assert parse(Topic.FACTSHEET, to_json(sheet)) == sheet
    assert {a.action_type for a in sheet.protocol_features.agv_actions} >= {"pick", "drop", "beep", "cancelOrder"}


# -- required and optional as the 2.0.0 schemas say --------------------------------------------------------
def _schema_required(schema: dict[str, Any], root: dict[str, Any], path: str = "") -> dict[str, bool]:
    """{path: required} of every property of a schema (arrays as [], $refs followed)."""
    if "$ref" in schema:
        schema = root["definitions"][schema["$ref"].rsplit("/", 1)[1]]
    out: dict[str, bool] = {}
    if schema.get("type") == "array" and "items" in schema:
        return _schema_required(schema["items"], root, path + "[]")
    for name, sub in schema.get("properties", {}).items():
        out[path + "." + name] = name in schema.get("required", [])
        out |= _schema_required(sub, root, path + "." + name)
    return out


def _model_required(cls: type[WireModel], path: str = "") -> dict[str, bool]:
    out: dict[str, bool] = {}
    for name, field in cls.model_fields.items():
        key = path + "." + (field.alias or name)
        out[key] = field.is_required()
        for inner, suffix in _models_in(field.annotation):
            out |= _model_required(inner, key + suffix)
    return out


def _models_in(annotation: Any, suffix: str = "") -> list[tuple[type[WireModel], str]]:
    if isinstance(annotation, type) and issubclass(annotation, WireModel):
        return [(annotation, suffix)]
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is list:
        return _models_in(args[0], suffix + "[]")
    if origin in (typing.Union, types.UnionType):
        return [m for arg in args for m in _models_in(arg, suffix)]
    return []


# where the tag 2.0.0 schemas and the 2.0 text disagree, the models follow the text (schemas/README.md)
ERRATA = {
    Topic.INSTANT_ACTIONS: {".actions[].actionName", ".actions[].actionType"},
    Topic.ORDER: {".nodes[].nodePosition.allowedDeviationXy", ".nodes[].nodePosition.allowedDeviationXY"},
    Topic.STATE: {".nodeStates[].nodePosition.theta", ".edgeStates[].trajectory.controlPoints[].weight"},
    Topic.FACTSHEET: {".loadSpecification.loadSets[].maxWeigth", ".loadSpecification.loadSets[].maxWeight"},
}


@pytest.mark.parametrize("topic", [Topic.ORDER, Topic.INSTANT_ACTIONS, Topic.STATE, Topic.VISUALIZATION,
                                   Topic.CONNECTION, Topic.FACTSHEET])
def test_required_fields_are_those_of_the_2_0_0_schema(topic: Topic) -> None:
    schema = load_schema("2.0.0", topic)
    if topic is Topic.FACTSHEET:  # its properties sit beside "properties" (schemas/README.md)
        schema = {**schema, "properties": {k: v for k, v in schema.items() if isinstance(v, dict)}}
    in_schema, in_model = _schema_required(schema, schema), _model_required(MODEL_OF[topic])
    errata = ERRATA.get(topic, set())
    for path in sorted((in_schema.keys() & in_model.keys()) - errata):
        assert in_schema[path] == in_model[path], f"{topic}{path}: required is {in_schema[path]} in the schema"
    assert not {p for p in in_schema.keys() - in_model.keys() - errata if not p.startswith(".localizationParameters")}
    added = in_model.keys() - in_schema.keys() - errata  # 2.1 additions: optional where they join 2.0.0
    assert {p for p in added if in_model[p] and p.rsplit(".", 1)[0].removesuffix("[]") not in added} == set()


# -- the text's examples -------------------------------------------------------------------------------------
def _spec_order(update_id: int, nodes: list[tuple[str, int, bool]], edges: list[tuple[str, int, bool]]) -> str:
    """Figures 5 and 6 of the 2.0 text (pseudocode) as JSON."""
    return json.dumps({
        "headerId": 1, "timestamp": "2017-04-15T11:40:03.12Z", "version": "2.0.0", "manufacturer": "KIT",
        "serialNumber": "0001", "orderId": "1234", "orderUpdateId": update_id,
        "nodes": [{"nodeId": n, "sequenceId": s, "released": r, "actions": []} for n, s, r in nodes],
        "edges": [{"edgeId": e, "sequenceId": s, "released": r, "startNodeId": nodes[i][0],
                   "endNodeId": nodes[i + 1][0], "actions": []} for i, (e, s, r) in enumerate(edges)]})


def test_the_text_examples_parse() -> None:
    first = parse(Topic.ORDER, _spec_order(0, [("6", 0, True), ("4", 2, True), ("7", 4, True), ("2", 6, False),
                                               ("8", 8, False)],
                                           [("e1", 1, True), ("e3", 3, True), ("e8", 5, False), ("e9", 7, False)]))
    assert [n.node_id for n in first.nodes if n.released] == ["6", "4", "7"]
    update = parse(Topic.ORDER, _spec_order(1, [("7", 4, True), ("2", 6, True), ("8", 8, True), ("9", 10, False)],
                                            [("e8", 5, True), ("e9", 7, True), ("e10", 9, False)]))
    assert (update.order_id, update.order_update_id, update.nodes[0].node_id) == ("1234", 1, "7")
    # 8.2 (2.0) and 7.2 (2.1): action parameters as key-value pairs
    action = parse(Topic.INSTANT_ACTIONS, json.dumps({"actions": [{
        "actionType": "someAction", "actionId": "a1", "blockingType": "NONE", "actionParameters": [
            {"key": "stationType", "value": "floor"}, {"key": "weight", "value": 8.5},
            {"key": "loadType", "value": "pallet_eu"}]}]})).actions[0]
    assert (action.parameter("stationType"), action.parameter("weight"), action.parameter("missing")) == \
        ("floor", 8.5, None)
    # 6.14: the last will
    will = parse(Topic.CONNECTION, json.dumps({"headerId": 0, "timestamp": "1991-03-11T11:40:03.12Z",
                                               "version": "2.0.0", "manufacturer": "KIT", "serialNumber": "0001",
                                               "connectionState": "CONNECTIONBROKEN"}))
    assert will.connection_state is ConnectionState.CONNECTIONBROKEN


def test_schema_spellings_are_read_and_text_spellings_written() -> None:
    position = NodePosition.model_validate({"x": 1, "y": 2, "allowedDeviationXy": 0.5, "mapId": "lab"})
    assert position.allowed_deviation_xy == 0.5
    assert json.loads(to_json(position)) == {"x": 1.0, "y": 2.0, "allowedDeviationXY": 0.5, "mapId": "lab"}
    assert LoadSet.model_validate({"setName": "s", "loadType": "t", "maxWeigth": 3}).max_weight == 3
    assert NavigationType("PHYSICAL_LINDE_GUIDED") is NavigationType.PHYSICAL_LINE_GUIDED


def test_unknown_fields_are_ignored_and_never_written() -> None:
    data = json.loads(to_json(a_realistic_state()))
    data["futureField"] = {"x": 1}
    data["agvPosition"]["altitude"] = 3.0
    data["actionStates"][0]["retriesLeft"] = 2
    state = parse(Topic.STATE, json.dumps(data))
    assert state == a_realistic_state()
    assert "futureField" not in to_json(state).decode() and "altitude" not in to_json(state).decode()


def test_timestamps() -> None:
    assert format_timestamp(1_492_256_403.12) == "2017-04-15T11:40:03.120Z"
    assert format_timestamp(0) == "1970-01-01T00:00:00.000Z"


# -- refused payloads ----------------------------------------------------------------------------------------
def _problems(topic: Topic, payload: bytes | str) -> MessageError:
    with pytest.raises(MessageError) as caught:
        parse(topic, payload)
    return caught.value


def test_malformed_json_is_refused_saying_so() -> None:
    error = _problems(Topic.ORDER, b'{"headerId": 3, "nodes": [')
    assert str(error).startswith("order: invalid JSON: Expecting value at line 1 column 27")
    assert _problems(Topic.ORDER, b"\xff\xfe{}").problems[0].startswith("not UTF-8")
    assert _problems(Topic.STATE, b"[1, 2]").problems == ["expected a JSON object, got list"]


def test_schema_violations_name_the_field() -> None:
    good = json.loads(to_json(a_realistic_order()))

    def changed(path: list[str | int], value: Any, delete: bool = False) -> str:
        data = json.loads(json.dumps(good))
        here = data
        for part in path[:-1]:
            here = here[part]
        if delete:
            del here[path[-1]]
        else:
            here[path[-1]] = value
        return json.dumps(data)

    error = _problems(Topic.ORDER, changed(["nodes", 1, "released"], None, delete=True))
    assert error.problems == ["nodes.1.released: Field required"] and error.header_id == 7
    error = _problems(Topic.ORDER, changed(["nodes", 1, "actions", 0, "blockingType"], "MAYBE"))
    assert error.problems[0].startswith("nodes.1.actions.0.blockingType: Input should be 'NONE', 'SOFT' or 'HARD'")
    assert _problems(Topic.ORDER, changed(["orderUpdateId"], -1)).problems[0].startswith("orderUpdateId: Input "
                                                                                        "should be greater than")
    assert _problems(Topic.ORDER, changed(["timestamp"], "yesterday")).problems[0] == \
        "timestamp: Value error, not an ISO 8601 timestamp: 'yesterday'"
    assert _problems(Topic.ORDER, changed(["edges", 0, "maxSpeed"], "fast")).problems[0].startswith(
        "edges.0.maxSpeed: Input should be a valid number")
    assert _problems(Topic.ORDER, changed(["edges", 0, "maxSpeed"], float("nan"))).problems[0].startswith(
        "edges.0.maxSpeed: Input should be a finite number")
    many = _problems(Topic.STATE, "{}")
    assert str(many).startswith("state: headerId: Field required; timestamp: Field required") and "more)" in str(many)
