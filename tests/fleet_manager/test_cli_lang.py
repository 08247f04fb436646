"""The CLI in Korean and English (issue 18): its language from LABFLEET_LANG, else the POSIX locale, else English
(a LABFLEET_LANG it does not speak refused, saying which it does), and its lines for people from the
catalogues fleet_manager/locales/<lang>/cli.json; statuses, ids and the server's words stay as they come."""

from __future__ import annotations

import unicodedata
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from fleet_manager.cli.client import ApiError
from fleet_manager.cli.common import LangError, api_problem, cli_lang
from fleet_manager.cli.main import _follow, app, format_replay
from fleet_manager.cli.steps import step_line
from tests.fleet_manager.test_cli_auth import PASSWORD, env  # noqa: F401 (fixture)

NO_SERVICE = "http://127.0.0.1:9"
# the caller's shell says nothing about the language unless a test does
UNSET: dict[str, str | None] = {"LABFLEET_LANG": None, "LC_ALL": None, "LC_MESSAGES": None, "LANG": None}


def labfleet(*args: str, stdin: str | None = None, **lang_env: str) -> Any:
    return CliRunner().invoke(app, list(args), input=stdin, env={**UNSET, **lang_env})


@pytest.mark.parametrize(("environ", "lang"), [
    ({}, "en"),
    ({"LANG": "ko_KR.UTF-8"}, "ko"),
    ({"LANG": "ko"}, "ko"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "de_DE.UTF-8"}, "en"),
    ({"LC_MESSAGES": "ko_KR.UTF-8", "LANG": "en_GB.UTF-8"}, "ko"),
    ({"LC_ALL": "C", "LANG": "ko_KR.UTF-8"}, "en"),  # LC_ALL, when set, decides
    ({"LC_ALL": "", "LANG": "ko_KR.UTF-8"}, "ko"),  # set but empty: as if unset
    ({"LABFLEET_LANG": "ko", "LANG": "en_US.UTF-8"}, "ko"),
    ({"LABFLEET_LANG": "en", "LC_ALL": "ko_KR.UTF-8"}, "en"),
    ({"LABFLEET_LANG": "KO"}, "ko"),
    ({"LABFLEET_LANG": "", "LANG": "ko_KR.UTF-8"}, "ko"),
])
def test_the_language_is_labfleet_lang_else_the_locale_else_english(environ: dict[str, str], lang: str) -> None:
    assert cli_lang(environ) == lang


def test_a_language_the_cli_does_not_speak_is_refused_naming_the_variable_and_the_choices() -> None:
    with pytest.raises(LangError, match=r"^LABFLEET_LANG must be one of en, ko, not 'fr'$"):
        cli_lang({"LABFLEET_LANG": "fr"})
    with pytest.raises(LangError) as refused:  # said in the locale's language
        cli_lang({"LABFLEET_LANG": "kr", "LANG": "ko_KR.UTF-8"})
    assert str(refused.value).startswith("LABFLEET_LANG은 en, ko 중 하나여야") and "'kr'" in str(refused.value)

    r = labfleet("report", "x", "--api", NO_SERVICE, LABFLEET_LANG="klingon")
    assert r.exit_code == 2, r.output
    assert "error: LABFLEET_LANG must be one of en, ko, not 'klingon'" in r.output
    assert "cannot reach" not in r.output  # refused before the command runs


def test_report_without_a_service_fails_cleanly_in_korean_or_english(tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    for lang_env in ({"LABFLEET_LANG": "ko"}, {"LANG": "ko_KR.UTF-8"}):
        r = labfleet("report", "x", "--out", str(out), "--api", NO_SERVICE, **lang_env)
        assert r.exit_code == 1, r.output
        assert r.output.startswith(f"오류: 플릿 매니저({NO_SERVICE}/api/v1/pilots)에 연결할 수 없습니다: "), r.output
        assert "cannot reach" not in r.output and "error" not in r.output
    r = labfleet("report", "x", "--out", str(out), "--api", NO_SERVICE, LANG="de_DE.UTF-8")  # not Korean: English
    assert r.exit_code == 1 and r.output.startswith(f"error: cannot reach the fleet manager at {NO_SERVICE}/"), r.output
    assert not out.exists()


def test_the_servers_words_stay_and_the_clients_own_are_translated() -> None:
    refused = ApiError(401, "not authenticated (log in with `labfleet login --api http://fleet:8000`)")
    assert api_problem("ko", refused) == "not authenticated (`labfleet login --api http://fleet:8000`으로 로그인하세요)"
    assert api_problem("en", refused) == refused.detail
    assert api_problem("ko", ApiError(404, "no mission 9")) == "no mission 9"


def test_step_lines_say_in_korean_that_a_step_awaits_confirmation() -> None:
    step = {"index": 1, "kind": "confirm", "prompt": "소포를 받고 서명하세요", "status": "awaiting_confirmation"}
    assert step_line(7, step, "ko") == \
        "  1단계 (confirm): 확인 대기 중 “소포를 받고 서명하세요” - 확인하려면: labfleet mission confirm 7"
    assert step_line(7, {**step, "prompt": None}, "ko") == \
        "  1단계 (confirm): 확인 대기 중 - 확인하려면: labfleet mission confirm 7"
    failed = {"index": 0, "kind": "go_to", "target": "pharmacy", "status": "failed", "message": "blocked"}
    assert step_line(7, failed, "ko") == "  0단계 (go_to pharmacy): 실패: blocked"


class _Missions:
    def __init__(self, *states: dict[str, Any]) -> None:
        self.states = list(states)

    def mission(self, mission_id: int) -> dict[str, Any]:
        return self.states.pop(0) if len(self.states) > 1 else self.states[0]


def test_wait_follows_a_mission_in_korean_keeping_its_status_words(capsys: pytest.CaptureFixture[str]) -> None:
    steps = [{"index": 0, "kind": "go_to", "target": "pharmacy"}, {"index": 1, "kind": "confirm", "prompt": "서명"}]

    def mission(status: str, *step_status: str) -> dict[str, Any]:
        return {"id": 7, "status": status, "robot_id": "delivery_1", "failure_reason": None,
                "steps": [{**s, "status": x} for s, x in zip(steps, step_status, strict=True)]}

    client = _Missions(mission("underway", "active", "pending"), mission("underway", "done", "awaiting_confirmation"),
                       mission("completed", "done", "done"))
    with pytest.raises(typer.Exit) as ended:
        _follow(client, 7, timeout=10, last="queued", poll_s=0.0, lang="ko")  # type: ignore[arg-type]
    assert ended.value.exit_code == 0
    assert capsys.readouterr().out.splitlines() == [
        "미션 7: underway (로봇 delivery_1)",  # the API's status word: scripts read it
        "  0단계 (go_to pharmacy): 진행 중",
        "  0단계 (go_to pharmacy): 완료",
        "  1단계 (confirm): 확인 대기 중 “서명” - 확인하려면: labfleet mission confirm 7",
        "미션 7: completed (로봇 delivery_1)",
        "  1단계 (confirm): 완료",
    ]


def _columns(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_users_in_korean_line_up_under_their_korean_headings(env: dict[str, Any]) -> None:  # noqa: F811
    r = labfleet("user", "add", "bob", "--role", "operator", "--site", "living_lab", "--password-stdin",
                 stdin=PASSWORD + "\n", LABFLEET_LANG="ko")
    assert r.exit_code == 0 and "사용자 bob을(를) 추가했습니다: operator, 사이트 living_lab" in r.output, r.output
    r = labfleet("user", "list", LABFLEET_LANG="ko")
    assert r.exit_code == 0, r.output
    heading, row = r.output.splitlines()
    assert heading.split() == ["사용자", "역할", "사이트", "상태"] and row.split() == [
        "bob", "operator", "living_lab", "enabled"]  # the stored values, as scripts read them
    assert _columns(heading[:heading.index("상태")]) == row.index("enabled")
    r = labfleet("user", "disable", "nobody", LABFLEET_LANG="ko")
    assert r.exit_code == 1 and r.output.startswith("오류: "), r.output


def test_a_replay_reads_in_korean_its_figures_in_columns() -> None:
    side = {"robot_id": "r1", "outcome": "completed", "duration_s": 61.5, "distance_m": 30.25, "energy_wh": 1.5}
    replay = {"id": 3, "mission_id": 9, "status": "done", "overrides": {"max_speed": "0.5"}, "sim_s": 70.0,
              "wall_s": 2.0, "speedup": 35.0, "seed": 0,
              "comparison": {"missions": [{"mission_id": 9, "original": side, "replay": side,
                                           "delta": {"duration_s": 0.0, "distance_m": 0.0},
                                           "path": {"frechet_m": 0.1, "dtw_mean_m": 0.05, "spacing_m": 0.25},
                                           "events": []}],
                             "kpis": {"original": {"missions_total": 1}, "replay": {"missions_total": 1}}}}
    lines = format_replay(replay, "ko")
    assert lines[0] == "재시뮬레이션 3 (미션 9): done" and lines[1] == "  변경값: max_speed=0.5"
    heading = next(line for line in lines if line.lstrip().startswith("미션 9"))
    robot = next(line for line in lines if line.lstrip().startswith("로봇"))
    assert _columns(heading[:heading.index("기록")]) == _columns(robot[:robot.index("r1")]) == 24
    assert any("Fréchet 0.10 m, DTW 평균 0.05 m" in line for line in lines)
    english = format_replay(replay)
    assert english[0] == "replay 3 of mission 9: done" and any("Frechet" in line for line in english)
