"""The console's message catalogues (issue 18): web_console/src/locales/<lang>/<area>.json. Every key is in every
language, with the same {placeholders}; every key the console's code and page use exists; no value is empty."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from fleet_manager.alerts.rules import TEXTS
from fleet_manager.problems import CODE_OF_STATUS, TITLES

CONSOLE = Path(__file__).resolve().parents[2] / "web_console"
SERVER = Path(__file__).resolve().parents[2] / "fleet_manager"
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


def _strings(node: ast.AST | None) -> set[str]:
    """The string constants an expression can be ("a" if x else "b": both)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return {node.value}
    if isinstance(node, ast.IfExp):
        return _strings(node.body) | _strings(node.orelse)
    return set()


def emitted_codes() -> dict[str, str]:
    """Every problem code the server's code can answer with, and where: the codes of HTTP statuses, the class codes of
    domain errors (`code = "..."`), and each literal code given to problem()/problem_bytes()/problem_body() or as a
    `code=` argument."""
    found = {code: "problems.py CODE_OF_STATUS" for code in CODE_OF_STATUS.values()}
    for source in sorted(SERVER.rglob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            codes: set[str] = set()
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target] \
                        if isinstance(item, ast.AnnAssign) else []
                    if any(isinstance(t, ast.Name) and t.id == "code" for t in targets):
                        codes |= _strings(item.value)  # type: ignore[union-attr]
            elif isinstance(node, ast.Call):
                name = getattr(node.func, "id", getattr(node.func, "attr", ""))
                if name in ("problem", "problem_bytes", "problem_body") and len(node.args) >= 3:
                    codes |= _strings(node.args[2])
                codes |= {c for k in node.keywords if k.arg == "code" for c in _strings(k.value)}
            for code in codes:
                found.setdefault(code, str(source.relative_to(SERVER)))
    return found


def test_every_problem_code_the_server_can_send_is_translated() -> None:
    """Issue 18: the console says why the API refused in its language, from the problem's `code` (api.ts:
    term("problem", code)): every code the server's code can answer with has a title (problems.py, documented in
    docs/api_errors.md) and a message in every language, Korean in Korean."""
    emitted = emitted_codes()
    assert {"not_found", "invalid_input", "conflict", "unavailable", "database_unavailable", "leader_timeout",
            "validation_failed", "invalid_body", "too_large"} <= set(emitted), emitted  # (the scan finds them)
    untitled = {code: where for code, where in emitted.items() if code not in TITLES}
    assert not untitled, f"codes sent but not in problems.TITLES: {untitled}"
    en, ko = merged("en"), merged("ko")
    for code in set(emitted) | set(TITLES):
        assert en.get(f"problem.{code}"), f"en: no message problem.{code}"
        assert ko.get(f"problem.{code}") not in (None, en[f"problem.{code}"]), f"ko: problem.{code} not in Korean"


def test_every_alert_text_has_a_message_in_every_language() -> None:
    """Issue 18: the console says each alert from its text (alerts.text.<id>, the parameters the API sends); English
    is the API's own message, word for word."""
    en, ko = merged("en"), merged("ko")
    for text_id, english in TEXTS.items():
        key = f"alerts.text.{text_id}"
        assert en.get(key) == english, f"en: {key} is not the API's message {english!r}"
        assert key in ko and set(PLACEHOLDER.findall(ko[key])) == set(PLACEHOLDER.findall(english)), key
    stale = sorted(k for k in en if k.startswith("alerts.text.") and k.removeprefix("alerts.text.") not in TEXTS)
    assert not stale, f"messages of no alert text: {stale}"
