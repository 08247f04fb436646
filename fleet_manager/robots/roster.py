"""The roster: the robots registered at the site (issue 14), kept in the database.

fleet.yaml seeds it at start-up (its entries are refreshed from the file until an admin edits them);
admins add, edit and retire robots at run time (`POST /robots`, `PATCH /robots/{id}`, `DELETE /robots/{id}`).
A retired robot keeps its row, its missions and its recordings, and is never dispatched again. Every change
replaces the site's fleet (what dispatch, traffic and the pilot watch plan with) and is handed to
`on_change`, so the robot adapters attach to or detach from the robot at once.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from labfleet_sim.fleet_config import (
    ActionSpec,
    FleetConfig,
    MapTransform,
    Pose,
    RobotConfig,
    RobotModel,
    Vda5050Identity,
)
from sqlalchemy import Engine
from sqlmodel import Session, select

from fleet_manager.core.errors import InvalidInput, NotFound
from fleet_manager.db.tables import RobotRegistration
from fleet_manager.robots.schemas import (
    ConnectionIn,
    MapTransformIn,
    RegistrationPublic,
    RobotCreate,
    RobotModelIn,
    RobotUpdate,
)
from fleet_manager.sites.service import Site

log = logging.getLogger(__name__)

ROS_FIELDS = ("namespace",)
NAV2_FIELDS = ("namespace", "tf_topic", "tf_static_topic", "map_frame", "base_frame")
VDA_FIELDS = ("manufacturer", "serial_number", "map_id")
FIELDS_OF = {"labfleet": ROS_FIELDS, "nav2": NAV2_FIELDS, "vda5050": VDA_FIELDS}


@dataclass(frozen=True)
class Registration:
    """A registered robot as the adapters and the planners see it."""

    config: RobotConfig  # model, home, map transform, robot API, VDA 5050 identity (spawn: see `simulated`)
    site: str
    name: str
    connection: dict[str, str] = field(default_factory=dict)
    charger: str | None = None
    source: str = "api"

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def adapter(self) -> str:
        return self.config.robot_api

    @property
    def map_transform(self) -> MapTransform:
        return self.config.map_transform

    @property
    def simulated(self) -> bool:
        """Seeded from fleet.yaml: the built-in simulator spawns it at config.spawn."""
        return self.source == "fleet.yaml"

    @property
    def namespace(self) -> str:
        ns = self.connection.get("namespace") or f"/{self.id}"
        return ns if ns.startswith("/") else f"/{ns}"

    def setting(self, key: str, default: str) -> str:
        return self.connection.get(key) or default


def _now() -> datetime:
    return datetime.now(UTC)


def model_in(model: RobotModel) -> RobotModelIn:
    return RobotModelIn(
        name=model.name, kind=model.kind, radius=model.radius, max_speed=model.max_speed,
        capabilities=list(model.capabilities), battery_capacity_wh=model.battery_capacity_wh, mass_kg=model.mass_kg,
        max_accel=model.max_accel, max_decel=model.max_decel, max_yaw_rate=model.max_yaw_rate,
        max_yaw_accel=model.max_yaw_accel, idle_power_w=model.idle_power_w, drive_power_w=model.drive_power_w,
        actions={n: {"duration_s": a.duration_s, "success_rate": a.success_rate} for n, a in model.actions.items()})


def _model(body: RobotModelIn, lidar: Any = None) -> RobotModel:
    data = body.model_dump()
    data["actions"] = {n: ActionSpec(**a) for n, a in data["actions"].items()}
    if lidar is not None:
        data["lidar"] = lidar
    return RobotModel(**data)


class Roster:
    def __init__(self, engine: Engine, site: Site, on_change: Callable[[list[Registration]], object] | None = None,
                 ) -> None:
        self.engine = engine
        self.site = site
        self.on_change = on_change  # called with the active registrations after every change
        self._active: dict[str, Registration] = {}
        self._lock = threading.Lock()  # one writer at a time (requests run in the thread pool)

    # -- reading --------------------------------------------------------------------------------
    def active(self) -> list[Registration]:
        return list(self._active.values())

    def ids(self) -> set[str]:
        return set(self._active)

    def find(self, robot_id: str) -> Registration | None:
        return self._active.get(robot_id)

    def get(self, robot_id: str) -> Registration:
        found = self._active.get(robot_id)
        if found is None:
            raise NotFound(f"no registered robot {robot_id!r} at site {self.site.name!r}", field="robot_id")
        return found

    def rows(self, include_retired: bool = False) -> list[RegistrationPublic]:
        with Session(self.engine) as session:
            query = select(RobotRegistration).where(RobotRegistration.site == self.site.name)
            if not include_retired:
                query = query.where(RobotRegistration.retired_at.is_(None))  # type: ignore[union-attr]
            return [self._public(row) for row in session.exec(query.order_by(RobotRegistration.id))]

    def row(self, robot_id: str) -> RegistrationPublic:
        with Session(self.engine) as session:
            row = session.get(RobotRegistration, (self.site.name, robot_id))
            if row is None:
                raise NotFound(f"no robot {robot_id!r} was ever registered at site {self.site.name!r}",
                               field="robot_id")
            return self._public(row)

    # -- start-up -------------------------------------------------------------------------------
    def load(self) -> None:
        """Seed from fleet.yaml (new entries are added, unedited ones refreshed), then read the active rows."""
        now = _now()
        with self._lock, Session(self.engine) as session:
            for robot in self.site.fleet.robots:
                if not robot.registered:
                    continue
                row = session.get(RobotRegistration, (self.site.name, robot.id))
                if row is None:
                    row = RobotRegistration(site=self.site.name, id=robot.id, name=robot.id, adapter=robot.robot_api,
                                            source="fleet.yaml", created_at=now, updated_at=now)
                elif row.source != "fleet.yaml" or row.retired_at is not None:
                    continue  # edited or retired by an admin: the database holds it now
                row.adapter, row.config = robot.robot_api, robot.model_dump(mode="json")
                row.charger = robot.home if robot.home in self._chargers() else None
                session.add(row)
            session.commit()
            self._reload(session)

    def _reload(self, session: Session) -> None:
        query = select(RobotRegistration).where(RobotRegistration.site == self.site.name,
                                                RobotRegistration.retired_at.is_(None))  # type: ignore[union-attr]
        self._active = {row.id: self._registration(row) for row in session.exec(query)}
        self.site.fleet = FleetConfig(site=self.site.fleet.site, models=self.site.fleet.models,
                                      robots=[r.config for r in self._active.values()])
        if self.on_change is not None:
            self.on_change(self.active())

    def _registration(self, row: RobotRegistration) -> Registration:
        return Registration(RobotConfig.model_validate(row.config), row.site, row.name,
                            {k: v for k, v in row.connection.items() if v}, row.charger, row.source)

    # -- changes --------------------------------------------------------------------------------
    def create(self, body: RobotCreate, model: RobotModelIn) -> RegistrationPublic:
        """Register `body` with its complete model (factsheet_fill.with_factsheet: body.model may leave fields
        out for a vda5050 robot)."""
        self._check(body.adapter, body.connection, body.home, body.charger)
        now = _now()
        with self._lock, Session(self.engine) as session:
            old = session.get(RobotRegistration, (self.site.name, body.id))
            if old is not None:
                what = "a retired robot" if old.retired_at is not None else "a registered robot"
                raise InvalidInput(f"id {body.id!r} is already taken by {what} of site {self.site.name!r}",
                                   field="id")
            config = self._config(body.id, body.adapter, model, body.map_transform, body.home, body.connection)
            row = RobotRegistration(site=self.site.name, id=body.id, name=body.name or body.id, adapter=body.adapter,
                                    config=config.model_dump(mode="json"),
                                    connection=body.connection.model_dump(exclude_none=True), charger=body.charger,
                                    source="api", created_at=now, updated_at=now)
            session.add(row)
            session.commit()
            self._reload(session)
            log.info("robot %s registered (%s)", body.id, body.adapter)
            return self._public(row)

    def update(self, robot_id: str, body: RobotUpdate) -> RegistrationPublic:
        with self._lock, Session(self.engine) as session:
            row = session.get(RobotRegistration, (self.site.name, robot_id))
            if row is None or row.retired_at is not None:
                raise NotFound(f"no registered robot {robot_id!r} at site {self.site.name!r}", field="robot_id")
            current = self._public(row)
            adapter = body.adapter or current.adapter
            connection = body.connection if body.connection is not None else current.connection
            if body.adapter is not None and body.connection is None:  # the old adapter's settings do not carry over
                connection = ConnectionIn()
            home = None if body.clear_home else (body.home or current.home)
            charger = None if body.clear_charger else (body.charger or current.charger)
            self._check(adapter, connection, home, charger)
            config = self._config(robot_id, adapter, body.model or current.model,
                                  body.map_transform or current.map_transform, home, connection,
                                  lidar=row.config.get("model", {}).get("lidar"),
                                  spawn=row.config.get("spawn") if row.source == "fleet.yaml" else None)
            row.name = body.name or row.name
            row.adapter, row.config, row.charger = adapter, config.model_dump(mode="json"), charger
            row.connection = connection.model_dump(exclude_none=True)
            row.source = "api"  # edited: no longer refreshed from fleet.yaml
            row.updated_at = _now()
            session.add(row)
            session.commit()
            self._reload(session)
            log.info("robot %s edited", robot_id)
            return self._public(row)

    def retire(self, robot_id: str) -> RegistrationPublic:
        """Idempotent: retiring a retired robot returns it unchanged."""
        with self._lock, Session(self.engine) as session:
            row = session.get(RobotRegistration, (self.site.name, robot_id))
            if row is None:
                raise NotFound(f"no registered robot {robot_id!r} at site {self.site.name!r}", field="robot_id")
            if row.retired_at is None:
                row.retired_at = row.updated_at = _now()
                session.add(row)
                session.commit()
                self._reload(session)
                log.info("robot %s retired", robot_id)
            return self._public(row)

    # -- validation -----------------------------------------------------------------------------
    def _chargers(self) -> set[str]:
        return {p.name for p in self.site.navgraph.places.values() if p.kind == "charger"}

    def _check(self, adapter: str, connection: ConnectionIn, home: str | None, charger: str | None) -> None:
        allowed = FIELDS_OF[adapter]
        for key in connection.model_dump(exclude_none=True):
            if key not in allowed:
                raise InvalidInput(f"connection.{key} does not apply to a {adapter} robot (it takes "
                                   f"{', '.join(allowed)})", field=f"connection.{key}")
        places = self.site.navgraph.places
        if home is not None and home not in places:
            raise InvalidInput(f"home: no place {home!r} at site {self.site.name!r}", field="home")
        if charger is not None and charger not in self._chargers():
            raise InvalidInput(f"charger: {charger!r} is not a charger of site {self.site.name!r} (chargers: "
                               f"{', '.join(sorted(self._chargers())) or 'none'})", field="charger")

    def _config(self, robot_id: str, adapter: str, model: RobotModelIn, transform: MapTransformIn,
                home: str | None, connection: ConnectionIn, lidar: Any = None, spawn: Any = None) -> RobotConfig:
        if spawn is None:  # not simulated: the home place stands in until the robot reports
            place = self.site.navgraph.places.get(home) if home else None
            spawn = {"x": place.x, "y": place.y, "yaw": place.yaw or 0.0} if place else {"x": 0.0, "y": 0.0}
        return RobotConfig(id=robot_id, model=_model(model, lidar), spawn=Pose(**spawn), home=home,
                           robot_api=adapter,  # type: ignore[arg-type]  # checked by the schema
                           map_transform=MapTransform(**transform.model_dump()),
                           vda5050=Vda5050Identity(manufacturer=connection.manufacturer or "LabFleet",
                                                   serial_number=connection.serial_number))

    def _public(self, row: RobotRegistration) -> RegistrationPublic:
        config = RobotConfig.model_validate(row.config)
        return RegistrationPublic(
            id=row.id, site=row.site, name=row.name, adapter=row.adapter,
            connection=ConnectionIn(**row.connection), model=model_in(config.model),
            map_transform=MapTransformIn(**config.map_transform.model_dump()), home=config.home,
            charger=row.charger, source=row.source,  # type: ignore[arg-type]  # fleet.yaml | api
            created_at=row.created_at, updated_at=row.updated_at, retired_at=row.retired_at)
