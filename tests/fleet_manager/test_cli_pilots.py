"""`labfleet pilot list`, `labfleet report` by a pilot's name, and `mission submit --wait` saying what each step
does and when one waits for a confirmation (issue 18, small things users hit)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer

from fleet_manager.cli.main import _follow
from fleet_manager.cli.pilots import PilotNotFound, find_pilot
from tests.fleet_manager.test_cli_auth import PASSWORD, env, labfleet, served  # noqa: F401 (fixtures)

PILOT = {"description": "", "period_start": "2026-03-01T00:00:00Z", "period_end": "2026-06-01T00:00:00Z"}


def test_pilots_are_listed_and_a_report_is_written_by_name(served: str, tmp_path: Path) -> None:  # noqa: F811
    assert labfleet("login", "--api", served, "--username", "ada", "--password-stdin", stdin=PASSWORD + "\n"
                    ).exit_code == 0
    token = json.loads((tmp_path / "config" / "labfleet" / "credentials.json").read_text())["access_token"]
    made = {}
    for n, name in enumerate(("Ward trial", "Sidewalk trial", "Sidewalk trial")):  # a lab's pilots: its site's
        r = httpx.post(f"{served}/api/v1/pilots", json={**PILOT, "name": name, "site": "living_lab"},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 201, r.text
        made[(name, "living_lab", n)] = r.json()["id"]

    r = labfleet("pilot", "list")
    assert r.exit_code == 0, r.output
    for (name, site, _), pilot_id in made.items():
        assert any(line.startswith(pilot_id) and site in line and name in line for line in r.output.splitlines())
    assert "living_lab default" in r.output and "[the site's default]" in r.output
    only = labfleet("pilot", "list", "--site", "city_block").output  # another lab's site: none of these
    assert not any(pilot_id in only for pilot_id in made.values())

    out = tmp_path / "ward.html"
    r = labfleet("report", "ward TRIAL", "--out", str(out))  # a name, whatever its case
    assert r.exit_code == 0 and f"wrote {out}" in r.output, r.output
    assert "Ward trial" in out.read_text(encoding="utf-8")
    r = labfleet("report", "Sidewalk trial", "--out", str(tmp_path / "x.html"))
    assert r.exit_code == 1 and "2 pilots are named 'Sidewalk trial'" in r.output and "give its id" in r.output
    r = labfleet("report", "no such pilot", "--out", str(tmp_path / "x.html"))
    assert r.exit_code == 1 and "labfleet pilot list" in r.output, r.output
    assert not (tmp_path / "x.html").exists()


def test_a_pilot_is_found_by_id_name_or_id_prefix() -> None:
    pilots = [{"id": "4f1c-aaaa", "name": "A", "site": "s"}, {"id": "9e2d-bbbb", "name": "B", "site": "s"}]
    assert find_pilot(pilots, "9e2d-bbbb")["name"] == "B"
    assert find_pilot(pilots, "a")["id"] == "4f1c-aaaa"
    assert find_pilot(pilots, "9e2d")["name"] == "B"
    with pytest.raises(PilotNotFound, match="no pilot has"):
        find_pilot(pilots, "9e")  # too short a prefix to be taken for an id


class _Missions:
    """A client whose mission answers are the given states, one per poll (the last one repeats)."""

    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)

    def mission(self, mission_id: int) -> dict[str, Any]:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def _mission(status: str, *steps: str) -> dict[str, Any]:
    kinds = [{"index": 0, "kind": "go_to", "target": "pharmacy"},
             {"index": 1, "kind": "confirm", "prompt": "Sign for the parcel"}]
    return {"id": 7, "status": status, "robot_id": "delivery_1", "failure_reason": None,
            "steps": [{**k, "status": s} for k, s in zip(kinds, steps, strict=True)]}


def test_wait_prints_each_step_and_says_when_one_awaits_confirmation(capsys: pytest.CaptureFixture[str]) -> None:
    client = _Missions(_mission("underway", "active", "pending"),
                       _mission("underway", "done", "awaiting_confirmation"),
                       _mission("underway", "done", "awaiting_confirmation"),
                       _mission("completed", "done", "done"))
    with pytest.raises(typer.Exit) as ended:
        _follow(client, 7, timeout=10, last="queued", poll_s=0.0)  # type: ignore[arg-type]
    assert ended.value.exit_code == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines == [
        "mission 7: underway (robot delivery_1)",
        "  step 0 (go_to pharmacy): under way",
        "  step 0 (go_to pharmacy): done",
        '  step 1 (confirm): AWAITING CONFIRMATION "Sign for the parcel" - confirm with: labfleet mission confirm 7',
        "mission 7: completed (robot delivery_1)",
        "  step 1 (confirm): done",
    ], lines
