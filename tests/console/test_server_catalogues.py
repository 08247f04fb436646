"""The server's message catalogues (issue 18): fleet_manager/locales/<lang>/<area>.json, for the pilot report and
the KPI names. Every key in every language with the same {placeholders}, no empty value, no Korean value left in
English, and every key the server's code names exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fleet_manager.i18n import LANGS, catalogue, t

ROOT = Path(__file__).resolve().parents[2] / "fleet_manager"
PLACEHOLDER = re.compile(r"\{(\w+)\}")
USED = re.compile(r"""\bt\(\s*lang,\s*f?["']([a-z0-9_]+\.[A-Za-z0-9_.{}-]+)["']""")
HANGUL = re.compile(r"[\uac00-\ud7a3]")


def test_every_language_has_every_key_with_its_placeholders() -> None:
    en = catalogue("en")
    assert len(en) > 100
    for lang in LANGS:
        here = catalogue(lang)
        assert set(here) == set(en), f"{lang}: {sorted(set(en) ^ set(here))[:8]}"
        for key, value in here.items():
            assert value.strip(), f"{lang}: {key} is empty"
            assert set(PLACEHOLDER.findall(value)) == set(PLACEHOLDER.findall(en[key])), f"{lang}: {key}"


def test_korean_is_korean() -> None:
    en, ko = catalogue("en"), catalogue("ko")
    same = [k for k, v in ko.items() if v == en[k] and HANGUL.search(v) is None and PLACEHOLDER.sub("", v).strip(
        " ,.:;()-/%{}·") and not re.fullmatch(r"[A-Za-z0-9 ,.:;()/%{}·_-]*\{\w+\}[A-Za-z0-9 ,.:;()/%{}·_-]*", v)]
    assert same == [], same


@pytest.mark.parametrize("source", sorted(ROOT.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_key_the_server_names_exists(source: Path) -> None:
    en = catalogue("en")
    for key in USED.findall(source.read_text(encoding="utf-8")):
        if "{" in key:  # f"report.chart_trends_{unit}", f"kpis.{base}": some key of that shape must exist
            pattern = re.compile(re.sub(r"\\\{\w+\\\}", r"\\w+", re.escape(key)))
            assert any(pattern.fullmatch(k) for k in en), key
        else:
            assert key in en, f"{source.name}: {key}"


def test_a_missing_placeholder_value_stays_and_an_unknown_key_is_the_key() -> None:
    assert t("ko", "report.title", name="병원") == "실증 보고서: 병원"
    assert t("ko", "report.title") == "실증 보고서: {name}"
    assert t("en", "no.such_key") == "no.such_key"
