"""JWT access and refresh tokens (HS256). Each carries its `type`, the user, the user's token version, its own id
(`jti`) and the token family of the login it descends from (`fam`; auth/sessions.py keeps the families)."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Literal

import jwt

ALGORITHM = "HS256"
MIN_SECRET_LENGTH = 32  # RFC 7518: an HS256 key has at least 256 bits
TokenType = Literal["access", "refresh"]


class TokenError(Exception):
    """The token cannot be used: malformed, wrongly signed, expired or of the other type."""


@dataclass(frozen=True)
class Claims:
    username: str
    type: TokenType
    version: int
    expires_at: float
    jti: str | None = None
    family: str | None = None  # None: issued before token families (an access token of then is still honoured)


def new_id() -> str:
    """A fresh token or family id."""
    return secrets.token_urlsafe(12)


def issue(secret: str, username: str, token_type: TokenType, version: int, lifetime_s: float,
          now: float | None = None, *, family: str | None = None, jti: str | None = None) -> str:
    issued = time.time() if now is None else now
    payload: dict[str, str | int] = {"sub": username, "type": token_type, "ver": version, "iat": int(issued),
                                     "exp": int(issued + lifetime_s), "jti": jti or new_id()}
    if family is not None:
        payload["fam"] = family
    return jwt.encode(payload, secret, algorithm=ALGORITHM)


def decode(secret: str, token: str, token_type: TokenType, *, verify_expiry: bool = True) -> Claims:
    """The claims of a valid token of this type (expired too, without `verify_expiry`); TokenError naming what is
    wrong otherwise."""
    try:
        payload = jwt.decode(token, secret, algorithms=[ALGORITHM],
                             options={"require": ["exp", "iat", "sub", "type", "ver"], "verify_exp": verify_expiry})
    except jwt.ExpiredSignatureError:
        raise TokenError(f"{token_type} token expired") from None
    except jwt.InvalidTokenError:
        raise TokenError(f"invalid {token_type} token") from None
    version = payload["ver"]
    if payload["type"] != token_type:
        raise TokenError(f"not an {token_type} token" if token_type == "access" else f"not a {token_type} token")
    jti, family = payload.get("jti"), payload.get("fam")
    if not isinstance(version, int) or isinstance(version, bool) or not isinstance(jti, str | None) \
            or not isinstance(family, str | None):
        raise TokenError(f"invalid {token_type} token")
    return Claims(payload["sub"], token_type, version, float(payload["exp"]), jti, family)
