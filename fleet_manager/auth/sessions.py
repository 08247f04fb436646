"""Token families in the database (issue 19, "a login that cannot be gamed").

A login starts a family; each refresh spends the refresh token presented and hands out the next one of the family.
A refresh token is used once: presenting a spent one again means two parties hold it (a stolen token, or a client
racing itself, which cannot be told apart), and the whole family is revoked. A revoked family's refresh and access
tokens are refused. Logging out revokes the family too.

Every change to a family runs in one transaction that first takes the family's row with a conditional UPDATE
(PostgreSQL: its row lock; SQLite: the write lock, db/locks.py), so two refreshes of one token are serialised:
exactly one spends it, the other finds it spent. Rows are deleted once their tokens have expired (`prune`)."""

from __future__ import annotations

from datetime import datetime
from enum import Enum, StrEnum

from sqlalchemy import Engine, delete, insert, select, update
from sqlmodel import col

from fleet_manager.db.locks import begin_write
from fleet_manager.db.tables import RefreshToken, TokenFamily, utcnow


class Rotation(Enum):
    """What became of a refresh token presented for the next pair."""

    ROTATED = "rotated"  # spent now; the next refresh token is stored
    REUSED = "reused"  # it had been spent already: the family is revoked from now on
    REVOKED = "revoked"  # its family was revoked before (logout, reuse) or no longer exists


class Revocation(StrEnum):
    """Why a family was revoked."""

    LOGOUT = "logout"
    REUSE = "reuse"


def start(engine: Engine, username: str, family: str, jti: str, expires_at: datetime,
          family_expires_at: datetime) -> None:
    """A new family with its first refresh token."""
    with engine.begin() as conn:
        conn.execute(insert(TokenFamily).values(id=family, username=username, created_at=utcnow(),
                                                expires_at=family_expires_at))
        conn.execute(insert(RefreshToken).values(jti=jti, family_id=family, expires_at=expires_at))


def rotate(engine: Engine, family: str, spent: str, jti: str, expires_at: datetime,
           family_expires_at: datetime) -> Rotation:
    """Spend the refresh token `spent` of `family` and store its successor `jti`; REUSED (and the family revoked)
    when it was spent already, REVOKED when the family was revoked or is gone."""
    with engine.begin() as conn:
        begin_write(conn)
        live = conn.execute(update(TokenFamily)
                            .where(col(TokenFamily.id) == family, col(TokenFamily.revoked_at).is_(None))
                            .values(expires_at=family_expires_at)).rowcount  # PostgreSQL: the family's row lock
        if not live:
            return Rotation.REVOKED
        now = utcnow()
        spent_now = conn.execute(update(RefreshToken)
                                 .where(col(RefreshToken.jti) == spent, col(RefreshToken.family_id) == family,
                                        col(RefreshToken.spent_at).is_(None))
                                 .values(spent_at=now)).rowcount
        if not spent_now:
            conn.execute(update(TokenFamily).where(col(TokenFamily.id) == family)
                         .values(revoked_at=now, revoked_reason=Revocation.REUSE))
            return Rotation.REUSED
        conn.execute(insert(RefreshToken).values(jti=jti, family_id=family, expires_at=expires_at))
        return Rotation.ROTATED


def revoke(engine: Engine, family: str, reason: Revocation) -> bool:
    """Revoke `family` (its tokens are refused from now on); False when it was revoked before or is gone."""
    with engine.begin() as conn:
        return bool(conn.execute(update(TokenFamily)
                                 .where(col(TokenFamily.id) == family, col(TokenFamily.revoked_at).is_(None))
                                 .values(revoked_at=utcnow(), revoked_reason=reason)).rowcount)


def is_live(engine: Engine, family: str) -> bool:
    """True when `family` exists and is not revoked."""
    with engine.connect() as conn:
        row = conn.execute(select(col(TokenFamily.revoked_at)).where(col(TokenFamily.id) == family)).first()
    return row is not None and row[0] is None


def prune(engine: Engine) -> int:
    """Delete the refresh tokens and families whose tokens have all expired (nothing they could refuse is left);
    the number of rows deleted."""
    now = utcnow()
    expired = select(col(TokenFamily.id)).where(col(TokenFamily.expires_at) < now)
    with engine.begin() as conn:
        tokens = conn.execute(delete(RefreshToken).where(
            (col(RefreshToken.expires_at) < now) | col(RefreshToken.family_id).in_(expired))).rowcount
        families = conn.execute(delete(TokenFamily).where(col(TokenFamily.expires_at) < now)).rowcount
    return tokens + families
