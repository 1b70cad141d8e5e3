"""Issue 19, finding 11: the admin pages' cookie is an expiring session id, never the admin
token; HttpOnly, SameSite=Strict and Secure; signing out ends it wherever it was copied."""

from __future__ import annotations

from collections.abc import Callable

from server.access import ADMIN_COOKIE
from support.server import ServerProcess
from support.waiting import wait_for
from tests.server.clients import unique


def sign_in(server: ServerProcess) -> tuple[str, str]:
    """The session id the admin page's form sets, and the whole Set-Cookie header."""
    with server.http() as browser:
        reply = browser.post("/admin/login", data={"token": server.admin_token})
    assert reply.status_code == 303
    header = next(h for h in reply.headers.get_list("set-cookie") if h.startswith(ADMIN_COOKIE))
    return header.split(";")[0].split("=", 1)[1], header


def admin_page(server: ServerProcess, cookie: str) -> str:
    """The admin page as a browser holding `cookie` sees it (sent as is, with no jar that
    could drop it on its own: the server must refuse it)."""
    with server.http() as browser:
        return browser.get("/admin", headers={"Cookie": f"{ADMIN_COOKIE}={cookie}"}).text


def signed_in(page: str) -> bool:
    return "Endpoints" in page and "Admin token" not in page


def test_admin_cookie_is_a_session_not_the_token_and_sign_out_ends_it(
    server: ServerProcess,
) -> None:
    session_id, header = sign_in(server)
    assert server.admin_token not in header
    attributes = {a.strip().lower() for a in header.split(";")[1:]}
    assert {"httponly", "secure", "samesite=strict"} <= attributes
    assert any(a.startswith("max-age=") for a in attributes)
    assert signed_in(admin_page(server, session_id))
    # The token itself in the cookie, as older servers set it, opens nothing.
    assert not signed_in(admin_page(server, server.admin_token))
    with server.http() as browser:
        reply = browser.post("/admin/logout", headers={"Cookie": f"{ADMIN_COOKIE}={session_id}"})
    assert reply.status_code == 303
    assert not signed_in(admin_page(server, session_id))  # a copy of the cookie is dead too


def test_a_wrong_admin_token_opens_no_session(server: ServerProcess) -> None:
    with server.http() as browser:
        reply = browser.post("/admin/login", data={"token": "wrong"})
    assert reply.status_code == 303 and "failed" in reply.headers["location"]
    assert not any(h.startswith(ADMIN_COOKIE) for h in reply.headers.get_list("set-cookie"))


def test_admin_session_expires(start_server: Callable[..., ServerProcess]) -> None:
    server = start_server("--admin-session-ttl", "3")
    session_id, _ = sign_in(server)
    assert signed_in(admin_page(server, session_id))
    wait_for(lambda: not signed_in(admin_page(server, session_id)), 30, "the session to expire")


def test_admin_page_actions_need_a_session(server: ServerProcess) -> None:
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": unique("pc")}).json()
        endpoint_id = reg["endpoint_id"]
        cookie = {"Cookie": f"{ADMIN_COOKIE}={server.admin_token}"}
        client.post(f"/admin/endpoints/{endpoint_id}/authorize", headers=cookie)
    with server.admin() as admin:
        states = {e["id"]: e["state"] for e in admin.get("/api/v1/admin/endpoints").json()}
    assert states[endpoint_id] == "pending"
