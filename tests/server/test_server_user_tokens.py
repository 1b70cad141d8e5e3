"""User credentials: login gives a short-lived access token and a rotating refresh token, an
expired access token is refused everywhere, logout and disabling end both, the pages refresh
by themselves, and sessions from before schema 0008 upgrade to a short expiry."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from alembic import command
from sqlalchemy import select

from server import auth, user_tokens
from server.access import COOKIE, REFRESH_COOKIE
from server.models import User, UserSession
from server.store import Store, alembic_config
from server.tokens import TokenPolicy
from support.server import ServerProcess
from support.waiting import wait_for
from tests.server.clients import unique

ACCESS_TTL = 2  # seconds; long enough to use a fresh token, short enough to wait out


@pytest.fixture
def short_user_tokens(start_server: Callable[..., ServerProcess]) -> ServerProcess:
    """User access tokens of 2 s and no grace for used refresh tokens."""
    return start_server("--user-access-token-ttl", str(ACCESS_TTL), "--refresh-grace", "0")


def add_user(server: ServerProcess, name: str) -> None:
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": name, "password": "pw"}).raise_for_status()


def log_in(server: ServerProcess, name: str) -> dict:
    with server.http() as client:
        return client.post("/api/v1/login", json={"user": name, "password": "pw"}).json()


def refresh(server: ServerProcess, refresh_token: str) -> tuple[int, dict]:
    with server.http() as client:
        reply = client.post("/api/v1/login/refresh", json={"refresh_token": refresh_token})
        return reply.status_code, reply.json()


def jobs_status(server: ServerProcess, token: str) -> tuple[int, str]:
    """What GET /api/v1/jobs, a user API, answers the token."""
    with server.http(token) as client:
        reply = client.get("/api/v1/jobs")
        return reply.status_code, (reply.json().get("detail") or {}).get("code", "")


def expired(server: ServerProcess, token: str) -> bool:
    return jobs_status(server, token) == (401, "token-expired")


def test_login_hands_out_an_access_and_a_refresh_token(server: ServerProcess) -> None:
    name = unique("ulla")
    add_user(server, name)

    pair = log_in(server, name)

    assert pair["user"] == name and pair["expires_in"] == 900  # the default, 15 minutes
    assert pair["token"] and pair["refresh_token"] and pair["token"] != pair["refresh_token"]
    assert jobs_status(server, pair["token"]) == (200, "")
    # A refresh token is not an access token: it opens nothing but the refresh call.
    assert jobs_status(server, pair["refresh_token"]) == (401, "unauthorized")


def test_expired_access_token_is_refused_and_refresh_rotates_the_pair(
    short_user_tokens: ServerProcess,
) -> None:
    server = short_user_tokens
    name = unique("ulf")
    add_user(server, name)
    pair = log_in(server, name)
    assert pair["expires_in"] == ACCESS_TTL

    wait_for(lambda: expired(server, pair["token"]), 10, "the access token expiry")
    with server.http(pair["token"]) as client:
        assert (
            client.post("/api/v1/release", json={"user": name, "printer": "x"}).json()["detail"][
                "code"
            ]
            == "token-expired"
        )
    status, fresh = refresh(server, pair["refresh_token"])

    assert status == 200 and fresh["user"] == name and fresh["expires_in"] == ACCESS_TTL
    assert jobs_status(server, fresh["token"]) == (200, "")
    status, reused = refresh(server, pair["refresh_token"])
    assert (status, reused["detail"]["code"]) == (401, "invalid-refresh")
    assert refresh(server, fresh["refresh_token"])[0] == 200
    assert refresh(server, "never-issued")[1]["detail"]["code"] == "invalid-refresh"


def test_a_used_refresh_token_works_again_within_the_grace(server: ServerProcess) -> None:
    """A client whose refresh answer was lost sends the same refresh token again."""
    name = unique("una")
    add_user(server, name)
    pair = log_in(server, name)

    lost = refresh(server, pair["refresh_token"])
    again = refresh(server, pair["refresh_token"])

    assert lost[0] == again[0] == 200
    assert jobs_status(server, again[1]["token"]) == (200, "")
    assert refresh(server, again[1]["refresh_token"])[0] == 200


def test_logout_ends_the_refresh_token_too(short_user_tokens: ServerProcess) -> None:
    server = short_user_tokens
    name = unique("uwe")
    add_user(server, name)
    pair, stale = log_in(server, name), log_in(server, name)

    with server.http(pair["token"]) as client:
        assert client.post("/api/v1/logout").status_code == 200
    # An expired access token still logs its session out: no refresh needed for that.
    wait_for(lambda: expired(server, stale["token"]), 10, "the access token expiry")
    with server.http(stale["token"]) as client:
        assert client.post("/api/v1/logout").status_code == 200

    for ended in (pair, stale):
        assert jobs_status(server, ended["token"]) == (401, "unauthorized")
        status, body = refresh(server, ended["refresh_token"])
        assert (status, body["detail"]["code"]) == (401, "invalid-refresh")
    with server.http("never-issued") as client:
        assert client.post("/api/v1/logout").status_code == 401


def test_disabled_user_cannot_refresh(server: ServerProcess) -> None:
    name = unique("ute")
    add_user(server, name)
    pair = log_in(server, name)

    with server.admin() as admin:
        admin.post(f"/api/v1/admin/users/{name}/disable").raise_for_status()

    assert jobs_status(server, pair["token"]) == (401, "unauthorized")
    status, body = refresh(server, pair["refresh_token"])
    assert (status, body["detail"]["code"]) == (401, "invalid-refresh")  # the session ended
    with server.admin() as admin:
        admin.post(f"/api/v1/admin/users/{name}/enable").raise_for_status()
    assert refresh(server, pair["refresh_token"])[0] == 401  # enabling brings no session back


def test_my_profile_refreshes_an_expired_session_or_sends_to_sign_in(
    short_user_tokens: ServerProcess,
) -> None:
    server = short_user_tokens
    name = unique("uma")
    add_user(server, name)
    with server.http() as browser:
        browser.follow_redirects = True
        assert "Signed in as" in browser.post("/login", data={"user": name, "password": "pw"}).text
        first = browser.cookies[COOKIE]
        wait_for(lambda: expired(server, first), 10, "the access token expiry")

        assert "Signed in as" in browser.get("/me").text  # refreshed on the way
        assert browser.cookies[COOKIE] != first
        assert jobs_status(server, browser.cookies[COOKIE]) == (200, "")

        browser.cookies.delete(REFRESH_COOKIE)
        wait_for(lambda: expired(server, browser.cookies[COOKIE]), 10, "the second expiry")
        assert "Sign in" in browser.get("/me").text


def new_user(store: Store, name: str = "vera") -> User:
    with store.session() as session:
        user = User(name=name, password_hash="-")
        session.add(user)
    return user


def test_refreshing_a_disabled_users_session_ends_all_of_theirs(store: Store) -> None:
    """Disabling deletes the sessions; a refresh that races it finds the flag and does so."""
    store.migrate()
    user = new_user(store)
    policy = TokenPolicy()
    with store.session() as session:
        pair = user_tokens.issue(session, session.merge(user), policy)
        user_tokens.issue(session, session.merge(user), policy)
        session.merge(user).disabled = True

    with store.session() as session, pytest.raises(user_tokens.UserDisabled) as refused:
        try:
            user_tokens.refresh(session, pair.refresh_token, policy)
        finally:
            session.commit()  # as the route does, so the ended sessions stay ended

    assert refused.value.code == "user-disabled"
    with store.session() as session:
        assert session.scalars(select(UserSession)).all() == []


def test_no_session_outlives_its_maximum_however_often_refreshed(store: Store) -> None:
    store.migrate()
    user = new_user(store)
    policy = TokenPolicy(user_access_ttl=900, user_refresh_ttl=3600, user_session_max=300)
    with store.session() as session:
        pair = user_tokens.issue(session, session.merge(user), policy)
        assert pair.expires_in == 300
        row = session.scalars(select(UserSession)).one()
        assert row.refresh_expires_at == row.created_at + 300
        again = user_tokens.refresh(session, pair.refresh_token, policy)
        assert 0 < (again.expires_in or 0) <= 300
        assert row.refresh_expires_at == row.created_at + 300


def test_migration_gives_existing_user_tokens_a_short_expiry(store: Store) -> None:
    """Tokens from before 0008 work for one access lifetime after the upgrade (never past the
    week they were issued for); ones already older than a week are gone."""
    command.upgrade(alembic_config(store.engine), "0007")
    user = new_user(store)
    start = time.time()
    with store.session() as session:
        for token, age in (("recent", 60.0), ("old", 8 * 86400.0), ("nearly", 7 * 86400.0 - 30)):
            session.execute(
                UserSession.__table__.insert().values(
                    user_id=user.id, token_hash=auth.token_hash(token), created_at=start - age
                )
            )

    store.migrate()

    with store.session() as session:
        rows = {r.token_hash: r for r in session.scalars(select(UserSession))}
        assert set(rows) == {auth.token_hash("recent"), auth.token_hash("nearly")}
        recent, nearly = rows[auth.token_hash("recent")], rows[auth.token_hash("nearly")]
        assert start + 900 <= recent.expires_at <= time.time() + 900
        assert nearly.expires_at == pytest.approx(start + 30, abs=1)
        assert recent.refresh_hash is None
        assert user_tokens.check_access(session, "recent").code == "ok"
