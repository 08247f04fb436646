"""The vda5050 adapter's book of vehicles: who is who on the broker, what each vehicle last said, whether it is
online, and the checks every message passes before the adapter believes it (issue 15: a fault is a logged,
rate-limited warning naming the vehicle, never an exception).

- a message on the topic of an unregistered (manufacturer, serial) → announced, never commanded;
- malformed JSON or a message the models refuse → ignored;
- a header naming another vehicle than its topic → ignored;
- a state or visualization whose headerId goes backwards (without a newer timestamp: a restarted vehicle) →
  ignored; one older than robot_timeout_s against the vehicle's own clock (the least offset between its
  timestamps and our clock, so a vehicle's clock need not be ours) → ignored."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from fleet_manager.adapters import vda5050_orders as conv
from fleet_manager.adapters.vda5050_job import Job
from fleet_manager.adapters.vda5050_mqtt import Throttle
from fleet_manager.robots.roster import Registration
from vda5050.codec import MessageError, parse
from vda5050.enums import ActionStatus, ConnectionState
from vda5050.factsheet import Factsheet
from vda5050.models import ActionState, AgvPosition, State, Visualization, WireModel
from vda5050.topics import MAJOR_VERSION, Topic, parse_topic_name, topic_name

log = logging.getLogger("fleet_manager.adapters.vda5050")

WARN_EVERY_S = 30.0
MAX_KNOWN = 4096  # vehicles whose factsheet and headerIds are kept
STALE_RESET = 3  # this many stale messages in a row: the vehicle's clock went back, believe it
GONE = frozenset({ConnectionState.OFFLINE, ConnectionState.CONNECTIONBROKEN})


@dataclass
class VehicleRecord:
    """One registered vehicle: its identity on the broker, what it last said, what we asked of it."""

    reg: Registration
    manufacturer: str
    serial: str
    map_id: str
    state: State | None = None
    position: AgvPosition | None = None  # the newest of state and visualization
    velocity: tuple[float, float] = (0.0, 0.0)
    pose: tuple[float, float, float] = (0.0, 0.0, 0.0)  # last known (shown while it is not localised)
    localised: bool = False
    stamp: float = 0.0  # the vehicle's clock in its newest state or visualization
    heard_at: float | None = None  # our monotonic clock when its newest state or visualization came
    connection: ConnectionState | None = None
    connection_at: float = -1.0
    factsheet: Factsheet | None = None
    factsheet_wanted: bool = True
    last_ids: dict[Topic, tuple[int, float | None]] = field(default_factory=dict)  # headerId, timestamp in
    lag: float | None = None  # the least (our wall clock - its timestamp) seen: the clocks' offset
    stale_run: int = 0
    headers: dict[Topic, int] = field(default_factory=dict)  # the next headerId of what we send
    job: Job | None = None
    estopped: bool = False
    orders: deque[str] = field(default_factory=lambda: deque(maxlen=32))  # order ids we sent it
    canceling: str | None = None  # the order a cancelOrder of ours ends
    cancel_pending: str | None = None  # an order to cancel once the broker is back
    waiters: dict[str, asyncio.Future[ActionState]] = field(default_factory=dict)
    statuses: dict[str, ActionStatus] = field(default_factory=dict)  # of the instant actions we wait for
    base_request: bool = False
    quiet_warned: bool = False

    @property
    def id(self) -> str:
        return self.reg.id

    @property
    def who(self) -> str:
        return f"{self.reg.id} ({self.manufacturer}/{self.serial})"

    def topic(self, interface: str, topic: Topic) -> str:
        return topic_name(interface, MAJOR_VERSION, manufacturer=self.manufacturer, serial=self.serial, topic=topic)

    def next_header_id(self, topic: Topic) -> int:
        return next_header_id(self.headers, topic)


def next_header_id(headers: dict[Topic, int], topic: Topic) -> int:
    """The headerId of the next message we send on a topic (counting up per topic)."""
    header_id = headers.get(topic, 0)
    headers[topic] = header_id + 1
    return header_id


class Vehicles:
    def __init__(self, interface: str, timeout_s: float) -> None:
        self.interface = interface
        self.timeout_s = timeout_s
        self.by_id: dict[str, VehicleRecord] = {}
        self._by_key: dict[tuple[str, str], str] = {}  # (manufacturer, serial) → robot id
        self.warn = Throttle(log, WARN_EVERY_S)
        # of every vehicle heard, registered or not: its factsheet (a registration's model is filled from it), and
        # the next headerIds of what we send it (so a factsheetRequest before registration is not sent again)
        self.sheets: dict[tuple[str, str], Factsheet] = {}
        self.headers: dict[tuple[str, str], dict[Topic, int]] = {}

    def headers_of(self, key: tuple[str, str]) -> dict[Topic, int]:
        if key not in self.headers and len(self.headers) >= MAX_KNOWN:
            self.headers.pop(next(iter(self.headers)))
        return self.headers.setdefault(key, {})

    def keep_sheet(self, key: tuple[str, str], sheet: Factsheet) -> None:
        self.sheets.pop(key, None)
        if len(self.sheets) >= MAX_KNOWN:
            self.sheets.pop(next(iter(self.sheets)))
        self.sheets[key] = sheet

    # -- registration ---------------------------------------------------------------------------
    def add(self, robot: Registration) -> tuple[VehicleRecord | None, VehicleRecord | None]:
        """(the robot's record, the record it replaces when its identity changed); None when it cannot be
        reached (its identity is no topic level, or another robot has it)."""
        key = (robot.setting("manufacturer", robot.config.vda5050.manufacturer),
               robot.setting("serial_number", robot.config.serial_number))
        map_id = robot.setting("map_id", robot.site)
        try:
            topic_name(self.interface, MAJOR_VERSION, manufacturer=key[0], serial=key[1], topic=Topic.ORDER)
        except ValueError as exc:
            log.error("VDA 5050: robot %s cannot be reached: %s", robot.id, exc)
            return None, None
        other = self._by_key.get(key)
        if other is not None and other != robot.id:
            log.error("VDA 5050: robots %s and %s are both registered as %s/%s; %s is ignored", other, robot.id,
                      key[0], key[1], robot.id)
            return None, None
        old = self.by_id.get(robot.id)
        if old is not None and (old.manufacturer, old.serial) == key:
            old.reg, old.map_id = robot, map_id  # an edit keeps what is known of the vehicle
            return old, None
        if old is not None:
            self.remove(robot.id)
        record = VehicleRecord(robot, key[0], key[1], map_id, factsheet=self.sheets.get(key),
                               headers=self.headers_of(key))
        self.by_id[robot.id] = record
        self._by_key[key] = robot.id
        return record, old

    def remove(self, robot_id: str) -> VehicleRecord | None:
        record = self.by_id.pop(robot_id, None)
        if record is not None:
            self._by_key.pop((record.manufacturer, record.serial), None)
        return record

    # -- messages in ----------------------------------------------------------------------------
    def intake(self, topic: str, payload: bytes
               ) -> tuple[VehicleRecord | None, WireModel | None, tuple[str, str] | None]:
        """(the vehicle, its message, None) when the message passes every check; (None, None, (manufacturer,
        serial)) for a vehicle that is not registered (at most once per WARN_EVERY_S); (the vehicle or None, None,
        None) for a message to ignore."""
        try:
            name = parse_topic_name(topic)
        except ValueError as exc:
            self.warn.warning(("?", "topic"), "VDA 5050: a message on an unexpected topic, ignored: %s", exc)
            return None, None, None
        key = (name.manufacturer, name.serial_number)
        rid = self._by_key.get(key)
        if rid is None:
            if name.topic is Topic.FACTSHEET and payload:
                self._stranger_sheet(key, name.topic, payload)
            unknown = "/".join(key)
            if payload and self.warn.warning((unknown, "unknown"), "VDA 5050: vehicle %s (%s) is not registered: "
                                             "listed, never commanded", unknown, name.topic):
                return None, None, key
            return None, None, None
        v = self.by_id[rid]
        if not payload:
            return v, None, None  # a retained message being cleared
        try:
            message = parse(name.topic, payload)
        except MessageError as exc:
            self.warn.warning((rid, f"malformed {name.topic}"), "VDA 5050: robot %s sent a malformed %s message, "
                              "ignored: %s", v.who, name.topic, exc)
            return v, None, None
        said = (getattr(message, "manufacturer", None), getattr(message, "serial_number", None))
        if said[0] is not None and said != (v.manufacturer, v.serial):
            self.warn.warning((rid, "identity"), "VDA 5050: a %s message on the topic of robot %s says it is from "
                              "%s/%s, ignored", name.topic, v.who, *said)
            return v, None, None
        if isinstance(message, State | Visualization):
            if not self._fresh(v, name.topic, message):
                return v, None, None
            v.heard_at, v.quiet_warned = time.monotonic(), False
            v.stamp = conv.seconds(message.timestamp) or time.time()
        return v, message, None

    def _stranger_sheet(self, key: tuple[str, str], topic: Topic, payload: bytes) -> None:
        """The factsheet of a vehicle not registered (yet): kept for its registration."""
        try:
            sheet = parse(topic, payload)
        except MessageError as exc:
            self.warn.warning(("/".join(key), "malformed factsheet"), "VDA 5050: vehicle %s sent a malformed "
                              "factsheet, ignored: %s", "/".join(key), exc)
            return
        if isinstance(sheet, Factsheet) and (sheet.manufacturer, sheet.serial_number) == key:
            self.keep_sheet(key, sheet)

    def _fresh(self, v: VehicleRecord, topic: Topic, message: State | Visualization) -> bool:
        header_id, stamp = message.header_id, conv.seconds(message.timestamp)
        last = v.last_ids.get(topic)
        if header_id is not None and last is not None and header_id <= last[0]:
            if stamp is None or last[1] is None or stamp <= last[1]:
                if header_id < last[0]:  # equal: the same message again (QoS 1), quietly dropped
                    self.warn.warning((v.id, f"headerId {topic}"), "VDA 5050: robot %s sent %s headerId %d after %d "
                                      "(backwards): ignored", v.who, topic, header_id, last[0])
                return False
            self.warn.warning((v.id, f"restart {topic}"), "VDA 5050: robot %s started its %s headerIds again at %d "
                              "(restarted?)", v.who, topic, header_id)
        if stamp is not None:
            lag = time.time() - stamp
            v.lag = lag if v.lag is None else min(v.lag, lag)
            if lag - v.lag > self.timeout_s:
                v.stale_run += 1
                if v.stale_run < STALE_RESET:
                    self.warn.warning((v.id, "stale"), "VDA 5050: robot %s sent a %s message %.1f s older than its "
                                      "others (more than the robot timeout): ignored", v.who, topic, lag - v.lag)
                    return False
                v.lag = lag  # its clock went back: that is the offset from now on
            v.stale_run = 0
        if header_id is not None:
            v.last_ids[topic] = (header_id, stamp)
        return True

    def came_online(self, v: VehicleRecord, state: ConnectionState) -> bool:
        """A connection message: whether the vehicle just came ONLINE."""
        before, v.connection, v.connection_at = v.connection, state, time.monotonic()
        if state is ConnectionState.ONLINE:
            if before is not ConnectionState.ONLINE:
                v.last_ids.clear()  # it may have restarted: its headerIds start again
                v.lag, v.stale_run = None, 0
                return True
        elif before is not state:
            self.warn.warning((v.id, "connection"), "VDA 5050: robot %s says its connection is %s", v.who, state)
        return False

    def track(self, v: VehicleRecord) -> None:
        """Its pose from its newest position (and the distance its task drove)."""
        pose, _why = conv.localisation(v.position, v.map_id)
        v.localised = pose is not None
        if pose is not None:
            v.pose = pose
            if v.job is not None:
                v.job.moved(pose)

    # -- online ---------------------------------------------------------------------------------
    def online(self, v: VehicleRecord) -> bool:
        """Heard from within the robot timeout, and not OFFLINE / CONNECTIONBROKEN since."""
        if v.heard_at is None or time.monotonic() - v.heard_at > self.timeout_s:
            return False
        return v.connection not in GONE or v.heard_at > v.connection_at

    def offline_reason(self, v: VehicleRecord) -> str:
        if v.heard_at is None:
            return f"robot {v.who} has not been heard from over VDA 5050"
        if v.connection in GONE and v.heard_at <= v.connection_at:
            return f"robot {v.who} is {v.connection} (VDA 5050 connection)"
        return f"robot {v.who} sent no VDA 5050 state for {time.monotonic() - v.heard_at:.0f} s"

    # -- for the console ------------------------------------------------------------------------
    @staticmethod
    def factsheet_view(v: VehicleRecord) -> dict[str, Any] | None:
        sheet = v.factsheet
        if sheet is None:
            return None
        dump = sheet.model_dump(mode="json", by_alias=True, exclude_none=True)
        return {"typeSpecification": dump["typeSpecification"], "physicalParameters": dump["physicalParameters"],
                "protocolLimits": dump["protocolLimits"],
                "agvActions": [a.action_type for a in sheet.protocol_features.agv_actions]}

    def status_view(self, v: VehicleRecord) -> dict[str, Any]:
        st = v.state

        def dump(items: list[Any]) -> list[dict[str, Any]]:
            return [i.model_dump(mode="json", by_alias=True, exclude_none=True) for i in items]

        return {"manufacturer": v.manufacturer, "serialNumber": v.serial, "mapId": v.map_id,
                "connection": v.connection, "online": self.online(v), "estopped": v.estopped,
                "orderId": st.order_id if st else None, "orderUpdateId": st.order_update_id if st else None,
                "lastNodeId": st.last_node_id if st else None, "newBaseRequest": v.base_request,
                "errors": dump(st.errors) if st else [], "actionStates": dump(st.action_states) if st else []}
