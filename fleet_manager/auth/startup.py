"""Start-up of accounts: the token secret (refused when it is the default outside demo mode; kept in a file
in demo mode) and the first admin (from LABFLEET_ADMIN_PASSWORD, or in demo mode generated and written to the 0600
file <data_dir>/admin-password, as Jenkins' initialAdminPassword: the log says where it is, never what it is, so
no console scroll-back, supervisor log or CI artefact of a demo holds a working password)."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
from pathlib import Path

from sqlalchemy import Engine

from fleet_manager.auth import accounts
from fleet_manager.auth.roles import ALL_SITES, Role
from fleet_manager.auth.tokens import MIN_SECRET_LENGTH
from fleet_manager.core.errors import Conflict, InvalidInput
from fleet_manager.settings import DEFAULT_JWT_SECRET, Settings

log = logging.getLogger(__name__)

ADMIN = "admin"
DEMO_SECRET_FILE = "jwt_secret"
DEMO_PASSWORD_FILE = "admin-password"


class StartupError(RuntimeError):
    """The service cannot start with these settings; the message says what to change."""


def check_secret(settings: Settings) -> None:
    """StartupError unless the secret may be used (in demo mode the default is replaced by a generated one)."""
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEFAULT_JWT_SECRET:
        if settings.demo:
            return
        raise StartupError(
            "LABFLEET_JWT_SECRET is the built-in default, which is refused outside demo mode: set it to a random "
            f"string of at least {MIN_SECRET_LENGTH} characters (e.g. python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(48))'), or run the demo with `labfleet up --demo`")
    if len(secret) < MIN_SECRET_LENGTH:
        raise StartupError(f"LABFLEET_JWT_SECRET has {len(secret)} characters; it needs at least {MIN_SECRET_LENGTH}")


def jwt_secret(settings: Settings) -> str:
    """The secret that signs tokens: the configured one, or in demo mode the one in <data_dir>/jwt_secret."""
    check_secret(settings)
    secret = settings.jwt_secret.get_secret_value()
    if secret == DEFAULT_JWT_SECRET:
        return demo_secret(settings.data_dir / DEMO_SECRET_FILE)
    return secret


def demo_secret(path: Path) -> str:
    """A random secret kept in `path` (mode 0600), made on first use, so that tokens outlive a restart."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(secrets.token_urlsafe(48) + "\n")
    os.chmod(path, 0o600)
    secret = path.read_text().strip()
    if len(secret) < MIN_SECRET_LENGTH:
        raise StartupError(f"{path} holds a secret of {len(secret)} characters; delete the file to make a new one")
    return secret


def bootstrap_admin(engine: Engine, settings: Settings) -> str | None:
    """With no users yet: user admin from LABFLEET_ADMIN_PASSWORD, or in demo mode with a generated password,
    which is written to <data_dir>/admin-password (mode 0600) and returned. None when nothing was generated."""
    if accounts.count_users(engine) > 0:
        if settings.demo:
            log.info("demo: the users exist already (the admin's password was written to %s when it was made; "
                     "`labfleet user add NAME --role admin` adds another admin)",
                     settings.data_dir / DEMO_PASSWORD_FILE)
        return None
    generated = None
    if settings.admin_password is not None:
        password = settings.admin_password.get_secret_value()
    elif settings.demo:
        password = generated = secrets.token_urlsafe(12)
    else:
        log.warning("there are no users: add an admin with `labfleet user add NAME --role admin` "
                    "(or start with LABFLEET_ADMIN_PASSWORD set)")
        return None
    try:
        accounts.add_user(engine, ADMIN, password, Role.admin, [ALL_SITES])
    except InvalidInput as exc:
        raise StartupError(f"LABFLEET_ADMIN_PASSWORD: {exc.message}") from None
    except Conflict:  # another fleet manager on this database made it first
        return None
    if generated is not None:
        path = write_private(settings.data_dir / DEMO_PASSWORD_FILE, generated)
        log.warning("LabFleet demo admin: user %s, its password is in %s (readable by you only)", ADMIN, path)
    else:
        log.info("created user %s (role admin, all sites) from LABFLEET_ADMIN_PASSWORD", ADMIN)
    return generated


def write_private(path: Path, text: str) -> Path:
    """`text` (and a newline) in `path`, mode 0600 from its creation on (never readable by others, not even for a
    moment); a file of an earlier demo there is replaced."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # (O_CREAT's mode does not apply to a file that existed)
    with os.fdopen(fd, "w") as out:
        out.write(text + "\n")
    return path
