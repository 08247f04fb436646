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
from fleet_manager.cli.accounts import login, logout, user_app
from fleet_manager.cli.client import ApiError, Client, api_url
from fleet_manager.cli.common import LANG_HELP, ApiOpt, LangError, api_problem, cli_lang, pad
from fleet_manager.cli.common import fail as _fail
from fleet_manager.cli.pilots import PilotNotFound, find_pilot, pilot_app
from fleet_manager.cli.sites import site_app
from fleet_manager.cli.steps import step_line
from fleet_manager.i18n import Lang, t
from fleet_manager.settings import Settings

app = typer.Typer(help=f"LabFleet: run a robot living lab.\n\n{LANG_HELP}", no_args_is_help=True,
                  add_completion=False)
mission_app = typer.Typer(help="Submit and follow missions.", no_args_is_help=True)
app.add_typer(mission_app, name="mission")
app.add_typer(user_app, name="user")
app.add_typer(pilot_app, name="pilot")
app.add_typer(site_app, name="site")
app.command()(login)
app.command()(logout)

DEFAULT_DOMAIN_ID = 23


@app.callback()
def _check_lang() -> None:
    """Refuse a LABFLEET_LANG the CLI does not speak before any command runs (rather than ignore it)."""
    try:
        cli_lang()
    except LangError as exc:
        _fail(str(exc), 2)


@app.command()
def up(
    site: Annotated[str, typer.Option(help="site folder under sim_worlds/")] = "living_lab",
    robots: Annotated[int | None, typer.Option(min=1, help="simulate only the first N robots of fleet.yaml")] = None,
    sim: Annotated[str, typer.Option(help="lite (built-in simulator) | gazebo | none (real robots)")] = "lite",
    port: Annotated[int, typer.Option(min=1, max=65535)] = 8000,
    seed: Annotated[int, typer.Option(help="simulator seed")] = 0,
    speed: Annotated[float, typer.Option(min=0.1, max=20.0, help="built-in simulator: sim seconds per second")] = 1.0,
    demo: Annotated[bool, typer.Option("--demo", help="demo mode: a generated token secret (kept in the data "
                                                      "directory), an admin whose password is written to "
                                                      "DATA_DIR/admin-password (mode 0600)")] = False,
    fleet: Annotated[str | None, typer.Option(help="a fleet variant of the site: fleet.NAME.yaml (e.g. nav2, "
                                                   "mixed)")] = None,
    discovery: Annotated[str | None, typer.Option(
        help="ROS discovery: localhost | subnet | server:HOST:PORT (default: LABFLEET_ROS_DISCOVERY)")] = None,
    replicas: Annotated[int | None, typer.Option(min=0, max=64, help="N API/websocket replicas and a standby "
                                                 "leader behind the one port (needs PostgreSQL and NATS)")] = None,
) -> None:
    """Start the lab: simulator, one agent per robot and the fleet manager, supervised (--sim none: only the
    fleet manager, for real robots)."""
    from fleet_manager.cli.lab_up import LabUp, cluster_problem  # imports ROS helpers only when needed

    lang = cli_lang()
    if sim not in ("lite", "gazebo", "none"):
        _fail(t(lang, "cli.sim_choice", sim=repr(sim)), 2)
    if sim == "gazebo":
        missing = [tool for tool in ("gz", "ros2") if shutil.which(tool) is None]
        if missing:
            _fail(t(lang, "cli.gazebo_missing", missing=", ".join(missing)), 2)
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
        _fail(t(lang, "cli.bad_setting", field=exc.errors()[0]["loc"][0], problem=exc.errors()[0]["msg"]), 2)
    if not (settings.site_dir / "navgraph.yaml").exists():
        _fail(t(lang, "cli.unknown_site", site=repr(site), path=settings.site_dir / "navgraph.yaml"), 2)
    if not settings.fleet_file.exists():
        variants = sorted(p.name.split(".")[1] for p in settings.site_dir.glob("fleet.*.yaml"))
        _fail(t(lang, "cli.no_fleet_variant", site=repr(site), fleet=repr(settings.fleet),
                file=settings.fleet_file.name, variants=", ".join(variants) or t(lang, "cli.none")), 2)
    try:
        check_secret(settings)  # the fleet manager would refuse to start: say so before starting anything
    except StartupError as exc:
        _fail(str(exc), 2)
    if replicas is not None and (problem := cluster_problem(settings)) is not None:
        _fail(t(lang, f"cli.replicas_need_{problem}", url=settings.nats_url), 2)
    lab = LabUp(settings, robots=robots, backend=sim, port=port, seed=seed, speed=speed, replicas=replicas,
                domain_id=int(os.environ.get("ROS_DOMAIN_ID", DEFAULT_DOMAIN_ID)))
    raise typer.Exit(lab.run())


def _key_values(option: str, items: list[str]) -> dict[str, str]:
    """`KEY=VALUE` items of `option`, in order; a command fails (exit 2) on any other shape."""
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            lang = cli_lang()
            _fail(t(lang, "cli.key_value", option=option, item=repr(item)), 2)
        out[key] = value
    return out


def _parse_params(params: list[str]) -> dict[str, Any]:
    return {key: yaml.safe_load(value) if value else "" for key, value in _key_values("--param", params).items()}


def _print_mission(m: dict[str, Any], lang: Lang = "en") -> None:
    """`mission 7: underway (robot delivery_1)`: the status as the API says it (scripts read it), the rest in
    `lang`."""
    robot = m.get("robot_id") or "-"
    if m.get("failure_reason"):
        typer.echo(t(lang, "cli.mission_reason", id=m["id"], status=m["status"], robot=robot,
                     reason=m["failure_reason"]))
    else:
        typer.echo(t(lang, "cli.mission", id=m["id"], status=m["status"], robot=robot))


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
    lang = cli_lang()
    params = _parse_params(param or [])
    path = Path(what)
    if path.suffix in (".yaml", ".yml", ".json") or path.is_file():
        if not path.is_file():
            _fail(t(lang, "cli.no_such_file", path=path), 2)
        try:
            data = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            _fail(f"{path}: {exc}", 2)
        if not isinstance(data, dict):
            _fail(t(lang, "cli.not_a_mission_file", path=path), 2)
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
            _fail(t(lang, "cli.mission_refused", problem=_file_error(path, exc)), 1)
        _fail(t(lang, "cli.mission_refused", problem=api_problem(lang, exc)), 1)
    _print_mission(mission, lang)
    if wait:
        _follow(client, mission["id"], timeout, mission["status"], lang=lang)


def _follow(client: Client, mission_id: int, timeout: float, last: str | None = None,
            poll_s: float = 0.5, lang: Lang = "en") -> None:
    """Print the mission's status and each step's as they change, until it ends (exit 0 if it completed)."""
    deadline = time.monotonic() + timeout
    steps: dict[int, str] = {}
    while time.monotonic() < deadline:
        m = client.mission(mission_id)
        if m["status"] != last:
            _print_mission(m, lang)
            last = m["status"]
        for step in m.get("steps") or []:
            if steps.get(step["index"], "pending") != step.get("status", "pending"):
                steps[step["index"]] = step.get("status", "pending")
                typer.echo(step_line(mission_id, step, lang))
        if m["status"] in ("completed", "failed", "canceled"):
            raise typer.Exit(0 if m["status"] == "completed" else 1)
        time.sleep(poll_s)
    _fail(t(lang, "cli.mission_not_ended", id=mission_id, seconds=f"{timeout:g}"), 1)


@mission_app.command("schema")
def mission_schema_cmd() -> None:
    """Print the JSON Schema of mission files (templates and specs)."""
    from fleet_manager.core.mission_files import mission_schema

    typer.echo(json.dumps(mission_schema(), indent=2))


@mission_app.command("validate")
def mission_validate(
    files: Annotated[list[Path], typer.Argument(help="template or spec files (YAML)")],
    site: Annotated[str, typer.Option(help="check places and zones against this site's")] = "living_lab",
) -> None:
    """Check mission files; errors name the file, the line and the field. Exit 1 if any is invalid."""
    from fleet_manager.core.errors import DomainError
    from fleet_manager.core.mission_files import MissionFileError, check_mission_file
    from fleet_manager.sites.service import Site

    lang = cli_lang()
    settings = Settings(site=site)
    try:
        loaded = Site.load(settings.site_dir)  # its navgraph and zones, as the API checks a mission against them
    except (DomainError, OSError, ValueError) as exc:
        _fail(str(exc), 2)
    bad = 0
    for path in files:
        try:
            summary, _ = check_mission_file(path, loaded.navgraph, loaded.operating_zones, loaded.cleaning_zones)
        except MissionFileError as exc:
            typer.echo(str(exc), err=True)
            bad += 1
        else:
            typer.echo(t(lang, "cli.file_ok", path=path, summary=summary))
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
    lang = cli_lang()
    try:
        m = Client(api_url(api)).mission(mission_id)
    except ApiError as exc:
        _fail(api_problem(lang, exc))
    if as_json:
        typer.echo(json.dumps(m, indent=2))
        return
    _print_mission(m, lang)
    typer.echo(t(lang, "cli.mission_route", route=" -> ".join(m["route"]) or "-"))
    typer.echo(t(lang, "cli.mission_times", created=m["created_at"], started=m["started_at"] or "-",
                 ended=m["ended_at"] or "-"))
    for e in m.get("events") or []:
        typer.echo(f"  {e['time']}  {e['kind']:<6} {e['status'] or '':<10} {e['message']}")


@mission_app.command("cancel")
def mission_cancel(mission_id: int, api: ApiOpt = None) -> None:
    """Cancel a mission (a no-op on a mission that already ended)."""
    lang = cli_lang()
    try:
        _print_mission(Client(api_url(api)).cancel(mission_id), lang)
    except ApiError as exc:
        _fail(api_problem(lang, exc))


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
    lang = cli_lang()
    try:
        _print_mission(Client(api_url(api)).act(mission_id, verb, body), lang)
    except ApiError as exc:
        _fail(api_problem(lang, exc))


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
    report_lang: Annotated[Lang | None, typer.Option(
        "--lang", help="the report's language: en or ko (default: the CLI's language)")] = None,
    api: ApiOpt = None,
) -> None:
    """Write a pilot's report: one self-contained HTML page (summary, KPIs, targets, trends, charts, site map,
    robots), in English or Korean."""
    lang = cli_lang()
    client = Client(api_url(api))
    try:
        pilot_id = find_pilot(client.pilots(), pilot, lang)["id"]
        written = write_report(client, pilot_id, out, csv_out, report_lang or lang)
    except PilotNotFound as exc:
        _fail(str(exc))
    except ApiError as exc:
        _fail(api_problem(lang, exc))
    except OSError as exc:
        _fail(t(lang, "cli.report_unwritable", error=exc))
    for path in written:
        typer.echo(t(lang, "cli.wrote", path=path))


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


def format_replay(r: dict[str, Any], lang: Lang = "en") -> list[str]:
    """A replay as text in `lang`: the figures of each mission side by side, path deviation, events that moved,
    KPIs (statuses, outcomes and KPI names as the API says them)."""
    title = {"id": r["id"], "mission": r["mission_id"], "status": r["status"]}
    lines = [t(lang, "cli.replay_error", **title, error=r["error"]) if r.get("error")
             else t(lang, "cli.replay", **title)]
    if r.get("overrides"):
        overrides = ", ".join(f"{k}={v}" for k, v in r["overrides"].items())
        lines.append(t(lang, "cli.replay_overrides", overrides=overrides))
    if r.get("sim_s") is not None:
        lines.append(t(lang, "cli.replay_speed", sim=_fmt(r["sim_s"], " s"), wall=_fmt(r["wall_s"], " s"),
                       speedup=_fmt(r.get("speedup"), "x"), seed=r.get("seed")))
    header = f"{pad(t(lang, 'cli.replay_original'), 13)} {pad(t(lang, 'cli.replay_replay'), 12)}"

    def row(label: str, original: object, replayed: object = "", delta: str = "") -> str:
        return f"    {pad(label, 20)}{original!s:<13} {replayed!s:<12} {delta}".rstrip()

    comparison = r.get("comparison") or {}
    for m in comparison.get("missions", []):
        a, b, path, delta = m["original"], m["replay"], m["path"], m["delta"]
        lines.append(f"  {pad(t(lang, 'cli.replay_mission', id=m['mission_id']), 22)}{header} "
                     f"{t(lang, 'cli.replay_delta')}")
        lines.append(row(t(lang, "cli.replay_robot"), a["robot_id"], b["robot_id"]))
        lines.append(row(t(lang, "cli.replay_outcome"), a["outcome"], b["outcome"]))
        lines.append(row(t(lang, "cli.replay_duration"), _fmt(a["duration_s"]), _fmt(b["duration_s"]),
                         _fmt(delta["duration_s"])))
        lines.append(row(t(lang, "cli.replay_distance"), _fmt(a["distance_m"]), _fmt(b["distance_m"]),
                         _fmt(delta["distance_m"])))
        lines.append(row(t(lang, "cli.replay_energy"), _fmt(a["energy_wh"]), _fmt(b["energy_wh"])))
        deviation = t(lang, "cli.replay_path_value", frechet=_fmt(path["frechet_m"], " m"),
                      dtw=_fmt(path["dtw_mean_m"], " m"), spacing=_fmt(path["spacing_m"], " m"))
        lines.append(f"    {pad(t(lang, 'cli.replay_path'), 20)}{deviation}")
        moved = [e for e in m["events"] if e["delta_s"] is None or abs(e["delta_s"]) >= 0.5]
        for e in moved[:20]:
            step = t(lang, "cli.replay_step", index=e["step_index"], status=e["status"])
            lines.append(f"    {pad(step, 29)} {_fmt(e['original_t'], ' s'):<13} {_fmt(e['replay_t'], ' s'):<12} "
                         f"{_fmt(e['delta_s'], ' s')}")
    kpis = comparison.get("kpis")
    if kpis:
        lines.append(f"  {pad(t(lang, 'cli.replay_kpis'), 22)}{header}".rstrip())
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
    lang = cli_lang()
    overrides = _key_values("--override", override or [])
    client = _ReplayClient(api_url(api))
    try:
        r = client.replay(mission_id, overrides, min(timeout, 600.0))
        deadline = time.monotonic() + timeout
        while r["status"] in ("queued", "running") and time.monotonic() < deadline:
            time.sleep(1.0)
            r = client.get_replay(r["id"])
    except ApiError as exc:
        _fail(api_problem(lang, exc))
    if as_json:
        typer.echo(json.dumps(r, indent=2))
    else:
        for line in format_replay(r, lang):
            typer.echo(line)
    if r["status"] != "done":
        raise typer.Exit(1)


def main() -> None:
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    app()


if __name__ == "__main__":
    main()
