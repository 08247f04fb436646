"""User accounts in the database: add, list, disable, look up. Used by the API and by `labfleet user`."""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from fleet_manager.auth.passwords import hash_password, password_problem
from fleet_manager.auth.roles import ALL_SITES, Principal, Role
from fleet_manager.core.errors import Conflict, InvalidInput, NotFound
from fleet_manager.db.locks import begin_write
from fleet_manager.db.tables import User, utcnow

USERNAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")


@dataclass(frozen=True)
class Account:
    """A user as the rest of the service sees it (never its password hash)."""

    username: str
    role: Role
    sites: tuple[str, ...]
    enabled: bool
    token_version: int
    created_at: datetime
    disabled_at: datetime | None

    @property
    def principal(self) -> Principal:
        return Principal(self.username, self.role, self.sites)


def _account(row: User) -> Account:
    return Account(row.username, Role(row.role), tuple(row.sites), row.enabled, row.token_version,
                   row.created_at, row.disabled_at)


def check_username(username: str) -> None:
    if not USERNAME.fullmatch(username):
        raise InvalidInput(f"username {username!r} must be 1 to 64 of a-z, 0-9, '.', '_', '-' "
                           "(starting with a letter or digit)", field="username")


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise InvalidInput(f"unknown role {role!r} (one of: {', '.join(Role)})", field="role") from None


def check_sites(role: Role, sites: Sequence[str], known: Collection[str] | None) -> tuple[str, ...]:
    """The sites stored for a user: ("*",) for an admin; otherwise at least one, each known or "*"."""
    if role is Role.admin:
        return (ALL_SITES,)
    if not sites:
        raise InvalidInput(f"a {role} needs at least one site ('*' for all sites)", field="sites")
    for i, site in enumerate(sites):
        if site != ALL_SITES and known is not None and site not in known:
            raise InvalidInput(f"unknown site {site!r} (known: {', '.join(sorted(known))}, or '*')",
                               field=f"sites[{i}]")
    return (ALL_SITES,) if ALL_SITES in sites else tuple(dict.fromkeys(sites))


def add_user(engine: Engine, username: str, password: str, role: str, sites: Sequence[str],
             known_sites: Collection[str] | None = None) -> Account:
    """A new enabled user; InvalidInput naming the field that is wrong, Conflict when the name is taken."""
    check_username(username)
    parsed = parse_role(role)
    stored = check_sites(parsed, sites, known_sites)
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, field="password")
    row = User(username=username, password_hash=hash_password(password), role=parsed.value, sites=list(stored),
               created_at=utcnow())
    with Session(engine, expire_on_commit=False) as session:
        if session.exec(select(User).where(User.username == username)).first() is not None:
            raise Conflict(f"user {username!r} already exists", field="username")
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            raise Conflict(f"user {username!r} already exists", field="username") from None
        return _account(row)


def list_users(engine: Engine) -> list[Account]:
    with Session(engine) as session:
        return [_account(row) for row in session.exec(select(User).order_by(User.username))]  # type: ignore[arg-type]


def count_users(engine: Engine) -> int:
    with Session(engine) as session:
        return int(session.exec(select(func.count()).select_from(User)).one())


def find(engine: Engine, username: str) -> tuple[Account, str] | None:
    """The account and its password hash (None: no such user)."""
    with Session(engine) as session:
        row = session.exec(select(User).where(User.username == username)).first()
        return (_account(row), row.password_hash) if row is not None else None


def get_user(engine: Engine, username: str) -> Account:
    found = find(engine, username)
    if found is None:
        raise NotFound(f"no user {username!r}", field="username")
    return found[0]


def _lock_enabled_admins(session: Session) -> int:
    """The number of enabled admins, counted so that it stays true until the session's transaction ends: their rows
    locked (PostgreSQL: SELECT ... FOR UPDATE, in id order; a second transaction waits, then sees them as this one
    left them), or the database's write lock taken (SQLite: BEGIN IMMEDIATE). The session's first statement."""
    begin_write(session.connection())
    admins = session.exec(select(User.id).where(User.role == Role.admin.value, User.enabled == True)  # noqa: E712
                          .order_by(col(User.id)).with_for_update()).all()
    return len(admins)


def _last_admin(username: str, field: str) -> Conflict:
    return Conflict(f"user {username!r} is the last enabled admin; add another admin first", field=field)


def set_password_hash(engine: Engine, username: str, password_hash: str) -> None:
    with Session(engine) as session:
        row = session.exec(select(User).where(User.username == username)).first()
        if row is not None:
            row.password_hash = password_hash
            session.commit()


def disable_user(engine: Engine, username: str) -> Account:
    """Disable a user and revoke its tokens (their version no longer matches). The last enabled admin stays, also
    when two admins are disabled or demoted at the same moment (the admins are counted under a lock)."""
    with Session(engine, expire_on_commit=False) as session:
        admins = _lock_enabled_admins(session)
        row = session.exec(select(User).where(User.username == username)).first()
        if row is None:
            raise NotFound(f"no user {username!r}", field="username")
        if row.enabled and row.role == Role.admin.value and admins <= 1:
            raise _last_admin(username, "username")
        if row.enabled:
            row.enabled = False
            row.token_version += 1
            row.disabled_at = utcnow()
            session.commit()
        return _account(row)


def enable_user(engine: Engine, username: str) -> Account:
    """Enable a disabled user again (its old tokens stay revoked: it logs in anew)."""
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(select(User).where(User.username == username)).first()
        if row is None:
            raise NotFound(f"no user {username!r}", field="username")
        if not row.enabled:
            row.enabled = True
            row.disabled_at = None
            session.commit()
        return _account(row)


def change_password(engine: Engine, username: str, password: str) -> Account:
    """A new password; the user's tokens issued before are revoked."""
    problem = password_problem(password)
    if problem:
        raise InvalidInput(problem, field="password")
    with Session(engine, expire_on_commit=False) as session:
        row = session.exec(select(User).where(User.username == username)).first()
        if row is None:
            raise NotFound(f"no user {username!r}", field="username")
        row.password_hash = hash_password(password)
        row.token_version += 1
        session.commit()
        return _account(row)


def update_user(engine: Engine, username: str, role: str | None, sites: Sequence[str] | None,
                known_sites: Collection[str] | None = None) -> Account:
    """A new role and/or sites (the other kept). The last enabled admin keeps its role (Conflict), also when two
    admins are demoted or disabled at the same moment (the admins are counted under a lock)."""
    with Session(engine, expire_on_commit=False) as session:
        admins = _lock_enabled_admins(session)
        row = session.exec(select(User).where(User.username == username)).first()
        if row is None:
            raise NotFound(f"no user {username!r}", field="username")
        new_role = parse_role(role) if role is not None else Role(row.role)
        if row.enabled and row.role == Role.admin.value and new_role is not Role.admin and admins <= 1:
            raise _last_admin(username, "role")
        stored = check_sites(new_role, list(sites) if sites is not None else list(row.sites), known_sites)
        row.role = new_role.value
        row.sites = list(stored)
        session.commit()
        return _account(row)
