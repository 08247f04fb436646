"""The running lab: every long-lived part of the fleet manager, built at start-up (never at import)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections import Counter
from dataclasses import dataclass, field

from labfleet_robot import command_auth
from sqlalchemy import Engine

from fleet_manager.adapters.base import RobotLink
from fleet_manager.adapters.labfleet import LabfleetAdapter
from fleet_manager.adapters.nav2 import Nav2Adapter
from fleet_manager.adapters.vda5050 import Vda5050Adapter
from fleet_manager.alerts.service import AlertService
from fleet_manager.alerts.watch import AlertWatch
from fleet_manager.audit.entries import forged_contact_entry
from fleet_manager.audit.reported import ReportedCommands
from fleet_manager.audit.writer import AuditWriter
from fleet_manager.auth.service import AuthService
from fleet_manager.auth.startup import bootstrap_admin, jwt_secret
from fleet_manager.cluster.mirror import MirroredRegistry
from fleet_manager.core.robots import Command, CommandReport, CommandResult, RobotMode, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.db.engine import bind_site, make_engine, upgrade
from fleet_manager.db.retry import unreachable
from fleet_manager.missions.dispatcher import Dispatcher
from fleet_manager.missions.service import MissionService
from fleet_manager.pilots.automatic import PilotMonitor
from fleet_manager.recording.service import RecordingService
from fleet_manager.recording.taps import RobotTaps
from fleet_manager.replay.queue import ReplayQueue
from fleet_manager.replay.service import recordings_dir
from fleet_manager.robots import repository as robot_repository
from fleet_manager.robots.roster import Registration, Roster
from fleet_manager.robots.service import RobotRegistry
from fleet_manager.ros.bridge import RosBridge
from fleet_manager.schedules.service import ScheduleService
from fleet_manager.settings import Settings
from fleet_manager.sites.service import Site, SiteCatalog
from fleet_manager.telemetry.hub import TelemetryHub

log = logging.getLogger(__name__)

ROBOT_SAVE_PERIOD_S = 10.0


@dataclass
class Lab:
    settings: Settings
    engine: Engine
    site: Site
    templates: TemplateLibrary
    hub: TelemetryHub
    registry: RobotRegistry
    missions: MissionService
    dispatcher: Dispatcher
    bridge: RosBridge | None
    schedules: ScheduleService
    pilots: PilotMonitor
    roster: Roster  # the robots registered at the site (fleet.yaml seeds it; admins change it at run time)
    robots: RobotLink  # every call to a robot, through its adapter (labfleet, nav2, vda5050)
    alerts: AlertService  # what operators must see: raised, cleared, acknowledged (alerts/)
    recordings: RecordingService | None = None  # every mission run recorded (settings.recording_enabled)
    auth: AuthService | None = None  # accounts and tokens: every endpoint but health and login needs one
    audit: AuditWriter | None = None  # the audit log's writer (requests and robot commands)
    replays: ReplayQueue | None = None  # re-simulations, in turn (replay/queue.py)
    reported_commands: ReportedCommands | None = None  # commands robots report that we did not send, audited
    role: str = "single"  # single | leader | standby | replica (cluster/node.py)
    streams: Counter[str] = field(default_factory=Counter)  # open live streams per user (telemetry/endpoints.py)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _offline: set[str] = field(default_factory=set)
    _save_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    async def start(cls, settings: Settings, hub: TelemetryHub | None = None) -> Lab:
        """Everything: the lab of one process, or the site's elected leader (a standby's `hub` kept: its websocket
        clients stream on)."""
        loop = asyncio.get_running_loop()
        secret = jwt_secret(settings)  # refuses the default secret outside demo mode, before anything starts
        engine = make_engine(settings.database_url)
        bind_site(engine, settings.site)  # every query of this lab sees its site's records only (db/scope.py)
        await asyncio.to_thread(upgrade, engine)
        await asyncio.to_thread(bootstrap_admin, engine, settings)
        site = Site.load(settings.site_dir, settings.fleet_file)
        roster = Roster(engine, site)
        await asyncio.to_thread(roster.load)  # the site's fleet is the registered robots from here on
        templates = TemplateLibrary.load(settings.missions_dir)
        hub = hub or TelemetryHub(loop, settings.telemetry_hz)
        registry = RobotRegistry(settings.robot_timeout_s)
        pilots = PilotMonitor.for_site(engine, SiteCatalog(settings.sites_dir, site.name), site,
                                       registry.assignments.get)
        holder: list[Lab] = []
        bridge = None
        key = command_key(settings) if settings.ros_enabled else None  # signs commands, checks contacts
        if settings.ros_enabled:
            bridge = RosBridge(loop, lambda batch: holder[0].robots.states("labfleet", batch),
                               use_sim_time=settings.use_sim_time, on_contact=pilots.on_contact,
                               on_pedestrians=pilots.on_pedestrians,
                               discovery=settings.ros_discovery,
                               on_command_report=lambda report: holder[0].on_command_report(report),
                               contact_key=key,
                               on_forged_contact=lambda *forged: holder[0].on_forged_contact(*forged))
        robots = RobotLink(bridge.now if bridge else lambda: None, lambda batch: holder[0].on_ros_states(batch),
                           on_task_state=pilots.on_task_state, adapter_of=registry.adapter_of)
        missions = MissionService(engine, site, templates, hub, robots.now)
        dispatcher = Dispatcher(missions, registry, robots if bridge else None, settings)
        schedules = ScheduleService(missions)
        dispatcher.before_round = schedules.due_check()
        lab = cls(settings, engine, site, templates, hub, registry, missions, dispatcher, bridge, schedules, pilots,
                  roster, robots, AlertService(engine, site.name, hub))
        holder.append(lab)
        lab.auth = AuthService.from_settings(engine, secret, settings)
        lab.audit = dispatcher.audit = AuditWriter(engine)
        lab.replays = replay_queue(engine, settings)
        await asyncio.to_thread(lab.replays.recover)
        lab.audit.start()
        if bridge is not None:
            signer = command_auth.Signer(key, bridge.node_name)
            lab.reported_commands = ReportedCommands(lab.audit, signer.sent)
            bridge.start()
            robots.use(LabfleetAdapter(bridge, signer))
            robots.use(Nav2Adapter(bridge, robots.states, robots.announce))
        vda5050 = Vda5050Adapter(settings, robots.states, robots.announce, clock=robots.now) \
            if settings.vda5050_enabled else None
        if vda5050 is not None:
            robots.use(vda5050)
        # the registered robots, before the loop handles any robot state (no await since the bridge started):
        # a registered robot is never taken for an unregistered one
        lab._apply_roster(roster.active())
        roster.on_change = lambda active: loop.call_soon_threadsafe(lab._apply_roster, active)
        if vda5050 is not None:
            await vda5050.start()
        if settings.recording_enabled:
            taps = RobotTaps(bridge, settings.recording_scan_hz) if bridge is not None else None
            lab.recordings = RecordingService(settings, hub, missions, registry, taps, lab.sim_now)
            await lab.recordings.start()
        lab._tasks = [
            asyncio.create_task(lab._recover_then_dispatch(), name="dispatcher"),
            asyncio.create_task(lab._watch_robots(), name="robot-watch"),
            asyncio.create_task(AlertWatch(lab.alerts, registry, dispatcher.runs, settings.alert_battery_pct).run(),
                                name="alert-watch"),
        ]
        log.info("lab %s started: %d places, %d templates, %d registered robots", site.name,
                 len(site.navgraph.places), len(templates.all()), len(roster.active()))
        return lab

    @classmethod
    async def start_replica(cls, settings: Settings) -> Lab:
        """A replica (or a standby): the database's records and the hub, fed by the leader (cluster/bus.py). No
        ROS bridge, adapter, dispatcher, recorder or watch runs; writes go to the leader (cluster/forward.py)."""
        loop = asyncio.get_running_loop()
        secret = jwt_secret(settings)
        engine = make_engine(settings.database_url)
        bind_site(engine, settings.site)
        await asyncio.to_thread(upgrade, engine)  # (a no-op once the leader has migrated it)
        site = Site.load(settings.site_dir, settings.fleet_file)
        roster = Roster(engine, site)
        await asyncio.to_thread(roster.load)
        templates = TemplateLibrary.load(settings.missions_dir)
        hub = TelemetryHub(loop, settings.telemetry_hz)
        registry = MirroredRegistry(hub, settings.robot_timeout_s)
        registry.set_registered(registered_of(roster.active()))  # (as at its start: later ones once streamed)
        pilots = PilotMonitor.for_site(engine, SiteCatalog(settings.sites_dir, site.name), site,
                                       registry.assignments.get)
        robots = RobotLink(lambda: None, lambda batch: None, on_task_state=pilots.on_task_state,
                           adapter_of=registry.adapter_of)
        missions = MissionService(engine, site, templates, hub, robots.now)
        dispatcher = Dispatcher(missions, registry, None, settings)  # (never run: its reads are the leader's)
        lab = cls(settings, engine, site, templates, hub, registry, missions, dispatcher, None,
                  ScheduleService(missions), pilots, roster, robots, AlertService(engine, site.name, hub),
                  role="replica")
        lab.auth = AuthService.from_settings(engine, secret, settings)
        lab.audit = AuditWriter(engine)  # (logins and refreshes, served here)
        lab.replays = replay_queue(engine, settings)
        lab.audit.start()
        log.info("lab %s started as a replica: %d registered robots", site.name, len(roster.active()))
        return lab

    @property
    def leads(self) -> bool:
        """This process runs the robots (alone, or as the elected leader)."""
        return self.role in ("single", "leader")

    def _apply_roster(self, active: list[Registration]) -> None:
        """On the event loop, after every roster change: adapters, dispatch, traffic and the watch follow."""
        self.robots.set_robots(active)
        self.registry.set_registered(registered_of(active))
        self.dispatcher.fleet_changed()
        self.pilots.refresh(self.site)
        self.dispatcher.wake()

    @property
    def catalog(self) -> SiteCatalog:
        """Every site (pilots may be set up for any of them), this one active."""
        return SiteCatalog(self.settings.sites_dir, self.site.name)

    def sim_now(self) -> float | None:
        """The fleet manager's ROS clock (sim time when simulated); None without the bridge or a clock."""
        return self.robots.now()

    async def _recover_then_dispatch(self) -> None:
        try:
            await self.dispatcher.recover()
        except Exception:
            log.exception("could not reconcile the missions in flight at start-up")
        await self.dispatcher.run()

    async def stop(self, close_hub: bool = True) -> None:
        """Everything stopped; the hub left open with `close_hub` False (a standby's, the new leader's now)."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if close_hub:
            self.hub.close()
        await self.dispatcher.stop()
        await self.robots.close()
        if self.recordings is not None:
            await self.recordings.stop()
        if self.bridge is not None:
            await asyncio.to_thread(self.bridge.stop)
        await asyncio.to_thread(self.pilots.close)
        if self.leads:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._save_robots)
        if self.audit is not None:
            await asyncio.to_thread(self.audit.stop)
        self.engine.dispose()

    def on_states(self, batch: list[RobotReport]) -> None:
        """On the event loop: newest state per robot into the registry and out to the websocket."""
        new_robot = False
        for report in batch:
            new_robot |= self.registry.update(report)
            self._offline.discard(report.id)
            self.hub.publish_state(report.id, self.registry.view(report.id))
        if self.recordings is not None:
            self.recordings.on_states(batch)
        if new_robot:
            self.dispatcher.wake()
            asyncio.get_running_loop().run_in_executor(None, self._save_robots_logged)

    def on_command_report(self, report: CommandReport) -> None:
        """On the event loop: a command a labfleet robot reports it received (audited unless we sent it)."""
        if self.reported_commands is not None:
            self.reported_commands.on_report(report)

    def on_forged_contact(self, robot_id: str, other: str, why: str) -> None:
        """On the event loop: a contact the lab's simulator did not sign, refused by the bridge: audited."""
        if self.audit is not None:
            self.audit.submit(forged_contact_entry(robot_id, other, why))

    def on_ros_states(self, batch: list[RobotReport]) -> None:
        """A batch from the ROS bridge: into the registry and the websocket, then to the pilot watch."""
        self.on_states(batch)
        self.pilots.on_states(batch)

    async def command(self, robot_id: str, command: Command, reason: str = "") -> tuple[CommandResult, str]:
        """An operator's command to a robot; an e-stop is also an intervention and an incident of its pilot.
        Every command a robot answers goes into the recordings of its missions, at the sim time it was sent."""
        self.registry.entry(robot_id)  # 404 for a robot never seen
        sent_at = self.sim_now()
        recordings = self.recordings.recordings_of(robot_id) if self.recordings is not None else ()
        carrying_out = self.registry.assignments.get(robot_id)  # its recording may not have opened yet
        if command is not Command.ESTOP:
            result, message = await self.robots.command(robot_id, command, reason)
        else:
            self.pilots.expect_estop(robot_id)
            result = CommandResult.UNAVAILABLE
            try:
                result, message = await self.robots.command(robot_id, command, reason)
            finally:
                self.pilots.operator_estop(robot_id, result is CommandResult.OK, self.sim_now(), reason)
        if self.recordings is not None and (recordings or carrying_out is not None):
            self.recordings.record_command(recordings, robot_id, str(command), str(result), sim_time=sent_at,
                                           message=message, reason=reason, mission_id=carrying_out)
        if self.audit is not None:
            self.audit.record_command(robot_id, command, result, message, reason)
        return result, message

    def _save_robots(self) -> None:
        with self._save_lock:  # one writer at a time: a robot row is inserted once
            seen = [(self.registry.entry(rid).report, self.registry.entry(rid).last_seen)
                    for rid in self.registry.ids()]
            robot_repository.save_seen(self.engine, self.site.name, seen)

    def _save_robots_logged(self) -> None:
        try:
            self._save_robots()
        except Exception:
            log.exception("could not save robot states")

    async def _watch_robots(self) -> None:
        """Announce robots that went silent (mode offline) and keep the robot rows fresh."""
        since_save = 0.0
        while True:
            await asyncio.sleep(0.5)
            since_save += 0.5
            for rid in self.registry.ids():
                if self.registry.mode(rid) is RobotMode.OFFLINE and rid not in self._offline:
                    self._offline.add(rid)
                    log.warning("robot %s is offline (no state for %.1f s)", rid, self.registry.timeout_s)
                    self.hub.publish_state(rid, self.registry.view(rid))
            try:
                await self.dispatcher.watch_holds()
            except Exception:
                log.exception("holding or resuming the missions of e-stopped or unlocalised robots failed")
            if since_save >= ROBOT_SAVE_PERIOD_S and self.registry.ids():
                since_save = 0.0
                try:
                    await asyncio.to_thread(self._save_robots)
                except Exception as exc:
                    if not unreachable(exc):
                        log.exception("could not save robot states")
                    else:  # the next period saves them again: one line, not a traceback every period
                        log.warning("could not save robot states: the database is out of reach (%s)",
                                    type(exc).__name__)


def registered_of(active: list[Registration]) -> dict[str, tuple[str, str, str, str]]:
    """The registry's view of the roster's active robots: id -> (name, adapter, kind, model)."""
    return {r.id: (r.name, r.adapter, r.config.model.kind, r.config.model.name) for r in active}


def replay_queue(engine: Engine, settings: Settings) -> ReplayQueue:
    return ReplayQueue(engine, settings.database_url, settings.sites_dir,
                       recordings_dir(settings.data_dir, settings.recordings_dir),
                       workers=settings.replay_workers, per_user=settings.replay_queue_per_user,
                       per_site=settings.replay_queue_per_site)


def command_key(settings: Settings) -> bytes | None:
    """The lab's robot command key (labfleet_robot/command_auth.py); None, said loudly, when there is none: the
    labfleet robots then refuse every command of ours but e-stop and pause."""
    environ = {}
    if settings.command_key_file is not None:
        environ[command_auth.KEY_FILE_ENV] = str(settings.command_key_file)
    elif settings.command_key is not None:
        environ[command_auth.KEY_ENV] = settings.command_key.get_secret_value()
    key = command_auth.load_key(environ)
    if key is None:
        log.warning("no robot command key (LABFLEET_COMMAND_KEY_FILE): labfleet robots will refuse resume, "
                    "release and dock, and report every command unauthenticated")
    return key
