from __future__ import annotations

import pytest

from services.core.config import ConfigError, load_settings


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_missing_file_means_defaults(tmp_path, monkeypatch):
    monkeypatch.delenv("PULLPRINT_MODE", raising=False)
    settings = load_settings(tmp_path / "absent.toml")
    assert settings.mode == "local" and settings.spooler_port == 8631 and settings.api_port == 8637


def test_file_values_and_printers_are_read(tmp_path):
    path = write(
        tmp_path,
        'mode = "gateway"\nspooler_port = 9631\n[[printers]]\nname = "hall"\nkind = "pull"\n',
    )
    settings = load_settings(path)
    assert settings.mode == "gateway" and settings.spooler_port == 9631
    assert settings.printers[0].name == "hall" and settings.printers[0].kind == "pull"


def test_environment_overrides_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("PULLPRINT_MODE", "hybrid")
    assert load_settings(write(tmp_path, 'mode = "gateway"\n')).mode == "hybrid"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('mode = "cloudy"', "key 'mode'"),
        ('spooler_port = "abc"', "key 'spooler_port'"),
        ("spooler_port = 70000", "key 'spooler_port'"),
        ("colour = 1", "unknown key 'colour'"),
        ('[[printers]]\nname = "../etc"', "key 'printers.0.name'"),
        ('[[printers]]\nname = "a"\nprotocol = "lpd"', "key 'printers.0.protocol'"),
    ],
)
def test_bad_values_name_key_and_file(tmp_path, text, expected):
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    message = str(error.value)
    assert expected in message and str(path) in message and "\n" not in message


def test_bad_environment_value_names_the_variable(tmp_path, monkeypatch):
    monkeypatch.setenv("PULLPRINT_MODE", "cloudy")
    with pytest.raises(ConfigError, match="environment variable PULLPRINT_MODE"):
        load_settings(write(tmp_path, ""))


def test_invalid_toml_names_the_file(tmp_path):
    path = write(tmp_path, "mode = \n")
    with pytest.raises(ConfigError, match="not valid TOML") as error:
        load_settings(path)
    assert str(path) in str(error.value)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('server_url = "not a url"', "server_url"),
        ('server_url = "http://plain.example.org"', "server_url"),
        ('secondary_server_url = "ftp://x"', "secondary_server_url"),
        ('gateway = "host:port:more"', "gateway"),
    ],
)
def test_server_addresses_are_checked(tmp_path, text, key):
    with pytest.raises(ConfigError, match=f"key '{key}'"):
        load_settings(write(tmp_path, text + "\n"))


def test_good_server_addresses_pass(tmp_path):
    settings = load_settings(
        write(
            tmp_path,
            'server_url = "https://print.example.org:8443"\n'
            'gateway = "print.example.org:7300"\n'
            'secondary_gateway = "[::1]:7300"\n',
        )
    )
    assert settings.gateway == "print.example.org:7300"
