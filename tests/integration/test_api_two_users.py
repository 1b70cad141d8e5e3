"""Two real OS users on one machine and its facade (issue 19, findings 6 and 10): each sees in a
support bundle only their own rows, logs only themselves out, and neither may flip what the
whole machine shares (route, language); root may. A real api process with the spooler and
sync; each user calls it from a forked child that became them (``run_as``), so the facade
learns who they are from the kernel, and uses the token ``GET /session`` made for them."""

from __future__ import annotations

import io
import json
import os
import zipfile
from typing import Any

import httpx

from services.core import users
from tests.integration.test_api import HELD, Api, held_job, run_as, start_api


def start(make_client, **settings: Any) -> Api:
    api = start_api(make_client, "spooler", "sync", printers=[HELD], **settings)
    os.chmod(api.client.root, 0o755)  # each user must reach run/users/<uid>/ below it
    api.client.wait_printer("hall")
    return api


def as_user(api: Api, user: str, *calls: tuple[str, str, dict[str, Any]]) -> list[Any]:
    """``calls`` made by ``user`` with their own token: each ``[status, body]`` (the body is
    JSON, or for a zip its bytes as latin-1 text and the ``X-Bundle-Scope`` header)."""

    def work() -> list[Any]:
        session = httpx.get(api.base + "/session").json()
        with open(session["token_file"]) as f:
            auth = {"Authorization": "Bearer " + f.read().strip()}
        answers = []
        for method, path, kw in calls:
            reply = httpx.request(method, api.base + path, headers=auth, timeout=60, **kw)
            if reply.headers.get("content-type") == "application/zip":
                body: Any = [reply.content.decode("latin-1"), reply.headers.get("x-bundle-scope")]
            else:
                body = reply.json()
            answers.append([reply.status_code, body])
        return answers

    return run_as(user, work)


def unzip(text: str) -> dict[str, bytes]:
    bundle = zipfile.ZipFile(io.BytesIO(text.encode("latin-1")))
    return {name: bundle.read(name) for name in bundle.namelist()}


def test_a_users_support_bundle_holds_only_their_own_rows(make_client, two_users):
    alice, bob = two_users
    api = start(make_client)
    alices, bobs = held_job(api.client, alice), held_job(api.client, bob)
    as_user(api, bob, ("POST", f"/jobs/{bobs.id}/cancel", {}))

    (cancel, bundle) = as_user(
        api,
        alice,
        ("POST", f"/jobs/{alices.id}/cancel", {}),
        ("GET", "/support-bundle", {"params": {"days": 1}}),
    )

    assert cancel[0] == 200 and bundle[0] == 200, bundle
    zip_text, scope = bundle[1]
    files = unzip(zip_text)
    everything = b"".join(files.values())
    # not one line, row or count of bob's: his name, his job, his cancel
    assert bob.encode() not in everything and bobs.id.encode() not in everything
    assert json.loads(files["store.json"])["jobs"] == {"canceled": 1}
    trail = json.loads(files["audit.json"])
    assert [(r["actor"], r["action"], r["subject"]) for r in trail] == [
        (alice, "job.cancel", alices.id)
    ]
    # her own story is there, and the bundle says what it is
    assert alices.id.encode() in files["logs/spooler.log"]
    assert alice.encode() in files["logs/api.log"]
    assert scope == "own" and json.loads(files["scope.json"])["scope"] == "own"
    # root's bundle still holds everyone's
    admin = api.admin("GET", "/support-bundle", params={"days": 1})
    every = unzip(admin.content.decode("latin-1"))
    assert admin.headers["x-bundle-scope"] == "all"
    assert bob.encode() in every["logs/api.log"] and bobs.id.encode() in every["audit.json"]
    assert json.loads(every["store.json"])["jobs"] == {"canceled": 2}


def test_os_login_a_users_logout_leaves_the_other_signed_in_and_the_printers_in_place(
    make_client, two_users
):
    alice, bob = two_users
    api = start(make_client, login_type="os")

    (logout, alices_status) = as_user(api, alice, ("POST", "/logout", {}), ("GET", "/status", {}))
    (bobs_status, bobs_printers) = as_user(
        api, bob, ("GET", "/status", {}), ("GET", "/printers", {})
    )

    assert logout == [200, {"ok": True, "os_user": alice, "server_user": None, "signed_out": False}]
    assert alices_status[1]["signed_out"] is True  # her tray offers to log in again
    assert bobs_status[1]["signed_out"] is False
    assert [p["name"] for p in bobs_printers[1]] == ["hall"]
    assert not users.signed_out(api.client.store)  # sync keeps the server's printers
    assert users.logged_out(api.client.store) == {alice}
    # her login brings back her own session only; root's logout still signs the machine out
    (login, again) = as_user(api, alice, ("POST", "/login", {"json": {}}), ("GET", "/status", {}))
    assert login[0] == 200 and again[1]["signed_out"] is False
    assert api.admin("POST", "/logout").json()["signed_out"] is True


def test_only_root_switches_route_language_and_mode_for_the_whole_machine(make_client, two_users):
    alice, _bob = two_users
    api = start(make_client)
    config = api.client.config.read_bytes()

    route, language, mode = as_user(
        api,
        alice,
        ("PUT", "/route", {"json": {"route": "gateway"}}),
        ("PUT", "/language", {"json": {"language": "de"}}),
        ("PUT", "/config", {"json": {"mode": "hybrid"}}),
    )

    for answer, what in ((route, "delivery route"), (language, "language")):
        assert answer[0] == 403 and answer[1]["detail"]["code"] == "forbidden", answer
        assert what in answer[1]["detail"]["message"] and "admin" in answer[1]["detail"]["message"]
    assert mode[0] == 403 and mode[1]["detail"]["code"] == "forbidden"
    assert api.call("GET", "/route").json()["route"] == "local"
    assert api.call("GET", "/language").json()["language"] == "en"
    assert api.client.config.read_bytes() == config
    assert api.admin("PUT", "/route", json={"route": "gateway"}).status_code == 200
    assert api.admin("PUT", "/language", json={"language": "de"}).status_code == 200
