"""Mission event texts (missions/texts.py, issue 18): every code has its message in the console's catalogues
(web_console/src/locales/<lang>/events.json) with the same placeholders, the English the same as the server's; known
failure reasons that arrive as plain text get their code; a coded parameter is stored as a coded text."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fleet_manager.missions.texts import ENGLISH, Said, coded, reason, say

LOCALES = Path(__file__).resolve().parents[2] / "web_console" / "src" / "locales"
PLACEHOLDER = re.compile(r"\{(\w+)\}")


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_every_code_is_in_the_console_catalogue(lang: str) -> None:
    catalogue = json.loads((LOCALES / lang / "events.json").read_text(encoding="utf-8"))
    assert set(catalogue) == {f"events.{code}" for code in ENGLISH}
    for code, english in ENGLISH.items():
        assert set(PLACEHOLDER.findall(catalogue[f"events.{code}"])) == set(PLACEHOLDER.findall(english)), code
        if lang == "en":
            assert catalogue[f"events.{code}"] == english, code


@pytest.mark.parametrize(("text", "code", "params"), [
    ("blocked by an obstacle for 60 s", "reason_blocked", {"seconds": 60}),
    ("not confirmed within 2.5 s", "reason_not_confirmed", {"seconds": 2.5}),
    ("the way ahead did not clear (waited 91 s, for amr_2, amr_3)", "reason_way_not_clear",
     {"seconds": 91, "robots": "amr_2, amr_3"}),
    ("robot amr_1 stopped reporting for 5 s", "reason_robot_silent", {"robot": "amr_1", "seconds": 5}),
    ("action load failed", "reason_action_failed", {"action": "load"}),
])
def test_known_reasons_are_coded_and_read_the_same(text: str, code: str, params: dict[str, object]) -> None:
    said = reason(text)
    assert isinstance(said, Said) and (said.code, said.params) == (code, params)
    assert str(said) == text


def test_unknown_reasons_stay_plain_and_coded_params_nest() -> None:
    assert reason("gripper jammed") == "gripper jammed"
    failed = say("mission_step_failed", step=2, reason=reason("not confirmed within 30.0 s"))
    assert coded(failed) == ("step 2 failed: not confirmed within 30 s", "mission_step_failed",
                             {"step": 2, "reason": {"code": "reason_not_confirmed", "params": {"seconds": 30}}})
    assert coded("plain") == ("plain", None, None)
    with pytest.raises(KeyError):
        say("no_such_text")
