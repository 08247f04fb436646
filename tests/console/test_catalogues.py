"""The console's message catalogues (issue 18): web_console/src/locales/<lang>/<area>.json. Every key is in every
language, with the same {placeholders}; every key the console's code and page use exists; no value is empty."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CONSOLE = Path(__file__).resolve().parents[2] / "web_console"
LOCALES = CONSOLE / "src" / "locales"
LANGS = ("en", "ko")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
# keys in code: t("area.name" ...), term("prefix", ...) is checked by its prefix; in the page: data-i18n="key" and
# data-i18n-attr="attr:key;..."
T_CALL = re.compile(r"""\bt\(\s*["'`]([a-z0-9_-]+\.[A-Za-z0-9_.-]+)["'`]""")
PAGE_KEY = re.compile(r'data-i18n="([^"]+)"')
PAGE_ATTR = re.compile(r'data-i18n-attr="([^"]+)"')


def catalogue(lang: str) -> dict[str, dict[str, str]]:
    """Each area's file of the language: area -> {key: value}."""
    return {f.stem: json.loads(f.read_text(encoding="utf-8")) for f in sorted((LOCALES / lang).glob("*.json"))}


def merged(lang: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for entries in catalogue(lang).values():
        clash = set(out) & set(entries)
        assert not clash, f"{lang}: keys in two files: {sorted(clash)[:5]}"
        out.update(entries)
    return out


def test_every_area_has_the_same_keys_in_every_language() -> None:
    areas = {lang: catalogue(lang) for lang in LANGS}
    assert areas["en"], "no English catalogue"
    for lang in LANGS[1:]:
        assert set(areas[lang]) == set(areas["en"]), f"{lang} has other files than en"
        for area, entries in areas["en"].items():
            missing = sorted(set(entries) - set(areas[lang][area]))
            extra = sorted(set(areas[lang][area]) - set(entries))
            assert not missing and not extra, f"{lang}/{area}.json: missing {missing[:8]}, not in en {extra[:8]}"


@pytest.mark.parametrize("lang", LANGS)
def test_values_are_text_with_the_english_placeholders(lang: str) -> None:
    en, here = merged("en"), merged(lang)
    for key, value in here.items():
        assert isinstance(value, str) and value.strip(), f"{lang}: {key} is empty"
        assert set(PLACEHOLDER.findall(value)) == set(PLACEHOLDER.findall(en[key])), f"{lang}: {key}: {value!r}"


def test_every_key_the_console_uses_exists() -> None:
    en = merged("en")
    used: dict[str, str] = {}
    for source in sorted((CONSOLE / "src").rglob("*.ts")):
        for key in T_CALL.findall(source.read_text(encoding="utf-8")):
            used.setdefault(key, source.name)
    page = (CONSOLE / "index.html").read_text(encoding="utf-8")
    for key in PAGE_KEY.findall(page):
        used.setdefault(key, "index.html")
    for spec in PAGE_ATTR.findall(page):
        for pair in spec.split(";"):
            used.setdefault(pair.split(":", 1)[1].strip(), "index.html")
    assert used, "no message key found in the console's code"
    unknown = {key: where for key, where in used.items() if key not in en}
    assert not unknown, f"keys used but in no catalogue: {unknown}"


def test_korean_is_korean() -> None:
    """A Korean value that is the English one, word for word, is only allowed for names and codes."""
    en, ko = merged("en"), merged("ko")
    same = [k for k, v in ko.items() if v == en[k] and re.search(r"[a-z]{3,}", v) and " " in v]
    assert not same, f"untranslated in ko: {same[:10]}"
