"""What a simulated vehicle is and can do: its identity and body (VehicleDescription), the actions it
supports and where (scopes, 2.0 text 6.8.1), and its factsheet (2.0 text, section 7) built from both."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from labfleet_robot.controller import Limits, Tuning

from vda5050.enums import (
    PREDEFINED_SCOPES,
    ActionScope,
    ActionType,
    AgvClass,
    AgvKinematic,
    LocalizationType,
    NavigationType,
    Support,
    ValueDataType,
)
from vda5050.factsheet import (
    AgvAction,
    AgvGeometry,
    Envelope2d,
    Factsheet,
    FactsheetActionParameter,
    LoadSpecification,
    MaxArrayLens,
    MaxStringLens,
    OptionalParameter,
    PhysicalParameters,
    PolygonPoint,
    ProtocolFeatures,
    ProtocolLimits,
    Timing,
    TypeSpecification,
)

ActionTable = Mapping[str, tuple[float, float]]  # action type -> (duration s, success rate in [0, 1])

# actions the vehicle carries out itself, whatever its action table says; initPosition only as an instant
# action (on a node it serves elevators between maps, which the vehicle does not do)
BUILTIN_ACTIONS: dict[str, frozenset[ActionScope]] = {
    name: PREDEFINED_SCOPES[name] for name in (
        ActionType.START_PAUSE, ActionType.STOP_PAUSE, ActionType.CANCEL_ORDER, ActionType.STATE_REQUEST,
        ActionType.FACTSHEET_REQUEST, ActionType.LOG_REPORT, ActionType.START_CHARGING, ActionType.STOP_CHARGING)
} | {ActionType.INIT_POSITION: frozenset({ActionScope.INSTANT})}
_ALL_SCOPES = frozenset(ActionScope)

# optional order fields the vehicle uses (6.1.1: a master control sends no others)
OPTIONAL_PARAMETERS = (
    ("order.nodes.nodePosition", Support.REQUIRED, "the vehicle drives to node positions in its own map"),
    ("order.nodes.nodePosition.theta", Support.SUPPORTED, "the vehicle stops and turns where it must"),
    ("order.nodes.nodePosition.allowedDeviationXY", Support.SUPPORTED, None),
    ("order.nodes.nodePosition.allowedDeviationTheta", Support.SUPPORTED, None),
    ("order.edges.maxSpeed", Support.SUPPORTED, None),
    ("order.edges.maxRotationSpeed", Support.SUPPORTED, None),
    ("order.edges.maxHeight", Support.SUPPORTED, None),
    ("order.edges.rotationAllowed", Support.SUPPORTED, "it turns on the spot only on nodes"),
    ("order.edges.length", Support.SUPPORTED, "informational"),
)

_PARAMETERS: dict[str, list[tuple[str, ValueDataType, bool]]] = {
    ActionType.INIT_POSITION: [("x", ValueDataType.NUMBER, False), ("y", ValueDataType.NUMBER, False),
                               ("theta", ValueDataType.NUMBER, False), ("mapId", ValueDataType.STRING, False),
                               ("lastNodeId", ValueDataType.STRING, True)],
    ActionType.LOG_REPORT: [("reason", ValueDataType.STRING, False)],
    ActionType.PICK: [("loadId", ValueDataType.STRING, True), ("loadType", ValueDataType.STRING, True),
                      ("lhd", ValueDataType.STRING, True)],
    ActionType.DROP: [("loadId", ValueDataType.STRING, True), ("lhd", ValueDataType.STRING, True)],
}


@dataclass(frozen=True)
class VehicleDescription:
    manufacturer: str
    serial_number: str
    map_id: str  # the map the vehicle localises in; order node positions must be on it
    limits: Limits = field(default_factory=Limits)
    series_name: str = "LabFleet simulated vehicle"
    series_description: str | None = None
    agv_class: AgvClass = AgvClass.CARRIER
    max_load_kg: float = 0.0
    height_m: float = 0.5
    max_decel: float | None = None  # braking, m/s² (default: the limits' acceleration)
    load_positions: tuple[str, ...] = ()  # load handling devices (state loads[].loadPosition, action lhd)
    version: str = "2.0.0"  # protocol version written in every header


def action_scopes(action_type: str, table: ActionTable) -> frozenset[ActionScope]:
    """Where the vehicle can run an action type: its predefined scopes, or all for a type of its own."""
    if action_type in BUILTIN_ACTIONS:
        return BUILTIN_ACTIONS[action_type]
    if action_type in table:
        return PREDEFINED_SCOPES.get(action_type, _ALL_SCOPES)
    return frozenset()


def _agv_action(action_type: str, table: ActionTable) -> AgvAction:
    params = [FactsheetActionParameter(key=key, value_data_type=kind, is_optional=optional)
              for key, kind, optional in _PARAMETERS.get(action_type, [])]
    scopes = sorted(action_scopes(action_type, table), key=list(ActionScope).index)
    return AgvAction(action_type=action_type, action_scopes=scopes, action_parameters=params or None)


def make_factsheet(description: VehicleDescription, table: ActionTable, *, header_id: int, timestamp: str,
                   state_period_s: float, visualization_hz: float, tuning: Tuning | None = None) -> Factsheet:
    """The vehicle's factsheet: a differential-drive vehicle with a round footprint."""
    lim = description.limits
    corner = lim.radius / math.cos(math.pi / 12)  # a 12-gon around the round footprint
    outline = [PolygonPoint(x=round(corner * math.cos(a), 4), y=round(corner * math.sin(a), 4))
               for a in (k * math.pi / 6 for k in range(12))]
    actions = [*BUILTIN_ACTIONS, *(name for name in table if name not in BUILTIN_ACTIONS)]
    return Factsheet(
        header_id=header_id, timestamp=timestamp, version=description.version,
        manufacturer=description.manufacturer, serial_number=description.serial_number,
        type_specification=TypeSpecification(
            series_name=description.series_name, series_description=description.series_description,
            agv_kinematic=AgvKinematic.DIFF, agv_class=description.agv_class,
            max_load_mass=description.max_load_kg, localization_types=[LocalizationType.NATURAL],
            navigation_types=[NavigationType.VIRTUAL_LINE_GUIDED]),
        physical_parameters=PhysicalParameters(
            speed_min=(tuning or Tuning()).creep_speed, speed_max=lim.max_speed, acceleration_max=lim.max_accel,
            deceleration_max=description.max_decel or lim.max_accel, height_max=description.height_m,
            width=2 * lim.radius, length=2 * lim.radius),
        protocol_limits=ProtocolLimits(
            max_string_lens=MaxStringLens(), max_array_lens=MaxArrayLens(),
            timing=Timing(min_order_interval=0.1, min_state_interval=0.05, default_state_interval=state_period_s,
                          visualization_interval=1.0 / visualization_hz if visualization_hz > 0 else None)),
        protocol_features=ProtocolFeatures(
            optional_parameters=[OptionalParameter(parameter=p, support=s, description=d)
                                 for p, s, d in OPTIONAL_PARAMETERS],
            agv_actions=[_agv_action(name, table) for name in actions]),
        agv_geometry=AgvGeometry(envelopes2d=[Envelope2d(set="footprint", polygon_points=outline)]),
        load_specification=LoadSpecification(load_positions=list(description.load_positions) or None),
    )
