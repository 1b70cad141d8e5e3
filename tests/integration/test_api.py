"""The facade as the tray and admins use it: a real api process (with the spooler and sync
where jobs are needed), called over HTTP. Here: status, tokens, the one error shape and login;
its jobs are test_api_jobs.py's, its settings test_api_settings.py's. The helpers below are
shared with those and with the audit and printer reset tests."""

from __future__ import annotations

import json
import os
import pathlib
import pwd
import ssl
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

import httpx
import pytest
import trustme

from services.core import users
from services.core.ipp import Operation, Tag
from support.client import Client
from support.server import ServerProcess
from support.waiting import wait_for

HELD = {"name": "hall", "kind": "pull"}  # serverless pull port: jobs stay held, never print


class Api:
    """HTTP calls to one client's facade, with or without the admin token."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self.base = f"http://127.0.0.1:{client.api_port}"
        client.wait_listening(client.api_port)
        token_file = client.root / "state" / "api.token"
        self.token = wait_for(lambda: token_file.exists() and token_file.read_text().strip())

    def call(
        self, method: str, path: str, *, token: str | None = None, **kw: Any
    ) -> httpx.Response:
        headers = kw.pop("headers", {}) | ({"Authorization": f"Bearer {token}"} if token else {})
        return httpx.request(method, self.base + path, headers=headers, timeout=30, **kw)

    def admin(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self.call(method, path, token=self.token, **kw)


def start_api(make_client, *services: str, printers=None, **settings: Any) -> Api:
    client = make_client(printers, **settings)
    client.start("api", *services)
    return Api(client)


class Held(NamedTuple):
    """A job printed to the held port, by both of its numbers."""

    id: str  # its uuid: its id in the facade (JobInfo.id), on the bus and on the server
    ipp_job_id: int  # what the spooler answered (and the store's row id, client.job_state's)


def held_job(client: Client, user: str, document: bytes = b"held") -> Held:
    reply = client.ipp(
        Operation.PRINT_JOB,
        user=user,
        printer="hall",
        document=document,
        job_name=(Tag.NAME, f"{user}'s job"),
    )
    job = reply.group(Tag.JOB)
    return Held(job.get("job-uuid").removeprefix("urn:uuid:"), job.get("job-id"))


def test_status_answers_without_a_token(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")

    status = api.call("GET", "/status")

    assert status.status_code == 200
    body = status.json()
    assert body["mode"] == "local" and body["route"] == "local"
    assert body["services"]["spooler"]["state"] == "running"
    assert body["services"]["api"]["state"] == "running"
    # channel and delivery were not started: said so, not guessed
    assert body["channel"]["state"] == "unreachable"
    assert body["services"]["delivery"]["state"] == "unreachable"
    assert body["ok"] is False
    assert body["sync"]["state"] in ("ok", "running")


CHANGES = [
    ("POST", "/sync", None),
    ("POST", "/jobs/1/cancel", None),
    ("POST", "/login", {"user": "bob", "password": "pw"}),
    ("POST", "/logout", None),
    ("PUT", "/config", {"sync_interval": 120}),
    ("PUT", "/route", {"route": "gateway"}),
    ("PUT", "/language", {"language": "de"}),
    ("GET", "/support-bundle", None),
]


def test_every_change_is_refused_without_the_token_and_accepted_with_it(make_client):
    api = start_api(make_client, "sync")

    for method, path, body in CHANGES:
        for token in (None, "not-the-token"):
            refused = api.call(method, path, token=token, json=body)
            assert refused.status_code == 401, (method, path, refused.text)
            assert refused.json()["detail"]["code"] == "unauthorized"
        accepted = api.admin(method, path, json=body)
        # accepted = past the token check; the change itself may still be refused on its merits
        assert accepted.status_code != 401, (method, path, accepted.text)
        assert accepted.status_code < 500, (method, path, accepted.text)

    assert "sync_interval = 120" in api.client.config.read_text()
    assert api.admin("GET", "/language").json()["language"] == "de"
    assert api.client.logs().count(api.token) == 0  # never logged


def test_errors_have_one_shape_and_no_traceback(make_client):
    api = start_api(make_client, login_type="custom", server_url="https://print.example.com")

    answers = [
        api.call("GET", "/no-such-page"),
        api.admin("POST", "/jobs/12345/cancel"),
        api.admin("POST", "/jobs/not a job id!/cancel"),
        api.admin("PUT", "/route", json={"route": "carrier-pigeon"}),
        api.admin("PUT", "/language", content=b"{not json", headers={"Content-Type": "x"}),
        api.admin("POST", "/logout", json=None),  # custom login, and nobody logged in
    ]

    assert [a.status_code for a in answers] == [404, 404, 404, 422, 422, 409]
    for answer in answers:
        detail = answer.json()["detail"]
        assert set(detail) >= {"code", "message"} and "Traceback" not in answer.text


def run_as(user: str, work: Callable[[], Any]) -> Any:
    """Run ``work`` in a forked child that became ``user``; its JSON result.

    A fork rather than a new interpreter: the interpreter lives below /root, which another
    user cannot read, and a fork needs nothing from the disk.
    """
    entry = pwd.getpwnam(user)
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        status = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            with os.fdopen(write_end, "w") as out:
                json.dump(work(), out)
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end) as answer:
        text = answer.read()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and text, "the child failed"
    return json.loads(text)


@pytest.fixture
def server(tmp_path: pathlib.Path) -> Iterator[ServerProcess]:
    """The reference server (real process, trustme TLS, its CA in ``tmp_path/ca.pem``); only
    its /api/v1/login is used here."""
    ca = trustme.CA()
    leaf = ca.issue_cert("127.0.0.1")
    cert, key, ca_file = tmp_path / "server.pem", tmp_path / "server.key", tmp_path / "ca.pem"
    leaf.private_key_pem.write_to_path(str(key))
    leaf.cert_chain_pems[0].write_to_path(str(cert))
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.create_default_context(cafile=str(ca_file))
    process = ServerProcess(tmp_path / "server", cert, key, context, None)
    process.start()
    yield process
    process.stop()


def test_login_maps_the_callers_os_user_after_the_server_checked_the_password(
    make_client, server, tmp_path
):
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "alice", "password": "pw-alice"})
    api = start_api(
        make_client,
        login_type="custom",
        server_url=server.base_url,
        ca_file=str(tmp_path / "ca.pem"),
    )

    wrong = api.admin("POST", "/login", json={"user": "alice", "password": "guess"})
    right = api.admin("POST", "/login", json={"user": "alice", "password": "pw-alice"})

    assert wrong.status_code == 403 and wrong.json()["detail"]["code"] == "login-refused"
    assert right.status_code == 200, right.text
    assert right.json() == {
        "ok": True,
        "os_user": "root",
        "server_user": "alice",
        "signed_out": False,
    }
    assert users.load_map(api.client.store) == {"root": "alice"}
    assert "pw-alice" not in api.client.logs()
    logout = api.admin("POST", "/logout").json()
    assert logout["server_user"] is None and logout["signed_out"] is True
    assert users.load_map(api.client.store) == {}
    assert api.call("GET", "/status").json()["signed_out"] is True
    assert api.admin("POST", "/logout").status_code == 409


def test_os_login_logout_signs_the_machine_out_and_back_in(make_client):
    api = start_api(make_client)

    out = api.admin("POST", "/logout")
    assert out.status_code == 200 and out.json()["signed_out"] is True
    assert users.signed_out(api.client.store)

    back = api.admin("POST", "/login", json={})
    assert back.status_code == 200 and back.json()["signed_out"] is False
    assert api.call("GET", "/status").json()["signed_out"] is False
