"""The client's audit trail as admins see it: real facade processes changed over HTTP, the
rows read back with ``GET /audit`` and from the store, and in the support bundle."""

from __future__ import annotations

import io
import json
import zipfile

from protocol.states import JobState
from services.core import audit
from tests.integration.test_api import HELD, held_job, start_api
from tests.integration.test_api import server as server  # the reference server fixture

HUNTER = "hunter2-PLANTED"


def rows(api) -> list[dict]:
    reply = api.admin("GET", "/audit", params={"limit": 50})
    assert reply.status_code == 200, reply.text
    return list(reversed(reply.json()))  # oldest first


def test_cancel_printer_reset_route_switch_login_and_logout_say_who_and_from_where(
    make_client,
):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    job = held_job(api.client, "root")

    assert api.admin("POST", f"/jobs/{job.id}/cancel").status_code == 200
    assert api.admin("POST", "/printers/hall/reset").status_code == 200
    assert api.admin("PUT", "/route", json={"route": "gateway"}).status_code == 200
    assert api.admin("POST", "/logout").status_code == 200
    assert api.admin("POST", "/login", json={}).status_code == 200

    trail = rows(api)
    assert [(r["actor"], r["action"], r["subject"], r["origin"]) for r in trail] == [
        ("root", "job.cancel", job.id, "facade uid=0"),  # the job's uuid, as on every wire
        ("root", "printer.reset", "hall", "facade uid=0"),
        ("root", "route.switch", "delivery_route", "facade uid=0"),
        ("root", "user.logout", "root", "facade uid=0"),
        ("root", "user.login", "root", "facade uid=0"),
    ]
    assert trail[0]["detail"] == '"root\'s job" of root on hall, was pending-held'
    assert trail[2]["detail"] == "local -> gateway"
    assert "machine signed out" in trail[3]["detail"]
    assert api.client.job_state(job.ipp_job_id) == JobState.CANCELED


def test_config_and_mode_changes_name_keys_and_values_never_a_password(make_client):
    api = start_api(make_client)
    proxy = f"http://bob:{HUNTER}@proxy.example.com:3128"

    changed = api.admin(
        "PUT",
        "/config",
        json={"sync_interval": 120, "proxy": proxy, "mode": "hybrid", "server_url": None},
    )
    unchanged = api.admin("PUT", "/config", json={"sync_interval": 120})

    assert changed.status_code == 200, changed.text
    assert unchanged.status_code == 200  # the same value again: nothing to audit
    config_change, mode_change = rows(api)
    assert config_change["action"] == "config.change"
    assert config_change["subject"] == "mode,proxy,sync_interval"
    assert "sync_interval: 120" not in config_change["detail"]  # old -> new, not just new
    assert (
        "-> 120" in config_change["detail"]
        and "mode: default -> 'hybrid'" in (config_change["detail"])
    )
    assert mode_change["action"] == "mode.change" and mode_change["detail"] == "default -> hybrid"
    with api.client.store.session() as session:  # not even in the store
        assert HUNTER not in json.dumps([audit.as_dict(r) for r in audit.recent(session, 50)])
    # kept, in the root-only secrets file, not in the config every user reads
    secrets = api.client.config.with_name("secrets.toml")
    assert HUNTER in secrets.read_text() and HUNTER not in api.client.config.read_text()
    # only admins read the trail: it names every user of the machine
    assert api.call("GET", "/audit").status_code == 401


def test_support_bundle_holds_the_audit_trail_and_no_secret(make_client):
    api = start_api(make_client, server_url=f"https://admin:{HUNTER}@print.example.com")
    assert api.admin("PUT", "/route", json={"route": "gateway"}).status_code == 200
    with api.client.store.session() as session:  # a careless writer, as a planted secret
        audit.record(session, "root", "config.change", "test", detail=f"password={HUNTER}")
        audit.record(session, "root", "config.change", "test", detail=api.token)
        session.commit()

    reply = api.admin("GET", "/support-bundle", params={"days": 1})

    assert reply.status_code == 200
    bundle = zipfile.ZipFile(io.BytesIO(reply.content))
    trail = json.loads(bundle.read("audit.json"))
    assert [r["action"] for r in trail] == ["config.change", "config.change", "route.switch"]
    assert trail[0]["detail"] == "***" and trail[1]["detail"] == "password=***"
    everything = b"".join(bundle.read(name) for name in bundle.namelist())
    assert HUNTER.encode() not in everything and api.token.encode() not in everything


def test_custom_login_refused_and_accepted_are_audited_on_the_client(make_client, server, tmp_path):
    with server.admin() as admin:
        admin.post("/api/v1/admin/users", json={"name": "erin", "password": "pw-erin"})
    api = start_api(
        make_client,
        login_type="custom",
        server_url=server.base_url,
        ca_file=str(tmp_path / "ca.pem"),
    )

    assert (
        api.admin("POST", "/login", json={"user": "erin", "password": "guess"}).status_code == 403
    )
    assert (
        api.admin("POST", "/login", json={"user": "erin", "password": "pw-erin"}).status_code == 200
    )
    assert api.admin("POST", "/logout").status_code == 200

    trail = rows(api)
    assert [(r["action"], r["subject"]) for r in trail] == [
        ("user.login-failed", "erin"),
        ("user.login", "erin"),
        ("user.logout", "erin"),
    ]
    assert trail[1]["detail"] == "prints as erin (custom login)"
    assert "pw-erin" not in json.dumps(trail) and "guess" not in json.dumps(trail)
    # the server keeps its own trail of the same logins, with the address they came from
    with server.admin() as admin:
        logins = admin.get("/api/v1/admin/audit", params={"actor": "erin"}).json()
    assert [e["action"] for e in reversed(logins)][:2] == ["user.login-failed", "user.login"]
    assert all(e["origin"] == "127.0.0.1" for e in logins)
