"""`labfleet pilot list`, and finding a pilot by id or by name for `labfleet report`."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from fleet_manager.cli.client import ApiError, Client, api_url
from fleet_manager.cli.common import ApiOpt, api_problem, cli_lang, fail
from fleet_manager.i18n import Lang, t

pilot_app = typer.Typer(help="The pilots of the sites you may see.", no_args_is_help=True)


class PilotNotFound(LookupError):
    """No pilot, or more than one, answers to what the user typed: the message says which."""


def find_pilot(pilots: list[dict[str, Any]], wanted: str, lang: Lang = "en") -> dict[str, Any]:
    """The pilot whose id is `wanted`, else the one whose name is (case-insensitive), else the one id that starts
    with it (PilotNotFound says in `lang` why none is)."""
    for pilot in pilots:
        if pilot["id"] == wanted:
            return pilot
    named = [p for p in pilots if p["name"].casefold() == wanted.casefold()]
    if not named:
        named = [p for p in pilots if p["id"].startswith(wanted)] if len(wanted) >= 4 else []
    if len(named) == 1:
        return named[0]
    if not named:
        raise PilotNotFound(t(lang, "cli.pilot_not_found", wanted=repr(wanted)))
    ids = ", ".join(f"{p['id']} ({p['site']})" for p in named)
    raise PilotNotFound(t(lang, "cli.pilots_same_name", count=len(named), wanted=repr(wanted), ids=ids))


def pilot_lines(pilots: list[dict[str, Any]], lang: Lang = "en") -> list[str]:
    """One line per pilot, newest period first: id, site, name, period (UTC dates), robots, [default]."""
    lines = []
    for p in sorted(pilots, key=lambda p: (p["period_start"], p["name"]), reverse=True):
        period = f"{p['period_start'][:10]} .. {p['period_end'][:10]}"
        robots = ", ".join(p["robots"]) if p["robots"] else t(lang, "cli.pilot_all_robots")
        default = "  " + t(lang, "cli.pilot_default") if p.get("is_default") else ""
        lines.append(f"{p['id']}  {p['site']:<14} {p['name']}  ({period}; {robots}){default}")
    return lines


@pilot_app.command("list")
def pilot_list(
    site: Annotated[str | None, typer.Option(help="only this site's pilots")] = None,
    api: ApiOpt = None,
) -> None:
    """List the pilots: id, site, name, period and robots (`labfleet report` takes the id or the name)."""
    lang = cli_lang()
    try:
        pilots = Client(api_url(api)).pilots(site)
    except ApiError as exc:
        fail(api_problem(lang, exc))
    if not pilots:
        typer.echo(t(lang, "cli.no_pilots_on_site", site=site) if site else t(lang, "cli.no_pilots"))
        return
    for line in pilot_lines(pilots, lang):
        typer.echo(line)
