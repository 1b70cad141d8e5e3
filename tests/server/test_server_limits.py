"""Issue 19, findings 8 and 9: failed logins are limited per user name and per client address,
registrations per address, each with a 429 and a Retry-After; the counts live in the database,
so they hold across server processes; a registration no admin authorizes expires. Clients on
other addresses are real connections from another loopback address (127.0.0.2)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from support.server import ServerProcess, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import unique

OTHER_ADDRESS = "127.0.0.2"  # all of 127/8 is loopback on Linux: a second client address


def client_from(server: ServerProcess, address: str) -> httpx.Client:
    """A client whose connections come from `address`, which is what the server counts by."""
    transport = httpx.HTTPTransport(verify=server.ca, local_address=address)
    return httpx.Client(base_url=server.base_url, transport=transport, timeout=30)


def add_users(server: ServerProcess, *names: str) -> None:
    with server.admin() as admin:
        for name in names:
            admin.post("/api/v1/admin/users", json={"name": name, "password": "pw"})


def log_in(client: httpx.Client, user: str, password: str) -> httpx.Response:
    return client.post("/api/v1/login", json={"user": user, "password": password})


def assert_too_many(response: httpx.Response, window: float) -> None:
    assert response.status_code == 429, response.text
    assert 1 <= int(response.headers["retry-after"]) <= window
    if response.headers["content-type"].startswith("application/json"):
        assert response.json()["detail"]["code"] == "too-many-attempts"


def test_failed_logins_for_one_user_name_are_refused_with_retry_after(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--login-user-failures", "3", "--login-window", "600")
    alice, bob, nobody = unique("alice"), unique("bob"), unique("nobody")
    add_users(server, alice, bob)
    with server.http() as client:
        for name in (alice, nobody):  # a name that does not exist is limited the same way
            assert [log_in(client, name, "guess").status_code for _ in range(3)] == [401] * 3
            assert_too_many(log_in(client, name, "guess"), 600)
        # Refused before the password is checked: the right one does not get through either,
        # on the REST API or the sign-in page.
        assert_too_many(log_in(client, alice, "pw"), 600)
        page = client.post("/login", data={"user": alice, "password": "pw"})
        assert_too_many(page, 600)
        assert "Too many failed sign-ins" in page.text
        assert log_in(client, bob, "pw").status_code == 200  # another user, same address


def test_failed_logins_from_one_address_are_refused_with_retry_after(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--login-address-failures", "3", "--login-user-failures", "100")
    alice = unique("alice")
    add_users(server, alice)
    with client_from(server, OTHER_ADDRESS) as guesser:
        for _ in range(3):  # a different name each time: the per-user limit does not apply
            assert log_in(guesser, unique("name"), "guess").status_code == 401
        assert_too_many(log_in(guesser, alice, "pw"), 900)
        # The admin page's token form counts with the same address.
        admin_page = guesser.post("/admin/login", data={"token": server.admin_token})
        assert_too_many(admin_page, 900)
    with server.http() as client:  # from 127.0.0.1: another address
        assert log_in(client, alice, "pw").status_code == 200


def test_a_refused_login_works_again_once_the_window_has_passed(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--login-user-failures", "1", "--login-window", "5")
    alice = unique("alice")
    add_users(server, alice)
    with server.http() as client:
        assert log_in(client, alice, "guess").status_code == 401
        assert_too_many(log_in(client, alice, "pw"), 5)
        # Refused attempts do not count, so trying until it works does not extend the lock.
        wait_for(lambda: log_in(client, alice, "pw").status_code == 200, 30, "login after window")


def test_login_limits_hold_across_server_processes_on_one_database(
    start_server: Callable[..., ServerProcess], db_kind: str
) -> None:
    first = start_server("--login-user-failures", "4")
    # PostgreSQL: start_server gives both the test's database; SQLite: the first one's file.
    same_db = ("--db", f"sqlite:///{first.data_dir}/server.db") if db_kind == "sqlite" else ()
    second = start_server("--login-user-failures", "4", *same_db, name="second")
    alice = unique("alice")
    add_users(first, alice)
    for server in (first, second, first, second):
        with server.http() as client:
            assert log_in(client, alice, "guess").status_code == 401
    for server in (first, second):  # each process saw two failures, the database four
        with server.http() as client:
            assert_too_many(log_in(client, alice, "pw"), 900)


def test_registrations_from_one_address_are_limited_with_retry_after(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--registrations-per-address", "3", "--registration-window", "600")
    names = [unique("pc") for _ in range(4)]
    with client_from(server, OTHER_ADDRESS) as flood:
        for name in names[:3]:
            assert flood.post("/api/v1/endpoints", json={"hostname": name}).status_code == 201
        assert_too_many(flood.post("/api/v1/endpoints", json={"hostname": names[3]}), 600)
    with server.admin() as admin:
        listed = {e["hostname"] for e in admin.get("/api/v1/admin/endpoints").json()}
    assert set(names[:3]) <= listed and names[3] not in listed  # the refused one left nothing
    with server.http() as client:  # another address registers as usual
        reply = client.post("/api/v1/endpoints", json={"hostname": unique("pc")})
        assert reply.status_code == 201


def test_a_registration_nobody_authorizes_expires(
    start_server: Callable[..., ServerProcess],
) -> None:
    server = start_server("--pending-registration-ttl", "3", "--expiry-interval", "0.2")
    kept_id, kept_token = authorized_endpoint(server, unique("kept"))
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": unique("pc")}).json()
        poll_url = f"/api/v1/endpoints/{reg['endpoint_id']}/token"
        assert client.post(poll_url, json={"secret": reg["secret"]}).json()["state"] == "pending"

        def expired() -> bool:
            return client.post(poll_url, json={"secret": reg["secret"]}).status_code == 404

        wait_for(expired, 30, "the pending registration to be refused")
    with server.admin() as admin:

        def listed() -> set[int]:
            return {e["id"] for e in admin.get("/api/v1/admin/endpoints").json()}

        wait_for(lambda: reg["endpoint_id"] not in listed(), 30, "retention to delete it")
        assert kept_id in listed()  # an authorized endpoint is not a pending registration
    with server.http(kept_token) as client:
        assert client.get("/api/v1/printers").status_code == 200
