"""The facade as the tray and admins use it: a real api process (with the spooler and sync
where jobs are needed), called over HTTP."""

from __future__ import annotations

import io
import json
import os
import pathlib
import pwd
import ssl
import zipfile
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
import trustme

from protocol.states import JobState
from services.core import users
from services.core.ipp import Operation, Tag
from services.core.store import Job, State
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


def held_job(client: Client, user: str, document: bytes = b"held") -> int:
    reply = client.ipp(
        Operation.PRINT_JOB,
        user=user,
        printer="hall",
        document=document,
        job_name=(Tag.NAME, f"{user}'s job"),
    )
    return reply.group(Tag.JOB).get("job-id")


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
        api.admin("POST", "/jobs/not-a-number/cancel"),
        api.admin("PUT", "/route", json={"route": "carrier-pigeon"}),
        api.admin("PUT", "/language", content=b"{not json", headers={"Content-Type": "x"}),
        api.admin("POST", "/logout", json=None),  # custom login, and nobody logged in
    ]

    assert [a.status_code for a in answers] == [404, 404, 422, 422, 422, 409]
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


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_user_sees_only_own_jobs_and_cannot_cancel_others(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    os.chmod(api.client.root, 0o755)  # nobody must reach run/users/<uid>/ below it
    api.client.wait_printer("hall")
    alices = held_job(api.client, "alice")
    nobodys = held_job(api.client, "nobody")

    def as_nobody() -> dict[str, Any]:
        session = httpx.get(api.base + "/session").json()
        with open(session["token_file"]) as f:
            token = f.read()
        auth = {"Authorization": "Bearer " + token}
        others = httpx.post(f"{api.base}/jobs/{alices}/cancel", headers=auth)
        own = httpx.post(f"{api.base}/jobs/{nobodys}/cancel", headers=auth)
        return {
            "session": session,
            "token": token,
            "jobs": httpx.get(api.base + "/jobs").json(),
            "others": [others.status_code, others.json()],
            "own": [own.status_code, own.json()],
        }

    result = run_as("nobody", as_nobody)

    nobody = pwd.getpwnam("nobody")
    assert result["session"]["user"] == "nobody"
    assert [job["id"] for job in result["jobs"]] == [nobodys]
    assert result["others"] == [
        404,
        {"detail": {"code": "no-such-job", "message": f"no job {alices}"}},
    ]
    assert result["own"][0] == 200 and result["own"][1]["state"] == "canceled"
    assert api.client.job_state(alices) == JobState.PENDING_HELD
    token_file = os.stat(result["session"]["token_file"])
    token_dir = os.stat(os.path.dirname(result["session"]["token_file"]))
    assert (token_file.st_uid, token_file.st_mode & 0o777) == (nobody.pw_uid, 0o600)
    assert (token_dir.st_uid, token_dir.st_mode & 0o777) == (nobody.pw_uid, 0o700)
    # a user token is good only on that user's connections: root holding it gets nothing
    stolen = api.call("POST", f"/jobs/{alices}/cancel", token=result["token"])
    assert stolen.status_code == 401
    assert [job["id"] for job in api.call("GET", "/jobs").json()] == [alices, nobodys]
    # root asking for its own (as the tray does) gets neither alice's nor nobody's.
    assert api.call("GET", "/jobs?mine=true").json() == []


def test_cancel_own_job_deletes_its_document(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    job = held_job(api.client, "root", b"to be canceled")
    assert len(api.client.spool_files()) == 1

    canceled = api.admin("POST", f"/jobs/{job}/cancel")

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["state"] == "canceled"
    assert api.client.job_state(job) == JobState.CANCELED
    assert api.client.spool_files() == []
    again = api.admin("POST", f"/jobs/{job}/cancel")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "job-finished"
    listed = api.call("GET", "/jobs").json()
    assert listed[0]["state_reasons"] and listed[0]["completed_at"] is not None


def test_bad_config_value_is_refused_naming_the_key_and_file_unchanged(make_client):
    api = start_api(make_client)
    before = api.client.config.read_bytes()

    for change, key in (
        ({"sync_interval": -5}, "sync_interval"),
        ({"mode": "carrier-pigeon"}, "mode"),
        ({"no_such_key": 1}, "no_such_key"),
        ({"printers": [{"name": "bad name!"}]}, "printers"),
    ):
        refused = api.admin("PUT", "/config", json=change)
        assert refused.status_code == 422, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "invalid-config" and detail["key"] == key
        assert key in detail["message"]

    assert api.client.config.read_bytes() == before


def test_config_change_keeps_other_keys_and_never_returns_secrets(make_client):
    api = start_api(make_client, printers=[HELD])
    secret_url = "https://admin:hunter2@print.example.com"

    changed = api.admin("PUT", "/config", json={"server_url": secret_url, "sync_interval": 42})

    assert changed.status_code == 200, changed.text
    text = api.client.config.read_text()
    assert "sync_interval = 42" in text and 'name = "hall"' in text and "hunter2" in text
    config = api.call("GET", "/config").json()
    assert config["sync_interval"] == 42 and config["printers"][0]["name"] == "hall"
    assert "hunter2" not in json.dumps(config)
    # a form sending back everything it was shown does not overwrite the secret with ***
    assert api.admin("PUT", "/config", json=config).status_code == 200
    assert "hunter2" in api.client.config.read_text()
    assert api.admin("PUT", "/config", json={"server_url": None}).status_code == 200
    assert "server_url" not in api.client.config.read_text()


def test_support_bundle_has_logs_and_redacted_config_but_no_token_or_document(make_client):
    api = start_api(
        make_client,
        "spooler",
        "sync",
        printers=[HELD],
        server_url="https://admin:hunter2@print.example.com",
        login_type="os",
    )
    api.client.wait_printer("hall")
    held_job(api.client, "root", b"SECRET-DOCUMENT-CONTENT")
    user_token = (api.client.root / api.call("GET", "/session").json()["token_file"]).read_text()

    reply = api.admin("GET", "/support-bundle", params={"days": 1})

    assert reply.status_code == 200 and reply.headers["content-type"] == "application/zip"
    bundle = zipfile.ZipFile(io.BytesIO(reply.content))
    names = bundle.namelist()
    assert {"logs/api.log", "logs/spooler.log", "config.json", "versions.json"} <= set(names)
    assert {"store.json"} <= set(names)
    everything = b"".join(bundle.read(name) for name in names)
    assert b"SECRET-DOCUMENT-CONTENT" not in everything
    assert api.token.encode() not in everything and user_token.encode() not in everything
    assert b"hunter2" not in everything
    config = json.loads(bundle.read("config.json"))
    assert config["settings"]["server_url"] == "https://***@print.example.com"
    assert json.loads(bundle.read("store.json"))["jobs"] == {"pending-held": 1}
    assert b"service.started" in bundle.read("logs/api.log")


def test_route_switch_is_persisted(make_client):
    api = start_api(make_client)
    assert api.call("GET", "/route").json() == {
        "route": "local",
        "mode": "local",
        "switchable": True,
    }

    assert api.admin("PUT", "/route", json={"route": "gateway"}).status_code == 200
    api.client.restart("api")
    api.client.wait_listening(api.client.api_port)

    assert api.call("GET", "/route").json()["route"] == "gateway"
    assert wait_for(lambda: api.call("GET", "/status").json())["route"] == "gateway"
    with api.client.store.session() as session:
        assert json.loads(session.get(State, "delivery_route").value) == "gateway"


def test_route_switch_is_refused_outside_local_mode(make_client):
    api = start_api(make_client, mode="gateway", server_url="https://print.example.com")

    refused = api.admin("PUT", "/route", json={"route": "local"})

    assert refused.status_code == 409 and refused.json()["detail"]["code"] == "not-local-mode"
    assert api.call("GET", "/route").json()["switchable"] is False


def test_language_is_persisted_and_limited_to_our_catalogs(make_client):
    api = start_api(make_client)

    assert api.admin("PUT", "/language", json={"language": "cs"}).status_code == 200
    assert api.admin("PUT", "/language", json={"language": "tlh"}).status_code == 422
    api.client.restart("api")
    api.client.wait_listening(api.client.api_port)

    assert api.call("GET", "/language").json() == {"language": "cs"}


def test_about_names_version_and_license(make_client):
    api = start_api(make_client)

    about = api.call("GET", "/about").json()

    assert about["license"] == "Apache-2.0" and about["version"]
    assert any(c["name"] == "fastapi" for c in about["components"])


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


def test_an_unexpected_error_answers_500_internal_without_a_traceback(make_client):
    api = start_api(make_client)
    with api.client.store.session() as session:  # a row no state keyword can describe
        session.add(
            Job(
                uuid="0" * 36,
                printer="hall",
                owner="root",
                size=1,
                sha256="",
                state=99,
                created_at=0.0,
                updated_at=0.0,
            )
        )
        session.commit()

    broken = api.call("GET", "/jobs")

    assert broken.status_code == 500
    assert broken.json() == {
        "detail": {"code": "internal", "message": "internal error; see the api log"}
    }
    log = api.client.root / "log" / "api.log"
    # The line may land just after the answer: wait for it rather than race the writer.
    wait_for(
        lambda: "request.failed method=GET path=/jobs" in log.read_text(), 30, "the failure logged"
    )
    assert api.call("GET", "/about").status_code == 200  # and the facade carries on


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_a_user_logged_in_as_a_server_user_sees_that_users_jobs(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    held_job(api.client, "alice")
    users.set_user(api.client.store, "nobody", "carol")  # as POST /login would, for nobody
    carols = held_job(api.client, "carol")

    listed = run_as("nobody", lambda: httpx.get(api.base + "/jobs").json())

    assert [(job["id"], job["owner"]) for job in listed] == [(carols, "carol")]
