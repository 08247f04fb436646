"""Enumerations of the VDA 5050 messages (2.0 text, sections 6.7-6.14 and 7), and the names the standard
gives to actions (6.8.1) and errors (6.6.3.2, 6.6.4, figure 8). Enumerations are upper case on the wire."""

from __future__ import annotations

from enum import StrEnum


class BlockingType(StrEnum):
    NONE = "NONE"  # allows driving and other actions
    SOFT = "SOFT"  # allows other actions, not driving
    HARD = "HARD"  # the only action at that time; no driving


class ActionStatus(StrEnum):
    WAITING = "WAITING"
    INITIALIZING = "INITIALIZING"
    RUNNING = "RUNNING"
    PAUSED = "PAUSED"  # in the text (6.11); missing from the state.schema enum of tags 2.0.0 and 2.1.0
    FINISHED = "FINISHED"
    FAILED = "FAILED"


TERMINAL = frozenset({ActionStatus.FINISHED, ActionStatus.FAILED})


class OperatingMode(StrEnum):
    AUTOMATIC = "AUTOMATIC"
    SEMIAUTOMATIC = "SEMIAUTOMATIC"
    MANUAL = "MANUAL"
    SERVICE = "SERVICE"
    TEACHIN = "TEACHIN"


class ConnectionState(StrEnum):
    ONLINE = "ONLINE"
    OFFLINE = "OFFLINE"
    CONNECTIONBROKEN = "CONNECTIONBROKEN"


class ErrorLevel(StrEnum):
    WARNING = "WARNING"  # self-resolving
    FATAL = "FATAL"  # needs human intervention


class InfoLevel(StrEnum):
    INFO = "INFO"
    DEBUG = "DEBUG"


class EStop(StrEnum):
    AUTOACK = "AUTOACK"
    MANUAL = "MANUAL"
    REMOTE = "REMOTE"
    NONE = "NONE"


class OrientationType(StrEnum):  # edge.orientationType: in the 2.0 text, in the schemas from 2.1.0
    GLOBAL = "GLOBAL"
    TANGENTIAL = "TANGENTIAL"


class CorridorRefPoint(StrEnum):  # 2.1
    KINEMATICCENTER = "KINEMATICCENTER"
    CONTOUR = "CONTOUR"


class MapStatus(StrEnum):  # 2.1
    ENABLED = "ENABLED"
    DISABLED = "DISABLED"


class AgvKinematic(StrEnum):
    DIFF = "DIFF"
    OMNI = "OMNI"
    THREEWHEEL = "THREEWHEEL"


class AgvClass(StrEnum):
    FORKLIFT = "FORKLIFT"
    CONVEYOR = "CONVEYOR"
    TUGGER = "TUGGER"
    CARRIER = "CARRIER"


class LocalizationType(StrEnum):
    NATURAL = "NATURAL"
    REFLECTOR = "REFLECTOR"
    RFID = "RFID"
    DMC = "DMC"
    SPOT = "SPOT"
    GRID = "GRID"


class NavigationType(StrEnum):
    PHYSICAL_LINE_GUIDED = "PHYSICAL_LINE_GUIDED"
    VIRTUAL_LINE_GUIDED = "VIRTUAL_LINE_GUIDED"
    AUTONOMOUS = "AUTONOMOUS"

    @classmethod
    def _missing_(cls, value: object) -> NavigationType | None:
        # factsheet.json of tag 2.0.0 misspells it; accept what a 2.0.0 vehicle may send
        return cls.PHYSICAL_LINE_GUIDED if value == "PHYSICAL_LINDE_GUIDED" else None


class Support(StrEnum):  # factsheet protocolFeatures.optionalParameters[].support
    SUPPORTED = "SUPPORTED"
    REQUIRED = "REQUIRED"


class ActionScope(StrEnum):
    INSTANT = "INSTANT"
    NODE = "NODE"
    EDGE = "EDGE"


class ValueDataType(StrEnum):
    BOOL = "BOOL"
    NUMBER = "NUMBER"
    INTEGER = "INTEGER"
    FLOAT = "FLOAT"
    STRING = "STRING"
    OBJECT = "OBJECT"
    ARRAY = "ARRAY"


class WheelType(StrEnum):
    DRIVE = "DRIVE"
    CASTER = "CASTER"
    FIXED = "FIXED"
    MECANUM = "MECANUM"


class ActionType:
    """The predefined actions of 6.8.1 (2.0), and factsheetRequest (2.1)."""

    START_PAUSE = "startPause"
    STOP_PAUSE = "stopPause"
    START_CHARGING = "startCharging"
    STOP_CHARGING = "stopCharging"
    INIT_POSITION = "initPosition"
    STATE_REQUEST = "stateRequest"
    LOG_REPORT = "logReport"
    PICK = "pick"
    DROP = "drop"
    DETECT_OBJECT = "detectObject"
    FINE_POSITIONING = "finePositioning"
    WAIT_FOR_TRIGGER = "waitForTrigger"
    CANCEL_ORDER = "cancelOrder"
    FACTSHEET_REQUEST = "factsheetRequest"  # 2.1


_I, _N, _E = ActionScope.INSTANT, ActionScope.NODE, ActionScope.EDGE
# where each predefined action may be used (6.8.1, columns instant | node | edge)
PREDEFINED_SCOPES: dict[str, frozenset[ActionScope]] = {
    ActionType.START_PAUSE: frozenset({_I}),
    ActionType.STOP_PAUSE: frozenset({_I}),
    ActionType.START_CHARGING: frozenset({_I, _N}),
    ActionType.STOP_CHARGING: frozenset({_I, _N}),
    ActionType.INIT_POSITION: frozenset({_I, _N}),
    ActionType.STATE_REQUEST: frozenset({_I}),
    ActionType.LOG_REPORT: frozenset({_I}),
    ActionType.PICK: frozenset({_N, _E}),
    ActionType.DROP: frozenset({_N, _E}),
    ActionType.DETECT_OBJECT: frozenset({_N, _E}),
    ActionType.FINE_POSITIONING: frozenset({_N, _E}),
    ActionType.WAIT_FOR_TRIGGER: frozenset({_N}),
    ActionType.CANCEL_ORDER: frozenset({_I}),
    ActionType.FACTSHEET_REQUEST: frozenset({_I}),
}


class ErrorType:
    """errorType values: those the standard names, then LabFleet's own (the standard leaves them open)."""

    VALIDATION = "validationError"  # 6.6.4.1: a malformed order (here also a malformed instantActions)
    ORDER = "orderError"  # 6.6.4.2: actions or fields the vehicle cannot use
    ORDER_UPDATE = "orderUpdateError"  # 6.6.4.3 and figure 8: an update that does not fit
    NO_ROUTE = "noRouteError"  # figure 8: the first node of a new order is not reachable
    NO_ORDER_TO_CANCEL = "noOrderToCancel"  # 6.6.3.2
    INSTANT_ACTION = "instantActionError"  # LabFleet: an instant action the vehicle cannot perform
    ACTION_FAILED = "actionFailed"  # LabFleet: an action ended FAILED (6.8.2: "should correspond with an error")
