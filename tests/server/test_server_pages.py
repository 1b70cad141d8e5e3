"""The HTML pages: My profile with its Release buttons, and the admin overview."""

from __future__ import annotations

from support.server import ServerProcess, add_printer_and_port, authorized_endpoint
from support.waiting import wait_for
from tests.server.clients import header, unique, upload
from tests.server.peers import RawSink


def test_my_profile_lists_held_jobs_and_releases_them(
    server: ServerProcess, raw_sink: RawSink
) -> None:
    printer = unique("raw")
    port_id = add_printer_and_port(server, printer, raw_sink.port)
    user, job_id = unique("gina"), unique("job")
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": user, "password": "pw"})
    _, token = authorized_endpoint(server)
    head = header(token, job_id, port_id, b"from the page", owner=user)
    assert upload(server.gateway_port, server.ca, head, b"from the page").code == "stored"  # type: ignore[union-attr]

    with server.http() as browser:
        browser.follow_redirects = True
        assert "Sign in" in browser.get("/me").text  # not signed in: sent to the login form
        wrong = browser.post("/login", data={"user": user, "password": "nope"})
        assert "wrong password" in wrong.text
        profile = browser.post("/login", data={"user": user, "password": "pw"})
        assert "Held jobs (1)" in profile.text and job_id in profile.text
        assert f"Release at {printer}" in profile.text
        after = browser.post("/me/release", data={"printer": printer})
        assert "Held jobs (0)" in after.text
    wait_for(lambda: raw_sink.documents() == [b"from the page"], 30, "released from the page")


def test_admin_overview_needs_the_admin_token(server: ServerProcess) -> None:
    hostname = unique("pc")
    authorized_endpoint(server, hostname)
    with server.http() as browser:
        browser.follow_redirects = True
        assert hostname not in browser.get("/admin").text
        browser.post("/admin/login", data={"token": "wrong"})
        assert hostname not in browser.get("/admin").text
        page = browser.post("/admin/login", data={"token": server.admin_token})
        assert hostname in page.text and "Endpoints" in page.text


def test_admin_overview_authorizes_and_revokes_endpoints(server: ServerProcess) -> None:
    hostname = unique("pc")
    with server.http() as client:
        reg = client.post("/api/v1/endpoints", json={"hostname": hostname}).json()
    endpoint_id = reg["endpoint_id"]
    with server.http() as browser:
        browser.follow_redirects = True
        browser.post("/admin/login", data={"token": server.admin_token})
        browser.post(f"/admin/endpoints/{endpoint_id}/authorize")
        with server.http() as client:
            poll = client.post(
                f"/api/v1/endpoints/{endpoint_id}/token", json={"secret": reg["secret"]}
            ).json()
        assert poll["state"] == "authorized"
        browser.post(f"/admin/endpoints/{endpoint_id}/revoke")
    with server.http(poll["token"]) as client:
        assert client.get("/api/v1/printers").status_code == 401
