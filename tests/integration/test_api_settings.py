"""The facade's settings as the tray and admins change them: configuration, the delivery route,
the language, the support bundle and about, on a real api process over HTTP."""

from __future__ import annotations

import io
import json
import zipfile

from services.core.store import State
from support.waiting import wait_for
from tests.integration.test_api import HELD, held_job, start_api


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


def test_server_keys_that_name_other_servers_conflict_and_the_file_is_unchanged(make_client):
    """``servers`` and its older spelling (issue 22) each valid, but naming other servers:
    409 naming the key, not 422 (no value is wrong on its own), and the file as it was."""
    api = start_api(make_client)
    assert api.admin("PUT", "/config", json={"server_url": "https://a.example"}).status_code == 200
    before = api.client.config.read_bytes()

    for change in (
        {"servers": ["https://b.example"]},  # against the file's server_url
        {"server_url": "https://c.example", "servers": ["https://d.example"]},  # each other
    ):
        refused = api.admin("PUT", "/config", json=change)
        assert refused.status_code == 409, refused.text
        detail = refused.json()["detail"]
        assert detail["code"] == "config-conflict" and detail["key"] == "servers"
        assert "keep one spelling" in detail["message"]

    assert api.client.config.read_bytes() == before
    agreeing = {"servers": ["https://a.example", "https://e.example"]}
    assert api.admin("PUT", "/config", json=agreeing).status_code == 200


def test_config_change_keeps_other_keys_and_never_returns_secrets(make_client):
    api = start_api(make_client, printers=[HELD])
    secret_url = "https://admin:hunter2@print.example.com"

    changed = api.admin("PUT", "/config", json={"server_url": secret_url, "sync_interval": 42})

    assert changed.status_code == 200, changed.text
    text = api.client.config.read_text()
    secrets = api.client.config.with_name("secrets.toml")
    assert "sync_interval = 42" in text and 'name = "hall"' in text and "hunter2" not in text
    assert "hunter2" in secrets.read_text()  # root's 0600 file (test_config_secrets.py)
    config = api.call("GET", "/config").json()
    assert config["sync_interval"] == 42 and config["printers"][0]["name"] == "hall"
    assert "hunter2" not in json.dumps(config)
    # a form sending back everything it was shown does not overwrite the secret with ***
    assert api.admin("PUT", "/config", json=config).status_code == 200
    assert "hunter2" in secrets.read_text()
    assert api.admin("PUT", "/config", json={"server_url": None}).status_code == 200
    assert "server_url" not in api.client.config.read_text() + secrets.read_text()


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
