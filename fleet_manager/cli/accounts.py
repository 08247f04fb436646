"""`labfleet login`, `labfleet logout` and `labfleet user add|list|disable|enable|password` (users are managed on the
database directly, so an admin can be made before the service runs)."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Annotated

import typer
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from fleet_manager.auth import accounts
from fleet_manager.cli import credentials
from fleet_manager.cli.client import ApiError, Client, api_url
from fleet_manager.cli.common import ApiOpt, api_problem, cli_lang, pad
from fleet_manager.cli.common import fail as _fail
from fleet_manager.cli.credentials import Credentials, CredentialsError
from fleet_manager.core.errors import DomainError, InvalidInput
from fleet_manager.db.engine import make_engine, upgrade
from fleet_manager.i18n import t
from fleet_manager.settings import Settings
from fleet_manager.sites.service import list_sites

user_app = typer.Typer(help="Manage users: add, list, disable, enable, password (on the database of "
                                "LABFLEET_DATABASE_URL).",
                       no_args_is_help=True)

PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="read the password from the first line of "
                                                                     "standard input instead of prompting")]




def _password(from_stdin: bool, confirm: bool) -> str:
    lang = cli_lang()
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            _fail(t(lang, "cli.no_password_on_stdin"), 2)
        return line
    password: str = typer.prompt(t(lang, "cli.prompt_password"), hide_input=True,
                                 confirmation_prompt=t(lang, "cli.prompt_repeat") if confirm else False)
    return password


@contextlib.contextmanager
def _database() -> Iterator[tuple[Settings, Engine]]:
    """The database of LABFLEET_DATABASE_URL, migrated, disposed afterwards. A domain error ends the command
    naming the problem: exit 2 for bad input, 1 otherwise (no such user, name taken, the last admin)."""
    settings = Settings()
    engine = make_engine(settings.database_url)
    try:
        try:
            upgrade(engine)
        except Exception as exc:
            lang = cli_lang()
            url = make_url(settings.database_url).render_as_string(hide_password=True)
            _fail(t(lang, "cli.database_unopenable", url=url, error=exc))
        yield settings, engine
    except DomainError as exc:
        _fail(_problem(exc), 2 if isinstance(exc, InvalidInput) else 1)
    finally:
        engine.dispose()


def _problem(exc: DomainError) -> str:
    return f"{exc.field}: {exc.message}" if exc.field and exc.field not in exc.message else exc.message


def login(
    api: ApiOpt = None,
    username: Annotated[str | None, typer.Option(help="user name (prompted when not given)")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Log in to a fleet manager; the tokens are kept (mode 0600) for the other commands."""
    lang = cli_lang()
    base = api_url(api)
    name = username or typer.prompt(t(lang, "cli.prompt_username"))
    password = _password(password_stdin, confirm=False)
    try:
        tokens = Client(base).login(name, password)
        path = credentials.save(Credentials(base, name, tokens["access_token"], tokens["refresh_token"]))
    except ApiError as exc:
        _fail(t(lang, "cli.login_refused", detail=exc.detail) if exc.status else api_problem(lang, exc))
    except CredentialsError as exc:
        _fail(str(exc))
    typer.echo(t(lang, "cli.logged_in", api=base, name=name, role=tokens["role"], sites=", ".join(tokens["sites"]),
                 path=path))


def logout() -> None:
    """Log out: the fleet manager ends the stored login's session (its tokens are refused) and the stored tokens are
    deleted."""
    lang = cli_lang()
    try:
        stored = credentials.load()
    except CredentialsError as exc:
        _fail(str(exc))
    if stored is None:
        typer.echo(t(lang, "cli.not_logged_in"))
        return
    ended = "cli.logged_out"
    try:
        Client(stored.api).logout(stored)
    except ApiError as exc:
        if exc.status != 401:  # out of reach, or refused otherwise: the tokens are kept, to try again
            _fail(t(lang, "cli.logout_failed", problem=api_problem(lang, exc), path=credentials.credentials_path()))
        ended = "cli.logged_out_already"  # the tokens were refused already: nothing is left to end
    try:
        credentials.delete()
    except CredentialsError as exc:
        _fail(str(exc))
    typer.echo(t(lang, ended, api=stored.api, name=stored.username))


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="user name: a-z, 0-9, '.', '_', '-'")],
    role: Annotated[str, typer.Option(help="viewer | researcher | operator | admin")],
    site: Annotated[list[str] | None, typer.Option(
        "--site", help="a site the user may use (repeat for more; '*': every site; an admin has every site)")] = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Add a user with a role and its sites."""
    with _database() as (settings, engine):
        known = list_sites(settings.sites_dir) if settings.sites_dir.is_dir() else None
        accounts.check_username(name)
        accounts.check_sites(accounts.parse_role(role), site or [], known)
        password = _password(password_stdin, confirm=True)
        account = accounts.add_user(engine, name, password, role, site or [], known)
    lang = cli_lang()
    typer.echo(t(lang, "cli.user_added", name=account.username, role=account.role, sites=", ".join(account.sites)))


@user_app.command("list")
def user_list() -> None:
    """Every user: role, sites, and whether it is enabled."""
    with _database() as (_, engine):
        users = accounts.list_users(engine)
    lang = cli_lang()
    typer.echo(f"{pad(t(lang, 'cli.users_user'), 20)} {pad(t(lang, 'cli.users_role'), 11)} "
               f"{pad(t(lang, 'cli.users_sites'), 30)} {t(lang, 'cli.users_state')}")
    for u in users:  # the role, the sites and the state as they are stored: scripts read them
        typer.echo(f"{u.username:<20} {u.role:<11} {','.join(u.sites):<30} {'enabled' if u.enabled else 'disabled'}")


@user_app.command("disable")
def user_disable(name: Annotated[str, typer.Argument(help="the user to disable")]) -> None:
    """Disable a user: logins and its tokens are refused from now on (within seconds by a running service)."""
    with _database() as (_, engine):
        account = accounts.disable_user(engine, name)
    lang = cli_lang()
    typer.echo(t(lang, "cli.user_disabled", name=account.username))


@user_app.command("enable")
def user_enable(name: Annotated[str, typer.Argument(help="the user to enable again")]) -> None:
    """Enable a disabled user again (it logs in anew; its old tokens stay revoked)."""
    with _database() as (_, engine):
        account = accounts.enable_user(engine, name)
    lang = cli_lang()
    typer.echo(t(lang, "cli.user_enabled", name=account.username))


@user_app.command("password")
def user_password(name: Annotated[str, typer.Argument(help="the user whose password to set")],
                  password_stdin: PasswordStdin = False) -> None:
    """Set a user's password; the tokens it was issued before are refused from then on."""
    with _database() as (_, engine):
        password = _password(password_stdin, confirm=True)
        account = accounts.change_password(engine, name, password)
    lang = cli_lang()
    typer.echo(t(lang, "cli.password_changed", name=account.username))
