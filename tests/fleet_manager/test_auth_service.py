"""AuthService.access_claims (fleet_manager/auth/service.py): an access token whose signature checked out is not
checked again, but its expiry is, each time; a token that did not check out is never remembered. (Revocation after
a token was seen: tests/api/test_auth_sessions.py, logout and reuse.)"""

from __future__ import annotations

import time

import pytest
from sqlalchemy import create_engine

from fleet_manager.auth import service
from fleet_manager.auth.service import AuthService, NotAuthenticated
from fleet_manager.auth.tokens import issue

SECRET = "a-secret-of-the-auth-service-tests-0123456789"


def auth() -> AuthService:
    return AuthService(create_engine("sqlite://"), SECRET, access_s=60, refresh_s=3600, attempts_per_minute=5)


def test_a_verified_token_is_refused_once_it_expires() -> None:
    svc = auth()
    token = issue(SECRET, "rita", "access", 0, 1.0, family="f")
    expires = svc.access_claims(token).expires_at
    assert svc.access_claims(token).username == "rita"  # (remembered)
    time.sleep(max(0.0, expires - time.time()) + 0.05)
    with pytest.raises(NotAuthenticated, match="access token expired"):
        svc.access_claims(token)
    with pytest.raises(NotAuthenticated, match="access token expired"):  # forgotten: checked afresh
        svc.access_claims(token)


def test_a_token_that_does_not_check_out_is_refused_every_time() -> None:
    svc = auth()
    good = issue(SECRET, "rita", "access", 0, 60)
    svc.access_claims(good)
    header, payload, signature = good.split(".")
    for bad in (f"{header}.{payload}.{signature[:-2]}AA", issue("another-secret-of-32-characters-or-more", "rita",
                                                                  "access", 0, 60),
                issue(SECRET, "rita", "refresh", 0, 60)):
        for _ in range(2):
            with pytest.raises(NotAuthenticated):
                svc.access_claims(bad)


def test_the_remembered_tokens_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(service, "VERIFIED_CACHE_MAX", 3)
    svc = auth()
    tokens = [issue(SECRET, f"user{i}", "access", 0, 60) for i in range(5)]
    for token in tokens:
        svc.access_claims(token)
    assert list(svc._verified) == tokens[2:]
