"""A password in the client's configuration is in a root-only 0600 file, never in the config
every local user (and the tray) reads (issue 19, finding 9): as the facade writes it, as
install writes it, and as an older config with one is moved at the service's start. A real
api process; a second OS user tries to read both files and loads the settings as the CLI does."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from cli.install import install, uninstall
from services.core.config import ConfigError, load_settings
from support import ROOT
from tests.integration.test_api import run_as, start_api

PROXY = "http://squid:pw-PLANTED@127.0.0.1:3128"


def mode_and_owner(path: Path) -> tuple[int, int]:
    info = path.stat()
    return stat.S_IMODE(info.st_mode), info.st_uid


def what_a_user_can_read(config: Path) -> dict[str, Any]:
    """Run as another user: which files they can open, and the settings their CLI loads."""
    found: dict[str, Any] = {}
    for path in (config, config.with_name("secrets.toml")):
        try:
            found[path.name] = path.read_text()
        except PermissionError:
            found[path.name] = None
    found["proxy"] = load_settings(config).proxy
    return found


def test_a_proxy_password_set_through_the_facade_is_in_a_root_only_file(make_client, two_users):
    alice, _bob = two_users
    api = start_api(make_client)
    config = api.client.config
    secrets = config.with_name("secrets.toml")

    changed = api.admin("PUT", "/config", json={"proxy": PROXY, "sync_interval": 42})

    assert changed.status_code == 200, changed.text
    assert "pw-PLANTED" not in config.read_text() and "sync_interval = 42" in config.read_text()
    assert mode_and_owner(config) == (0o644, 0)  # the tray still reads api_port from it
    assert mode_and_owner(secrets) == (0o600, 0) and PROXY in secrets.read_text()
    assert load_settings(config).proxy == PROXY  # what every service reads at start
    assert api.call("GET", "/config").json()["proxy"] == "http://***@127.0.0.1:3128"
    os.chmod(api.client.root, 0o755)
    seen = run_as(alice, lambda: what_a_user_can_read(config))
    assert seen["secrets.toml"] is None and "pw-PLANTED" not in seen["config.toml"]
    assert seen["proxy"] is None  # her CLI loads the settings, without root's secrets
    # back to no proxy: gone from the secrets file too
    assert api.admin("PUT", "/config", json={"proxy": None}).status_code == 200
    assert "pw-PLANTED" not in secrets.read_text() and load_settings(config).proxy is None


def test_an_older_config_with_a_password_is_moved_to_the_secrets_file_at_start(make_client):
    api = start_api(make_client, proxy=PROXY, sync_interval=42)
    config = api.client.config

    assert "pw-PLANTED" not in config.read_text() and "sync_interval = 42" in config.read_text()
    secrets = config.with_name("secrets.toml")
    assert mode_and_owner(secrets) == (0o600, 0) and PROXY in secrets.read_text()
    assert api.call("GET", "/config").json()["proxy"] == "http://***@127.0.0.1:3128"


def test_a_secrets_file_others_can_read_stops_start_up_naming_it(tmp_path: Path):
    config, secrets = tmp_path / "config.toml", tmp_path / "secrets.toml"
    config.write_text("sync_interval = 42\n")
    secrets.write_text(f'proxy = "{PROXY}"\n')
    os.chmod(secrets, 0o644)

    with pytest.raises(ConfigError, match=f"{secrets}.*chmod 600"):
        load_settings(config)
    result = subprocess.run(
        [sys.executable, "-m", "services.api"],
        env={"PATH": "/usr/bin:/bin", "PULLPRINT_CONFIG": str(config)},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode != 0 and "chmod 600" in result.stderr
    assert "Traceback" not in result.stderr


def test_install_puts_a_server_password_in_the_secrets_file_and_uninstall_removes_it(
    tmp_path: Path,
):
    root = tmp_path / "root"
    root.mkdir()
    server = "https://client:pw-PLANTED@print.example:8443"

    install(root, "gateway", server, say=lambda message: None)

    config = root / "etc" / "pullprint" / "config.toml"
    secrets = config.with_name("secrets.toml")
    assert "pw-PLANTED" not in config.read_text() and mode_and_owner(config)[0] == 0o644
    assert mode_and_owner(secrets)[0] == 0o600 and server in secrets.read_text()
    assert load_settings(config).server_url == server
    install(root, "gateway", server, say=lambda message: None)  # the same again is fine
    uninstall(root, say=lambda message: None)
    assert not secrets.exists() and not config.exists()
