"""Wire models of the VDA 5050 messages order, instantActions, state, visualization and connection (2.0 text,
sections 6.4, 6.7, 6.9, 6.10.6, 6.13, 6.14); the factsheet is in `vda5050.factsheet`.

Python names are snake_case, JSON names camelCase. Required and optional fields follow the JSON schemas of
tag 2.0.0; fields that 2.1.0 adds (edge corridor, state maps, error errorHint, object-valued action
parameters, ...) are optional. Unknown fields of received messages are ignored, so a vehicle or master
control of another minor version does not break us; what we send holds only schema fields.

Of 2.1 the models have corridor and orientationType on edges, maps and errorHint in the state, object-valued
action parameters, and the factsheet's vehicleConfig and blockingTypes; not the 3.0 topics (zoneSet, responses).

Where the 2.0.0 schemas contradict the 2.0 text (see schemas/README.md) the models follow the text and also
accept the schema's spelling: an action's `actionType` is read from `actionName` too, a node position's
`allowedDeviationXY` from `allowedDeviationXy`; both are written as the text spells them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AliasChoices, BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

from vda5050.enums import (
    ActionStatus,
    BlockingType,
    ConnectionState,
    CorridorRefPoint,
    ErrorLevel,
    EStop,
    InfoLevel,
    MapStatus,
    OperatingMode,
    OrientationType,
)

PI_BOUND = 3.14159265359  # the schemas' bound on angles


def _check_timestamp(value: str) -> str:
    try:
        datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"not an ISO 8601 timestamp: {value!r}") from None
    return value


Timestamp = Annotated[str, AfterValidator(_check_timestamp)]
Angle = Annotated[float, Field(ge=-PI_BOUND, le=PI_BOUND)]
ParamValue = bool | int | float | str | list[Any] | dict[str, Any]  # dict: 2.1 only


def format_timestamp(seconds: float) -> str:
    """ISO 8601 UTC with milliseconds and 'Z' for a POSIX time: '2017-04-15T11:40:03.120Z'."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


class WireModel(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="ignore", frozen=True,
                              allow_inf_nan=False)


class Header(WireModel):
    """The protocol header (6.4), required in order, state and connection."""

    header_id: int = Field(ge=0)
    timestamp: Timestamp
    version: str
    manufacturer: str
    serial_number: str


class OptionalHeader(WireModel):
    """The header where the 2.0.0 schema requires none of it (instantActions, visualization)."""

    header_id: int | None = Field(default=None, ge=0)
    timestamp: Timestamp | None = None
    version: str | None = None
    manufacturer: str | None = None
    serial_number: str | None = None


# -- order (6.7) ---------------------------------------------------------------------------------------------
class ActionParameter(WireModel):
    key: str
    value: ParamValue


class Action(WireModel):
    """An action of a node, an edge or an instantActions message."""

    action_type: str = Field(alias="actionType", validation_alias=AliasChoices("actionType", "actionName"))
    action_id: str
    action_description: str | None = None
    blocking_type: BlockingType
    action_parameters: list[ActionParameter] | None = None

    def parameter(self, key: str) -> ParamValue | None:
        """The value of the parameter `key` (None when absent)."""
        return next((p.value for p in self.action_parameters or [] if p.key == key), None)


class NodePosition(WireModel):
    x: float
    y: float
    theta: Angle | None = None
    allowed_deviation_xy: float | None = Field(
        default=None, ge=0, alias="allowedDeviationXY",
        validation_alias=AliasChoices("allowedDeviationXY", "allowedDeviationXy"))
    allowed_deviation_theta: float | None = Field(default=None, ge=-3.141592654, le=3.141592654)
    map_id: str
    map_description: str | None = None


class Node(WireModel):
    node_id: str
    sequence_id: int = Field(ge=0)
    node_description: str | None = None
    released: bool
    node_position: NodePosition | None = None
    actions: list[Action]


class ControlPoint(WireModel):
    x: float
    y: float
    weight: float | None = Field(default=None, ge=0)


class Trajectory(WireModel):
    """A NURBS (6.7)."""

    degree: int = Field(ge=1)
    knot_vector: list[Annotated[float, Field(ge=0, le=1)]]
    control_points: list[ControlPoint]


class Corridor(WireModel):  # 2.1
    left_width: float = Field(ge=0)
    right_width: float = Field(ge=0)
    corridor_ref_point: CorridorRefPoint | None = None


class Edge(WireModel):
    edge_id: str
    sequence_id: int = Field(ge=0)
    edge_description: str | None = None
    released: bool
    start_node_id: str
    end_node_id: str
    max_speed: float | None = None
    max_height: float | None = None
    min_height: float | None = None
    orientation: Angle | None = None
    orientation_type: OrientationType | None = None  # in the 2.0 text, in the schemas from 2.1.0
    direction: str | None = None
    rotation_allowed: bool | None = None
    max_rotation_speed: float | None = None
    trajectory: Trajectory | None = None
    length: float | None = None
    corridor: Corridor | None = None  # 2.1
    actions: list[Action]


class Order(Header):
    order_id: str
    order_update_id: int = Field(ge=0)
    zone_set_id: str | None = None
    nodes: list[Node]
    edges: list[Edge]


# -- instantActions (6.9) ------------------------------------------------------------------------------------
class InstantActions(OptionalHeader):
    actions: list[Action] = Field(default_factory=list)


# -- state (6.10.6) ------------------------------------------------------------------------------------------
class NodeState(WireModel):
    node_id: str
    sequence_id: int = Field(ge=0)
    node_description: str | None = None
    node_position: NodePosition | None = None  # the 2.0.0 schema requires theta in it
    released: bool


class EdgeState(WireModel):
    edge_id: str
    sequence_id: int = Field(ge=0)
    edge_description: str | None = None
    released: bool
    trajectory: Trajectory | None = None  # the 2.0.0 schema requires the control points' weight here


class AgvPosition(WireModel):
    x: float
    y: float
    theta: float
    map_id: str
    map_description: str | None = None
    position_initialized: bool
    localization_score: float | None = Field(default=None, ge=0, le=1)
    deviation_range: float | None = None


class Velocity(WireModel):
    vx: float | None = None
    vy: float | None = None
    omega: float | None = None


class BoundingBoxReference(WireModel):
    x: float
    y: float
    z: float
    theta: float | None = None


class LoadDimensions(WireModel):
    length: float
    width: float
    height: float | None = None


class Load(WireModel):
    load_id: str | None = None
    load_type: str | None = None
    load_position: str | None = None
    bounding_box_reference: BoundingBoxReference | None = None
    load_dimensions: LoadDimensions | None = None
    weight: float | None = Field(default=None, ge=0)


class ActionState(WireModel):
    action_id: str
    action_type: str | None = None
    action_description: str | None = None
    action_status: ActionStatus
    result_description: str | None = None


class BatteryState(WireModel):
    battery_charge: float
    battery_voltage: float | None = None
    battery_health: float | None = None  # integer in 2.0.0, number in 2.1.0
    charging: bool
    reach: float | None = Field(default=None, ge=0)  # integer in 2.0.0, number in 2.1.0


class ErrorReference(WireModel):
    reference_key: str
    reference_value: str


class Error(WireModel):
    error_type: str
    error_references: list[ErrorReference] | None = None
    error_description: str | None = None
    error_hint: str | None = None  # 2.1
    error_level: ErrorLevel


class InfoReference(WireModel):
    reference_key: str
    reference_value: str


class Information(WireModel):
    info_type: str
    info_references: list[InfoReference] | None = None
    info_description: str | None = None
    info_level: InfoLevel


class SafetyState(WireModel):
    e_stop: EStop
    field_violation: bool


class MapInfo(WireModel):  # 2.1: state.maps
    map_id: str
    map_version: str
    map_description: str | None = None
    map_status: MapStatus


class State(Header):
    order_id: str
    order_update_id: int = Field(ge=0)
    zone_set_id: str | None = None
    last_node_id: str
    last_node_sequence_id: int = Field(ge=0)
    driving: bool
    paused: bool | None = None
    new_base_request: bool | None = None
    distance_since_last_node: float | None = None
    operating_mode: OperatingMode
    node_states: list[NodeState]
    edge_states: list[EdgeState]
    agv_position: AgvPosition | None = None
    velocity: Velocity | None = None
    loads: list[Load] | None = None
    action_states: list[ActionState]
    battery_state: BatteryState
    errors: list[Error]
    information: list[Information] | None = None
    safety_state: SafetyState
    maps: list[MapInfo] | None = None  # 2.1


# -- visualization (6.13) and connection (6.14) --------------------------------------------------------------
class Visualization(OptionalHeader):
    agv_position: AgvPosition | None = None
    velocity: Velocity | None = None


class Connection(Header):
    connection_state: ConnectionState
