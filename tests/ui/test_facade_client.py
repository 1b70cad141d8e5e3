"""The tray's HTTP client against a real HTTP server that follows the facade's contract."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("PySide6", reason="PySide6 is not installed (pip install PySide6-Essentials)")

from support.ports import free_port
from tests.ui.fake_facade import FakeFacade
from ui.facade import Facade, api_base_url


def test_status_is_read_without_a_token(facade: Facade, facade_server: FakeFacade) -> None:
    result = facade.status()
    assert result.ok
    assert result.data["channel"]["state"] == "online"
    assert ("GET", "/session", None) not in facade_server.calls


def test_changes_carry_the_token_from_the_session_file(
    facade: Facade, facade_server: FakeFacade
) -> None:
    result = facade.set_route("gateway")
    assert result.ok, result
    assert facade_server.status["route"] == "gateway"


def test_a_new_token_is_read_again_after_401(facade: Facade, facade_server: FakeFacade) -> None:
    assert facade.sync().ok
    facade_server.set_token("second-token")  # the service made a new token since
    assert facade.logout().ok
    logouts = [call for call in facade_server.calls if call[:2] == ("POST", "/logout")]
    assert len(logouts) == 2  # refused with the old token, then accepted with the new one


def test_error_detail_becomes_the_result_message(facade: Facade) -> None:
    result = facade.set_config({"sync_interval": -1})
    assert not result.ok
    assert result.status == 422
    assert result.code == "invalid-config"
    assert "sync_interval" in result.message


def test_unreachable_facade_is_a_result_not_an_exception(qapp: object) -> None:
    result = Facade(f"http://127.0.0.1:{free_port()}").status()
    assert not result.ok
    assert result.unreachable


def test_support_bundle_is_the_zip_bytes(facade: Facade) -> None:
    result = facade.support_bundle(days=2)
    assert result.ok
    assert result.data[:2] == b"PK"


def test_api_port_from_the_environment_wins_over_the_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.toml"
    config.write_text("api_port = 9001\n")
    monkeypatch.setenv("PULLPRINT_CONFIG", str(config))
    monkeypatch.delenv("PULLPRINT_API_PORT", raising=False)
    assert api_base_url() == "http://127.0.0.1:9001"
    monkeypatch.setenv("PULLPRINT_API_PORT", "9002")
    assert api_base_url() == "http://127.0.0.1:9002"


def test_default_api_port_without_a_config_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PULLPRINT_CONFIG", str(tmp_path / "missing.toml"))
    monkeypatch.delenv("PULLPRINT_API_PORT", raising=False)
    assert api_base_url() == "http://127.0.0.1:8637"
