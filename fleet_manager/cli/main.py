"""The `labfleet` command line."""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError

from fleet_manager.auth.startup import StartupError, check_secret
from fleet_manager.cli.accounts import login, user_app
from fleet_manager.cli.client import ApiError, Client, api_url
from fleet_manager.cli.common import ApiOpt
from fleet_manager.cli.common import fail as _fail
from fleet_manager.cli.pilots import PilotNotFound, find_pilot, pilot_app
from fleet_manager.cli.steps import step_line
from fleet_manager.i18n import Lang
from fleet_manager.settings import Settings

app = typer.Typer(help="LabFleet: run a robot living lab.", no_args_is_help=True, add_completion=False)
mission_app = typer.Typer(help="Submit and follow missions.", no_args_is_help=True)
app.add_typer(mission_app, name="mission")
app.add_typer(user_app, name="user")
app.add_typer(pilot_app, name="pilot")
app.command()(login)

DEFAULT_DOMAIN_ID = 23




@app.command()
def up(
    site: Annotated[str, typer.Option(help="site folder under sim_worlds/")] = "living_lab",
    robots: Annotated[int | None, typer.Option(min=1, help="simulate only the first N robots of fleet.yaml")] = None,
    sim: Annotated[str, typer.Option(help="lite (built-in simulator) | gazebo | none (real robots)")] = "lite",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 0,
    speed: Annotated[float, typer.Option(min=0.1, max=20.0, help="built-in simulator: sim seconds per second")] = 1.0,
    demo: Annotated[bool, typer.Option("--demo", help="demo mode: a generated token secret (kept in the data "
                                                      "directory), an admin whose password is printed once")] = False,
    fleet: Annotated[str | None, typer.Option(help="a fleet variant of the site: fleet.NAME.yaml (e.g. nav2, "
                                                   "mixed)")] = None,
    discovery: Annotated[str | None, typer.Option(
        help="ROS discovery: localhost | subnet | server:HOST:PORT (default: LABFLEET_ROS_DISCOVERY)")] = None,
) -> None:
    """Start the lab: simulator, one agent per robot and the fleet manager, supervised (--sim none: only the
    fleet manager, for real robots)."""
    from fleet_manager.cli.lab_up import LabUp  # imports ROS helpers only when needed

    if sim not in ("lite", "gazebo", "none"):
        _fail(f"--sim must be lite, gazebo or none, not {sim!r}", 2)
    if sim == "gazebo":
        missing = [tool for tool in ("gz", "ros2") if shutil.which(tool) is None]
        if missing:
            _fail(f"--sim gazebo needs ROS 2 Jazzy and Gazebo Harmonic; not found on PATH: {', '.join(missing)}", 2)
    overrides: dict[str, Any] = {"site": site}
    if demo:
        overrides["demo"] = True
    if discovery is not None:
        overrides["ros_discovery"] = discovery
    if fleet is not None:
        overrides["fleet"] = fleet
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        _fail(f"bad setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']} (--discovery takes localhost, "
              f"subnet or server:HOST:PORT)", 2)
    if not (settings.site_dir / "navgraph.yaml").exists():
        _fail(f"unknown site {site!r}: no {settings.site_dir / 'navgraph.yaml'}", 2)
    if not settings.fleet_file.exists():
        variants = sorted(p.name.split(".")[1] for p in settings.site_dir.glob("fleet.*.yaml"))
        _fail(f"site {site!r} has no fleet variant {settings.fleet!r} ({settings.fleet_file.name}); variants: "
              f"{', '.join(variants) or 'none'}", 2)
    try:
        check_secret(settings)  # the fleet manager would refuse to start: say so before starting anything
    except StartupError as exc:
        _fail(str(exc), 2)
    lab = LabUp(settings, robots=robots, backend=sim, port=port, seed=seed, speed=speed,
                domain_id=int(os.environ.get("ROS_DOMAIN_ID", DEFAULT_DOMAIN_ID)))
    raise typer.Exit(lab.run())


def _parse_params(params: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--param takes KEY=VALUE, got {item!r}", 2)
        out[key] = yaml.safe_load(value) if value else ""
    return out


def _print_mission(m: dict[str, Any]) -> None:
    robot = m.get("robot_id") or "-"
    line = f"mission {m['id']}: {m['status']} (robot {robot})"
    if m.get("failure_reason"):
        line += f" reason: {m['failure_reason']}"
    typer.echo(line)


@mission_app.command("submit")
def mission_submit(
    what: Annotated[str, typer.Argument(help="a template name, or a YAML/JSON file with a spec or a template")],
    param: Annotated[list[str] | None, typer.Option("--param", "-p", help="template parameter KEY=VALUE")] = None,
    robot: Annotated[str | None, typer.Option(help="run on this robot")] = None,
    priority: Annotated[str, typer.Option(help="low | normal | high | emergency")] = "normal",
    wait: Annotated[bool, typer.Option("--wait/--no-wait", help="follow the mission until it ends")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait with --wait")] = 600.0,
    api: ApiOpt = None,
) -> None:
    """Submit a mission from a template or a file; with --wait, exit 0 only if it completes."""
    params = _parse_params(param or [])
    path = Path(what)
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        if not path.is_file():
            _fail(f"no such file: {path}", 2)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            _fail(f"{path}: {exc}", 2)
        if not isinstance(data, dict):
            _fail(f"{path}: expected a mapping with 'steps' or 'template'", 2)
        body: dict[str, Any] = {"template": data["template"], "params": {**(data.get("params") or {}), **params}} \
            if "template" in data else {"spec": {"steps": data.get("steps")}}
    else:
        body = {"template": what, "params": params}
    body["priority"] = priority
    if robot:
        body["robot_id"] = robot
    client = Client(api_url(api))
    try:
        mission = client.submit(body)
    except ApiError as exc:
        if exc.status and path.is_file():
            _fail(f"mission refused: {_file_error(path, exc)}", 1)
        _fail(f"mission refused: {exc.detail if exc.status else exc}", 1)
    _print_mission(mission)
    if wait:
        _follow(client, mission["id"], timeout, mission["status"])


def _follow(client: Client, mission_id: int, timeout: float, last: str | None = None,
            poll_s: float = 0.5) -> None:
    """Print the mission's status and each step's as they change, until it ends (exit 0 if it completed)."""
    deadline = time.monotonic() + timeout
    steps: dict[int, str] = {}
    while time.monotonic() < deadline:
        m = client.mission(mission_id)
        if m["status"] != last:
            _print_mission(m)
            last = m["status"]
        for step in m.get("steps") or []:
            if steps.get(step["index"], "pending") != step.get("status", "pending"):
                steps[step["index"]] = step.get("status", "pending")
                typer.echo(step_line(mission_id, step))
        if m["status"] in ("completed", "failed", "canceled"):
            raise typer.Exit(0 if m["status"] == "completed" else 1)
        time.sleep(poll_s)
    _fail(f"mission {mission_id} did not end within {timeout:g} s", 1)


@mission_app.command("schema")
def mission_schema_cmd() -> None:
    """Print the JSON Schema of mission files (templates and specs)."""
    from fleet_manager.core.mission_files import mission_schema

    typer.echo(json.dumps(mission_schema(), indent=2))


@mission_app.command("validate")
def mission_validate(
    files: Annotated[list[Path], typer.Argument(help="template or spec files (YAML)")],
    site: Annotated[str, typer.Option(help="check places against this site's navgraph")] = "living_lab",
) -> None:
    """Check mission files; errors name the file, the line and the field. Exit 1 if any is invalid."""
    from fleet_manager.core.mission_files import MissionFileError, check_mission_file
    from fleet_manager.core.navgraph import NavGraphError, load_navgraph

    settings = Settings(site=site)
    try:
        graph = load_navgraph(settings.site_dir / "navgraph.yaml")
    except NavGraphError as exc:
        _fail(str(exc), 2)
    bad = 0
    for path in files:
        try:
            summary, _ = check_mission_file(path, graph)
        except MissionFileError as exc:
            typer.echo(str(exc), err=True)
            bad += 1
        else:
            typer.echo(f"{path}: ok ({summary})")
    if bad:
        raise typer.Exit(1)


def _file_error(path: Path, exc: ApiError) -> str:
    """An API refusal of a mission read from a file, pointed at the file's line when the API names a field."""
    from fleet_manager.core.mission_files import line_of, yaml_with_lines

    field = exc.field.removeprefix("spec.") if exc.field else None
    line = line_of(yaml_with_lines(path.read_text())[1], field) if field else None
    return f"{path}:{line}: {exc.detail}" if line else f"{path}: {exc.detail}"


@mission_app.command("status")
def mission_status(
    mission_id: int,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole mission as JSON")] = False,
    api: ApiOpt = None,
) -> None:
    """Show a mission: status, robot, route, timings and events."""
    try:
        m = Client(api_url(api)).mission(mission_id)
    except ApiError as exc:
        _fail(str(exc.detail if exc.status else exc))
    if as_json:
        typer.echo(json.dumps(m, indent=2))
        return
    _print_mission(m)
    typer.echo(f"  route: {' -> '.join(m['route']) or '-'}")
    typer.echo(f"  created {m['created_at']}  started {m['started_at'] or '-'}  ended {m['ended_at'] or '-'}")
    for e in m.get("events") or []:
        typer.echo(f"  {e['time']}  {e['kind']:<6} {e['status'] or '':<10} {e['message']}")


@mission_app.command("cancel")
def mission_cancel(mission_id: int, api: ApiOpt = None) -> None:
    """Cancel a mission (a no-op on a mission that already ended)."""
    try:
        _print_mission(Client(api_url(api)).cancel(mission_id))
    except ApiError as exc:
        _fail(str(exc.detail if exc.status else exc))


@mission_app.command("pause")
def mission_pause(mission_id: int, api: ApiOpt = None) -> None:
    """Pause a mission that is underway: the robot holds where it is."""
    _act(mission_id, "pause", None, api)


@mission_app.command("resume")
def mission_resume(mission_id: int, api: ApiOpt = None) -> None:
    """Resume a paused mission."""
    _act(mission_id, "resume", None, api)


@mission_app.command("confirm")
def mission_confirm(
    mission_id: int,
    by: Annotated[str | None, typer.Option(help="who confirms, e.g. the recipient")] = None,
    api: ApiOpt = None,
) -> None:
    """Confirm the mission's step that waits for a confirmation (e.g. receipt of a delivery)."""
    _act(mission_id, "confirm", {"by": by} if by else {}, api)


def _act(mission_id: int, verb: str, body: dict[str, Any] | None, api: str | None) -> None:
    try:
        _print_mission(Client(api_url(api)).act(mission_id, verb, body))
    except ApiError as exc:
        _fail(str(exc.detail if exc.status else exc))


def write_report(client: Client, pilot_id: str, out: Path | None, csv_out: Path | None,
                 lang: str = "en") -> list[Path]:
    """Fetch the pilot's HTML report in `lang` (and with `csv_out` its missions as CSV) and write them; the paths
    written."""
    out = out or Path(f"pilot-{pilot_id}-report.html")
    page = client.pilot_report(pilot_id, lang)
    table = client.pilot_report_csv(pilot_id) if csv_out is not None else None
    out.write_text(page, encoding="utf-8")
    written = [out]
    if csv_out is not None and table is not None:
        csv_out.write_text(table, encoding="utf-8")
        written.append(csv_out)
    return written


@app.command()
def report(
    pilot: Annotated[str, typer.Argument(help="the pilot's id or name (`labfleet pilot list` shows them)")],
    out: Annotated[Path | None, typer.Option("--out", "-o", help="HTML file [pilot-ID-report.html]")] = None,
    csv_out: Annotated[Path | None, typer.Option("--csv", help="also write every mission run as CSV here")] = None,
    lang: Annotated[Lang, typer.Option("--lang", help="the report's language: en or ko")] = "en",
    api: ApiOpt = None,
) -> None:
    """Write a pilot's report: one self-contained HTML page (summary, KPIs, targets, trends, charts, site map,
    robots), in English or Korean."""
    client = Client(api_url(api))
    try:
        pilot_id = find_pilot(client.pilots(), pilot)["id"]
        written = write_report(client, pilot_id, out, csv_out, lang)
    except PilotNotFound as exc:
        _fail(str(exc))
    except ApiError as exc:
        _fail(str(exc.detail if exc.status else exc))
    except OSError as exc:
        _fail(f"cannot write the report: {exc}")
    for path in written:
        typer.echo(f"wrote {path}")


class _ReplayClient(Client):
    """The replay calls (they belong in cli/client.py's Client once it is free to change)."""

    def replay(self, mission_id: int, overrides: dict[str, str], wait_s: float) -> dict[str, Any]:
        result: dict[str, Any] = self._call("POST", f"/missions/{mission_id}/replay", json={"overrides": overrides},
                                            params={"wait": wait_s}, timeout=wait_s + 30.0)
        return result

    def get_replay(self, replay_id: int) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/replays/{replay_id}")
        return result


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.2f}{unit}" if isinstance(value, float) else f"{value}{unit}"


def format_replay(r: dict[str, Any]) -> list[str]:
    """A replay as text: the figures of each mission side by side, path deviation, events that moved, KPIs."""
    lines = [f"replay {r['id']} of mission {r['mission_id']}: {r['status']}"
             + (f" ({r['error']})" if r.get("error") else "")]
    if r.get("overrides"):
        lines.append("  overrides: " + ", ".join(f"{k}={v}" for k, v in r["overrides"].items()))
    if r.get("sim_s") is not None:
        lines.append(f"  re-simulated {_fmt(r['sim_s'], ' s')} of sim time in {_fmt(r['wall_s'], ' s')} "
                     f"({_fmt(r.get('speedup'), 'x')} real time), seed {r.get('seed')}")
    comparison = r.get("comparison") or {}
    for m in comparison.get("missions", []):
        a, b, path = m["original"], m["replay"], m["path"]
        lines.append(f"  mission {m['mission_id']}            original      replay       delta")
        lines.append(f"    robot               {a['robot_id']:<13} {b['robot_id']:<12}")
        lines.append(f"    outcome             {a['outcome']:<13} {b['outcome']:<12}")
        lines.append(f"    duration (s)        {_fmt(a['duration_s']):<13} {_fmt(b['duration_s']):<12} "
                     f"{_fmt(m['delta']['duration_s'])}")
        lines.append(f"    distance (m)        {_fmt(a['distance_m']):<13} {_fmt(b['distance_m']):<12} "
                     f"{_fmt(m['delta']['distance_m'])}")
        lines.append(f"    energy (Wh)         {_fmt(a['energy_wh']):<13} {_fmt(b['energy_wh']):<12}")
        lines.append(f"    path deviation      Frechet {_fmt(path['frechet_m'], ' m')}, DTW mean "
                     f"{_fmt(path['dtw_mean_m'], ' m')} (resampled every {_fmt(path['spacing_m'], ' m')})")
        moved = [e for e in m["events"] if e["delta_s"] is None or abs(e["delta_s"]) >= 0.5]
        for e in moved[:20]:
            lines.append(f"    step {e['step_index']} {e['status']:<22} {_fmt(e['original_t'], ' s'):<13} "
                         f"{_fmt(e['replay_t'], ' s'):<12} {_fmt(e['delta_s'], ' s')}")
    kpis = comparison.get("kpis")
    if kpis:
        lines.append("  KPIs                  original      replay")
        for name, value in kpis["original"].items():
            lines.append(f"    {name:<19} {_fmt(value):<13} {_fmt(kpis['replay'].get(name))}")
    return lines


@app.command()
def replay(
    mission_id: Annotated[int, typer.Argument(help="the recorded mission to re-simulate")],
    override: Annotated[list[str] | None, typer.Option(
        "--override", "-o", help="what-if KEY=VALUE: max_speed, max_accel, ROBOT.PARAM, world, seed, robot, "
        "allocation=auto, battery_reserve_pct, speed_factor, confirm_delay, events=off")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the whole replay as JSON")] = False,
    timeout: Annotated[float, typer.Option(help="seconds to wait for the result")] = 600.0,
    api: ApiOpt = None,
) -> None:
    """Re-simulate a recorded mission faster than real time and compare it with the original run."""
    overrides: dict[str, str] = {}
    for item in override or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"--override takes KEY=VALUE, got {item!r}", 2)
        overrides[key] = value
    client = _ReplayClient(api_url(api))
    try:
        r = client.replay(mission_id, overrides, min(timeout, 600.0))
        deadline = time.monotonic() + timeout
        while r["status"] == "running" and time.monotonic() < deadline:
            time.sleep(1.0)
            r = client.get_replay(r["id"])
    except ApiError as exc:
        _fail(str(exc.detail if exc.status else exc))
    if as_json:
        typer.echo(json.dumps(r, indent=2))
    else:
        for line in format_replay(r):
            typer.echo(line)
    if r["status"] != "done":
        raise typer.Exit(1)


def main() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()


if __name__ == "__main__":
    main()
