"""What the `labfleet` commands share: the --api option, the language they speak and how a command fails."""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping
from typing import Annotated, NoReturn

import httpx
import typer

from fleet_manager.cli.client import ApiError
from fleet_manager.i18n import LANGS, Lang, t

ApiOpt = Annotated[str | None, typer.Option("--api", help="fleet manager URL [env LABFLEET_API_URL]")]

LANG_HELP = ("Messages are in English or Korean: LABFLEET_LANG=en|ko, else the locale (LC_ALL, LC_MESSAGES, LANG; "
             "ko* is Korean), else English. Machine output (--json, ids, statuses) stays as it is.")
# what cli/client.py appends to a 401's detail (the client speaks English only: its words are put back in `lang`)
_LOGIN_HINT = re.compile(r"(?s)(.*) \(log in with `labfleet login --api (\S+)`\)")


class LangError(ValueError):
    """LABFLEET_LANG names no language the CLI speaks; the message says which it does."""


def locale_lang(env: Mapping[str, str] | None = None) -> Lang:
    """The POSIX locale's language: the first set of LC_ALL, LC_MESSAGES and LANG decides (ko* is Korean, any other
    is English); English when none is set."""
    env = os.environ if env is None else env
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(name, "")
        if value:
            return "ko" if value.lower().startswith("ko") else "en"
    return "en"


def cli_lang(env: Mapping[str, str] | None = None) -> Lang:
    """The language of the CLI's messages: LABFLEET_LANG (en|ko) when set, else the locale's; LangError (in the
    locale's language) when LABFLEET_LANG is something else."""
    env = os.environ if env is None else env
    chosen = env.get("LABFLEET_LANG", "").strip().lower()
    if not chosen:
        return locale_lang(env)
    if chosen == "ko":
        return "ko"
    if chosen == "en":
        return "en"
    lang = locale_lang(env)
    raise LangError(t(lang, "cli.bad_lang", langs=", ".join(LANGS), value=repr(env["LABFLEET_LANG"])))


def _error_lang() -> Lang:
    """The language to fail in: the CLI's, or the locale's when LABFLEET_LANG itself is what is wrong."""
    try:
        return cli_lang()
    except LangError:
        return locale_lang()


def fail(message: str, code: int = 1) -> NoReturn:
    """`error: MESSAGE` on stderr, and exit with `code`."""
    lang = _error_lang()
    typer.echo(t(lang, "cli.error", message=message), err=True)
    raise typer.Exit(code)


def api_problem(lang: Lang, exc: ApiError) -> str:
    """What went wrong with a call to the fleet manager, for people: the server's detail as it came; the client's
    own words (the fleet manager unreachable, the hint to log in) in `lang`."""
    cause = exc.__cause__
    if isinstance(cause, httpx.TransportError):
        try:
            url = cause.request.url.copy_with(query=None)
        except RuntimeError:  # raised without its request (not by httpx's client): the client's own words
            return str(exc.detail)
        return t(lang, "cli.unreachable", url=url, reason=str(cause) or type(cause).__name__)
    detail = str(exc.detail)
    hint = _LOGIN_HINT.fullmatch(detail) if exc.status == 401 else None
    if hint:
        return t(lang, "cli.login_hint", detail=hint[1], api=hint[2])
    return detail


def pad(text: str, width: int) -> str:
    """`text` padded with spaces to `width` terminal columns (a Hangul syllable takes two)."""
    columns = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)
    return text + " " * max(0, width - columns)
