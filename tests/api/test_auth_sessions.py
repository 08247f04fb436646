"""Token families through the API, on SQLite and PostgreSQL (issue 19, "a login that cannot be gamed"): a refresh
token is used once (each refresh hands out the next of its login's family); presenting a spent one again revokes the
family, its newest refresh token and its access tokens included; logging out revokes it too; two refreshes racing
with one token never both pass; expired families are deleted."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, insert, text

from fleet_manager.auth import sessions
from fleet_manager.auth.service import ACCESS_REVOKED, BEFORE_ROTATION, REUSED, SESSION_ENDED
from fleet_manager.auth.tokens import issue
from fleet_manager.db.tables import RefreshToken, TokenFamily, utcnow
from tests.api.conftest import JWT_SECRET, USER_PASSWORD, MakeUser, bearer, login

API = "/api/v1"
RACES = 8
RACERS = 3


def refresh(client: TestClient, token: str) -> Any:
    return client.post(f"{API}/auth/refresh", json={"refresh_token": token})


def refused(client: TestClient, access: str) -> str | None:
    """The detail of the 401 GET /auth/me answers with this access token (None when it is let in)."""
    r = client.get(f"{API}/auth/me", headers=bearer(access))
    if r.status_code == 200:
        return None
    assert r.status_code == 401, r.text
    detail: str = r.json()["detail"]
    return detail


def audit(client: TestClient) -> list[dict[str, Any]]:
    """The audit log, newest first (as the admin of `client`)."""
    r = client.get(f"{API}/audit")
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()
    return entries


def engine_of(client: TestClient) -> Engine:
    engine: Engine = client.app.state.lab.engine  # type: ignore[attr-defined]
    return engine


def test_each_refresh_hands_out_the_next_pair_and_spends_the_token(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    pair = login(client, "rita", USER_PASSWORD)
    seen = {pair["refresh_token"]}
    for _ in range(3):
        r = refresh(client, pair["refresh_token"])
        assert r.status_code == 200, r.text
        pair = r.json()
        assert pair["refresh_token"] not in seen
        seen.add(pair["refresh_token"])
        assert refused(client, pair["access_token"]) is None
    with engine_of(client).connect() as conn:  # make_user's login is a family of its own: one token
        rows = conn.execute(text("SELECT f.id, f.revoked_at, COUNT(t.jti), COUNT(t.spent_at) FROM token_family f "
                                 "JOIN refresh_token t ON t.family_id = f.id WHERE f.username = 'rita' "
                                 "GROUP BY f.id, f.revoked_at ORDER BY COUNT(t.jti)")).all()
    assert [tuple(row[1:]) for row in rows] == [(None, 1, 0), (None, 4, 3)]  # three spent, the newest not


def test_a_reused_refresh_token_revokes_its_whole_family(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    first = login(client, "rita", USER_PASSWORD)
    other = login(client, "rita", USER_PASSWORD)  # another login of hers: a family of its own
    r = refresh(client, first["refresh_token"])
    assert r.status_code == 200, r.text
    second = r.json()
    assert refused(client, second["access_token"]) is None

    r = refresh(client, first["refresh_token"])  # spent: whoever presents it again holds a stolen copy
    assert (r.status_code, r.json()["detail"]) == (401, REUSED)
    assert r.headers["www-authenticate"] == "Bearer"
    assert REUSED == "refresh token already used: its sessions are revoked; log in again"
    r = refresh(client, second["refresh_token"])  # the family's newest refresh token too
    assert (r.status_code, r.json()["detail"]) == (401, SESSION_ENDED)
    assert refused(client, second["access_token"]) == ACCESS_REVOKED  # and its access tokens
    assert refused(client, first["access_token"]) == ACCESS_REVOKED
    with engine_of(client).connect() as conn:
        reasons = conn.execute(text("SELECT revoked_reason FROM token_family WHERE username = 'rita'")).scalars()
        assert sorted(map(str, reasons)) == ["None", "None", "reuse"]  # make_user's login, the other, this one

    assert refused(client, other["access_token"]) is None  # her other login is untouched
    assert refresh(client, other["refresh_token"]).status_code == 200
    assert login(client, "rita", USER_PASSWORD)["refresh_token"]  # and she may log in again
    refreshes = [(e["username"], e["outcome"], e["status_code"], "already used" in e["detail"])
                 for e in audit(client) if e["action"] == "POST /auth/refresh"]
    assert refreshes == [("rita", "ok", 200, False), (None, "refused", 401, False), ("rita", "refused", 401, True),
                         ("rita", "ok", 200, False)]  # newest first: the audit log names whose token was reused


def test_a_refresh_token_from_before_token_families_is_refused(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    legacy = issue(JWT_SECRET, "rita", "refresh", 0, 600)  # no `fam` claim: issued before rotation
    r = refresh(client, legacy)
    assert (r.status_code, r.json()["detail"]) == (401, BEFORE_ROTATION)
    old_access = issue(JWT_SECRET, "rita", "access", 0, 600)  # an access token of then lives out its minutes
    assert refused(client, old_access) is None


def test_logout_revokes_the_session_of_its_refresh_token(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    make_user("carl", "operator", ["city_block"])  # a user of another site logs out too
    session = login(client, "rita", USER_PASSWORD)
    other = login(client, "rita", USER_PASSWORD)
    carl = login(client, "carl", USER_PASSWORD)

    def logout(access: str | None, refresh_token: str) -> Any:
        return client.post(f"{API}/auth/logout", json={"refresh_token": refresh_token},
                           headers=bearer(access) if access else {"Authorization": ""})

    assert logout(None, session["refresh_token"]).status_code == 401  # a signed-in user only
    for body, why in ((session["access_token"], "not a refresh token"), (carl["refresh_token"], "not of user 'rita'")):
        r = logout(session["access_token"], body)
        assert (r.status_code, r.json()["field"]) == (422, "refresh_token") and why in r.json()["detail"], r.text
    assert refused(client, carl["access_token"]) is None  # carl's refresh token was not revoked by rita

    r = logout(session["access_token"], session["refresh_token"])
    assert r.status_code == 204 and r.content == b""
    assert refused(client, session["access_token"]) == ACCESS_REVOKED
    r = refresh(client, session["refresh_token"])
    assert (r.status_code, r.json()["detail"]) == (401, SESSION_ENDED)
    assert logout(other["access_token"], session["refresh_token"]).status_code == 204  # again: nothing changes
    assert refused(client, other["access_token"]) is None  # the other login goes on
    assert refresh(client, other["refresh_token"]).status_code == 200
    assert logout(carl["access_token"], carl["refresh_token"]).status_code == 204
    assert refused(client, carl["access_token"]) == ACCESS_REVOKED
    logouts = [(e["username"], e["status_code"]) for e in audit(client) if e["action"] == "POST /auth/logout"]
    assert logouts == [("carl", 204), ("rita", 204), ("rita", 204), ("rita", 422), ("rita", 422), (None, 401)]


def test_two_refreshes_racing_with_one_token_never_both_pass(client: TestClient, make_user: MakeUser) -> None:
    """Each round, RACERS threads present one refresh token at the same moment: exactly one gets the next pair;
    the others present a spent token, which revokes the family (a race and a theft cannot be told apart), so the
    winner's pair is refused afterwards too (a third finds the family revoked already)."""
    make_user("rita", "researcher")
    racers = [TestClient(client.app) for _ in range(RACERS)]
    for racer in racers:
        racer.portal = client.portal  # the lab's event loop
    for round_ in range(RACES):
        token = login(client, "rita", USER_PASSWORD)["refresh_token"]
        start = threading.Barrier(RACERS)
        answers: list[Any] = [None] * RACERS

        def race(i: int, token: str = token, start: threading.Barrier = start, answers: list[Any] = answers) -> None:
            start.wait()
            answers[i] = refresh(racers[i], token)

        threads = [threading.Thread(target=race, args=(i,)) for i in range(RACERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        statuses = sorted(a.status_code for a in answers)
        said = [(a.status_code, a.json().get("detail", "a token pair")) for a in answers]
        assert statuses == [200] + [401] * (RACERS - 1), f"round {round_}: {said}"
        details = sorted(a.json()["detail"] for a in answers if a.status_code == 401)
        assert details[0] == REUSED and set(details) <= {REUSED, SESSION_ENDED}, (round_, details)  # later: revoked
        winner = next(a.json() for a in answers if a.status_code == 200)
        assert refused(client, winner["access_token"]) == ACCESS_REVOKED, round_
        assert refresh(client, winner["refresh_token"]).status_code == 401, round_


def test_expired_families_are_deleted_at_a_login(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    kept = login(client, "rita", USER_PASSWORD)
    engine = engine_of(client)
    past = utcnow() - timedelta(days=1)
    with engine.begin() as conn:
        conn.execute(insert(TokenFamily).values(id="old", username="rita", created_at=past - timedelta(days=7),
                                                expires_at=past, revoked_at=past, revoked_reason="logout"))
        conn.execute(insert(RefreshToken).values(jti="old-1", family_id="old", expires_at=past, spent_at=past))
        conn.execute(insert(RefreshToken).values(jti="old-2", family_id="old", expires_at=past))
    client.app.state.lab.auth._pruned_at = None  # type: ignore[attr-defined]  # the next login prunes
    login(client, "rita", USER_PASSWORD)
    with engine.connect() as conn:
        families = conn.execute(text("SELECT id FROM token_family")).scalars().all()
        tokens = conn.execute(text("SELECT jti FROM refresh_token")).scalars().all()
    assert "old" not in families and not {"old-1", "old-2"} & set(tokens)
    assert len(families) == 4  # the admin's (conftest), make_user's, and these two of rita's
    assert refresh(client, kept["refresh_token"]).status_code == 200
    assert sessions.prune(engine) == 0  # nothing else has expired


def test_an_expired_refresh_token_is_refused_before_the_database(client: TestClient, make_user: MakeUser) -> None:
    make_user("rita", "researcher")
    expired = issue(JWT_SECRET, "rita", "refresh", 0, 60, now=time.time() - 3600, family="f", jti="j")
    r = refresh(client, expired)
    assert (r.status_code, r.json()["detail"]) == (401, "refresh token expired")
