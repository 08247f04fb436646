"""Korean and English for what the server writes for people (issue 18): the pilot report and the CLI. Message
catalogues in fleet_manager/locales/<lang>/<area>.json, the same keys in every language (tests/console checks
them with the console's); keys are "<area>.<name>", values may hold {placeholders}."""

from __future__ import annotations

import json
import logging
from functools import cache
from pathlib import Path
from typing import Literal

log = logging.getLogger(__name__)

Lang = Literal["en", "ko"]
LANGS: tuple[Lang, ...] = ("en", "ko")
LOCALES = Path(__file__).parent / "locales"
NUMBER_LOCALE = {"en": "en-GB", "ko": "ko-KR"}


@cache
def catalogue(lang: str) -> dict[str, str]:
    """Every message of `lang`, from all its area files."""
    merged: dict[str, str] = {}
    for path in sorted((LOCALES / lang).glob("*.json")):
        merged.update(json.loads(path.read_text(encoding="utf-8")))
    return merged


def t(lang: str, key: str, **params: object) -> str:
    """The message `key` in `lang` (English when `lang` lacks it; the key itself, logged, when both do), with its
    {placeholders} filled."""
    text = catalogue(lang).get(key) or catalogue("en").get(key)
    if text is None:
        log.warning("no message %s", key)
        return key
    return text.format_map(_Keep(params))


def term(lang: str, prefix: str, value: str) -> str:
    """A value from the data (a status, a KPI name) as people read it: its message under `prefix`, else the value
    with spaces for underscores."""
    key = f"{prefix}.{value}"
    if key in catalogue(lang) or key in catalogue("en"):
        return t(lang, key)
    return value.replace("_", " ")


class _Keep(dict[str, object]):
    """format_map's mapping: a placeholder without a value stays as it is."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"
