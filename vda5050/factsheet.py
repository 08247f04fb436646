"""Wire model of the VDA 5050 factsheet (2.0 text, section 7; 2.1 text, section 6.15).

Required fields as the nested objects of the tag 2.0.0 factsheet schema list them (its top level checks only
the required keys, see schemas/README.md); `vehicleConfig` and `blockingTypes` are 2.1 additions. Where the
2.0.0 file misspells a name (`maxWeigth`, `PHYSICAL_LINDE_GUIDED`) the model reads both and writes the
2.1.0 spelling. The 2.0.0 field `localizationParameters` (dropped in 2.1) is not modelled."""

from __future__ import annotations

from typing import Any

from pydantic import AliasChoices, Field

from vda5050.enums import (
    ActionScope,
    AgvClass,
    AgvKinematic,
    BlockingType,
    LocalizationType,
    NavigationType,
    Support,
    ValueDataType,
    WheelType,
)
from vda5050.models import BoundingBoxReference, LoadDimensions, Timestamp, WireModel


class TypeSpecification(WireModel):
    series_name: str
    series_description: str | None = None
    agv_kinematic: AgvKinematic
    agv_class: AgvClass
    max_load_mass: float = Field(ge=0)
    localization_types: list[LocalizationType]
    navigation_types: list[NavigationType]


class PhysicalParameters(WireModel):
    speed_min: float
    speed_max: float
    acceleration_max: float
    deceleration_max: float
    height_min: float | None = None
    height_max: float
    width: float
    length: float


class MaxStringLens(WireModel):
    msg_len: int | None = None
    topic_serial_len: int | None = None
    topic_elem_len: int | None = None
    id_len: int | None = None
    id_numerical_only: bool | None = None
    enum_len: int | None = None
    load_id_len: int | None = None


class MaxArrayLens(WireModel):
    order_nodes: int | None = Field(default=None, alias="order.nodes")
    order_edges: int | None = Field(default=None, alias="order.edges")
    node_actions: int | None = Field(default=None, alias="node.actions")
    edge_actions: int | None = Field(default=None, alias="edge.actions")
    actions_parameters: int | None = Field(default=None, alias="actions.actionsParameters")
    instant_actions: int | None = Field(default=None, alias="instantActions")
    trajectory_knot_vector: int | None = Field(default=None, alias="trajectory.knotVector")
    trajectory_control_points: int | None = Field(default=None, alias="trajectory.controlPoints")
    state_node_states: int | None = Field(default=None, alias="state.nodeStates")
    state_edge_states: int | None = Field(default=None, alias="state.edgeStates")
    state_loads: int | None = Field(default=None, alias="state.loads")
    state_action_states: int | None = Field(default=None, alias="state.actionStates")
    state_errors: int | None = Field(default=None, alias="state.errors")
    state_information: int | None = Field(default=None, alias="state.information")
    error_error_references: int | None = Field(default=None, alias="error.errorReferences")
    information_info_references: int | None = Field(default=None, alias="information.infoReferences")


class Timing(WireModel):
    min_order_interval: float
    min_state_interval: float
    default_state_interval: float | None = None
    visualization_interval: float | None = None


class ProtocolLimits(WireModel):
    max_string_lens: MaxStringLens
    max_array_lens: MaxArrayLens
    timing: Timing


class OptionalParameter(WireModel):
    parameter: str
    support: Support
    description: str | None = None


class FactsheetActionParameter(WireModel):
    key: str
    value_data_type: ValueDataType
    description: str | None = None
    is_optional: bool | None = None


class AgvAction(WireModel):
    action_type: str
    action_description: str | None = None
    action_scopes: list[ActionScope]
    action_parameters: list[FactsheetActionParameter] | None = None
    result_description: str | None = None
    blocking_types: list[BlockingType] | None = None  # 2.1


class ProtocolFeatures(WireModel):
    optional_parameters: list[OptionalParameter]
    agv_actions: list[AgvAction]


class WheelPosition(WireModel):
    x: float
    y: float
    theta: float | None = None


class WheelDefinition(WireModel):
    type: WheelType
    is_active_driven: bool
    is_active_steered: bool
    position: WheelPosition
    diameter: float
    width: float
    center_displacement: float | None = None
    constraints: str | None = None


class PolygonPoint(WireModel):
    x: float
    y: float


class Envelope2d(WireModel):
    set: str
    polygon_points: list[PolygonPoint]
    description: str | None = None


class Envelope3d(WireModel):
    set: str
    format: str
    data: dict[str, Any] | None = None
    url: str | None = None
    description: str | int | None = None  # a string in the text, an integer in the 2.1.0 schema


class AgvGeometry(WireModel):
    wheel_definitions: list[WheelDefinition] | None = None
    envelopes2d: list[Envelope2d] | None = Field(default=None, alias="envelopes2d")
    envelopes3d: list[Envelope3d] | None = Field(default=None, alias="envelopes3d")


class LoadSet(WireModel):
    set_name: str
    load_type: str
    load_positions: list[str] | None = None
    bounding_box_reference: BoundingBoxReference | None = None
    load_dimensions: LoadDimensions | None = None
    max_weight: float | None = Field(default=None, alias="maxWeight",
                                     validation_alias=AliasChoices("maxWeight", "maxWeigth"))
    min_loadhandling_height: float | None = None
    max_loadhandling_height: float | None = None
    min_loadhandling_depth: float | None = None
    max_loadhandling_depth: float | None = None
    min_loadhandling_tilt: float | None = None
    max_loadhandling_tilt: float | None = None
    agv_speed_limit: float | None = None
    agv_acceleration_limit: float | None = None
    agv_deceleration_limit: float | None = None
    pick_time: float | None = None
    drop_time: float | None = None
    description: str | None = None


class LoadSpecification(WireModel):
    load_positions: list[str] | None = None
    load_sets: list[LoadSet] | None = None


class VersionInfo(WireModel):  # 2.1
    key: str
    value: str


class Network(WireModel):  # 2.1
    dns_servers: list[str] | None = None
    ntp_servers: list[str] | None = None
    local_ip_address: str | None = None
    netmask: str | None = None
    default_gateway: str | None = None


class VehicleConfig(WireModel):  # 2.1
    versions: list[VersionInfo] | None = None
    network: Network | None = None


class Factsheet(WireModel):
    header_id: int | None = Field(default=None, ge=0)
    timestamp: Timestamp | None = None
    version: str
    manufacturer: str
    serial_number: str
    type_specification: TypeSpecification
    physical_parameters: PhysicalParameters
    protocol_limits: ProtocolLimits
    protocol_features: ProtocolFeatures
    agv_geometry: AgvGeometry
    load_specification: LoadSpecification
    vehicle_config: VehicleConfig | None = None  # 2.1
