"""Recordings of lock-step runs, written as the live lab writes a mission's recording (same recorder, same
topics, the replay metadata of initial_state.py, the mission service's events): originals to replay in
tests and benchmarks, or research scenarios made without the live lab.

Per physics step the robots of the missions are recorded on /<id>/odom, as the simulator publishes it: odometry
in the robot's odom frame, zero where it started (REP 105; the metadata's spawn_poses say where that is on the
site); at 10 Hz their robot states (site frame) and commands; at 1 Hz their batteries; their scans at the
recorder's scan rate.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fleet_manager.core.missions import expand
from fleet_manager.core.robots import MODE_BY_CODE, RobotReport
from fleet_manager.core.templates import TemplateLibrary
from fleet_manager.recording import MissionRecorder, RecorderOptions, RecordingStats
from fleet_manager.replay.initial_state import InitialState, MissionStart, RobotStart, replay_metadata
from fleet_manager.replay.lockstep import LockstepSite
from fleet_manager.replay.reader import SPAWN_POSES
from fleet_manager.replay.resim import resimulate
from fleet_manager.replay.runs import Run
from fleet_manager.sites.service import Site

STATE_EVERY = 2  # physics steps per robot state and command (10 Hz)
BATTERY_EVERY = 20  # physics steps per battery state (1 Hz)
WALL_EPOCH = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@dataclass(frozen=True)
class PlannedMission:
    mission_id: int
    robot_id: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)
    start_s: float = 0.0  # after the run's start


def template_steps(templates: TemplateLibrary, site: Site, template: str, params: Mapping[str, Any]
                   ) -> list[dict[str, Any]]:
    """A template's steps as the mission service stores them (patrols unrolled, indexed)."""
    _, steps = templates.get(template).instantiate(dict(params), set(site.navgraph.places),
                                                   zones=set(site.cleaning_zones))
    return [{"index": i, **s.to_dict()} for i, s in enumerate(expand(steps))]


class _Recorder:
    """An Observer (resim.py) that writes what it sees with a MissionRecorder."""

    def __init__(self, recorder: MissionRecorder, site: Site, robots: Sequence[str]) -> None:
        self.rec, self.robots = recorder, list(robots)
        self.models = {r.id: r.model for r in site.fleet.robots}

    def event(self, event: dict[str, Any]) -> None:
        self.rec.record_event(round(float(event["sim_time"]) * 1e9), event)

    def stepped(self, site: LockstepSite) -> None:
        t_ns = round(site.now * 1e9)
        for rid in self.robots:
            body, odom = site.sim.bodies[rid], site.sim.frames[rid]
            self.rec.record_odom(t_ns, rid, odom.x, odom.y, odom.yaw, body.v, body.w)
        if site.steps % STATE_EVERY == 0:
            for rid in self.robots:
                self._state(site, rid, t_ns)
        if site.steps % BATTERY_EVERY == 0:
            for rid in self.robots:
                body = site.sim.bodies[rid]
                self.rec.record_battery(t_ns, rid, body.battery_percentage, body.charging)

    def _state(self, site: LockstepSite, rid: str, t_ns: int) -> None:
        body, driver = site.sim.bodies[rid], site.drivers[rid]
        agent, model = driver.agent, self.models[rid]
        feedback = agent.feedback()
        self.rec.record_state(t_ns, RobotReport(
            rid, model.kind, model.name, MODE_BY_CODE[int(agent.mode)],
            body.x, body.y, body.yaw, body.v, body.w, body.battery_percentage, body.charging, driver.task_id,
            feedback.progress if feedback else 0.0, (), site.now, WALL_EPOCH.timestamp() + site.now))
        self.rec.record_cmd_vel(t_ns, rid, body.cmd_v, body.cmd_w)
        if driver.scan is not None:
            ranges, angles = driver.scan
            a: Any = angles
            self.rec.record_scan(t_ns, rid, ranges, angle_min=float(a[0]),  # type: ignore[arg-type]
                                 angle_increment=float(a[1] - a[0]), range_min=0.05,
                                 range_max=model.lidar.range_max, scan_time=0.1)


def record_lockstep_run(bag: Path, sites_dir: Path, site_name: str, missions: Sequence[PlannedMission],
                        templates: TemplateLibrary, *, seed: int = 0, sim_start_ns: int = 0,
                        events: Sequence[Mapping[str, Any]] = (), confirm_delay_s: float = 0.0,
                        max_run_s: float | None = None, options: RecorderOptions | None = None
                        ) -> tuple[Run, RecordingStats]:
    """Run `missions` in lock-step from the site's spawn poses, with the injected `events` (initial_state.py's
    forms, or the mission service's pauses; each with a "sim_time"), every confirmation given
    `confirm_delay_s` after it is asked for, and record it as the live lab would. The first mission is the
    recording's mission; the others run alongside. Returns the run and the recording's figures."""
    site = Site.load(sites_dir / site_name)
    start_s = sim_start_ns / 1e9
    robots = {r.id: RobotStart(r.spawn.x, r.spawn.y, r.spawn.yaw, r.battery) for r in site.fleet.robots}
    starts = [MissionStart(m.mission_id, m.robot_id, template_steps(templates, site, m.template, m.params),
                           start_s + m.start_s, m.template, templates.get(m.template).robot_kind,
                           templates.get(m.template).capabilities) for m in missions]
    main = missions[0]
    meta = replay_metadata(mission_id=main.mission_id, site=site_name, robot_id=main.robot_id, template=main.template,
                           params=main.params, steps=starts[0].steps, robots=robots, seed=seed,
                           sim_start_ns=sim_start_ns, wall_start=WALL_EPOCH, robot_kind=starts[0].robot_kind,
                           capabilities=starts[0].capabilities, settings={"battery_reserve_pct": 10.0},
                           others=starts[1:])
    # the lock-step simulator starts the robots at these poses: their odometry is zero there
    meta[SPAWN_POSES] = json.dumps({rid: {"x": r.x, "y": r.y, "yaw": r.yaw} for rid, r in robots.items()},
                                   separators=(",", ":"))
    initial = InitialState.from_metadata(meta)
    recorder = MissionRecorder(bag, meta, options or RecorderOptions(in_process=True))
    try:
        timed = [{**e, "t": float(e["sim_time"])} for e in events]
        run = resimulate(initial, timed, sites_dir, {"confirm_delay": confirm_delay_s}, max_run_s=max_run_s,
                         observer=_Recorder(recorder, site, list(dict.fromkeys(m.robot_id for m in missions))))
    finally:
        stats = recorder.close()
    return run, stats
