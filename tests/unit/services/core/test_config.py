from __future__ import annotations

from pathlib import Path

import pytest

from services.core import config
from services.core.config import ConfigError, load_settings


def write(tmp_path, text: str):
    path = tmp_path / "config.toml"
    path.write_text(text)
    return path


def test_an_absent_system_config_means_defaults(tmp_path, monkeypatch):
    """Nobody set this machine up: serverless with every default."""
    monkeypatch.setattr(config, "DEFAULT_CONFIG_PATH", tmp_path / "absent.toml")
    for name in ("PULLPRINT_MODE", "PULLPRINT_CONFIG", "PULLPRINT_ROOT"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings()
    assert settings.mode == "local" and settings.spooler_port == 8631 and settings.api_port == 8637


def test_a_named_config_that_is_missing_is_an_error(tmp_path, monkeypatch):
    """Defaults in its place would put jobs into the system's store without a word (issue 17)."""
    missing = tmp_path / "absent.toml"
    monkeypatch.setenv("PULLPRINT_CONFIG", str(missing))
    with pytest.raises(ConfigError) as error:
        load_settings()
    assert str(error.value) == f"config error: {missing} does not exist (named by PULLPRINT_CONFIG)"
    monkeypatch.delenv("PULLPRINT_CONFIG")
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(missing)


def test_an_install_root_has_its_config_and_directories_below_it(tmp_path, monkeypatch):
    for key in ("CONFIG", "STATE_DIR", "RUN_DIR", "LOG_DIR"):
        monkeypatch.delenv("PULLPRINT_" + key, raising=False)
    monkeypatch.setenv("PULLPRINT_ROOT", str(tmp_path))
    with pytest.raises(ConfigError, match=f"no pullprint installed under {tmp_path}"):
        load_settings()
    installed = tmp_path / "etc" / "pullprint" / "config.toml"
    installed.parent.mkdir(parents=True)
    installed.write_text('state_dir = "/var/lib/pullprint"\nlog_dir = "logs"\n')
    settings = load_settings()
    assert settings.state_dir == tmp_path / "var" / "lib" / "pullprint"
    assert settings.run_dir == tmp_path / "run" / "pullprint"  # the default is installed too
    assert settings.log_dir == Path("logs")  # a relative path is no installed path
    # The environment names this machine's paths (supervisord gets run_dir and log_dir so).
    monkeypatch.setenv("PULLPRINT_RUN_DIR", str(tmp_path / "run"))
    assert load_settings().run_dir == tmp_path / "run"


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


def test_a_list_of_servers_loads_in_order(tmp_path):
    text = 'servers = ["https://a.example", "https://b.example:8443", "https://c.example"]\n'
    settings = load_settings(write(tmp_path, text))
    assert settings.server_list == [
        "https://a.example",
        "https://b.example:8443",
        "https://c.example",
    ]
    # Sync, the facade and the CLI speak to the first.
    assert settings.server == "https://a.example"


def test_the_older_primary_and_secondary_keys_still_make_the_list(tmp_path):
    text = 'server_url = "https://a.example"\nsecondary_server_url = "https://b.example"\n'
    settings = load_settings(write(tmp_path, text))
    assert settings.server_list == ["https://a.example", "https://b.example"]
    assert settings.server == "https://a.example"
    only_primary = load_settings(write(tmp_path, 'server_url = "https://a.example"\n'))
    assert only_primary.server_list == ["https://a.example"]
    serverless = load_settings(write(tmp_path, ""))
    assert serverless.server_list == [] and serverless.server is None


def test_both_spellings_are_taken_when_they_agree(tmp_path):
    text = (
        'server_url = "https://a.example"\nservers = ["https://a.example", "https://b.example"]\n'
    )
    assert load_settings(write(tmp_path, text)).server_list == [
        "https://a.example",
        "https://b.example",
    ]


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ('servers = "https://a.example"', "servers", "valid list"),
        ('servers = ["https://a.example", "http://b.example"]', "servers.1", "pattern"),
        ('servers = ["https://a.example", 3]', "servers.1", "valid string"),
        ('servers = ["https://a.example", "https://a.example"]', "servers", "twice"),
        (
            'server_url = "https://x.example"\nservers = ["https://a.example"]',
            "servers",
            "keep one spelling",
        ),
    ],
)
def test_a_bad_server_list_is_refused_naming_the_key_and_the_file(tmp_path, text, key, why):
    path = write(tmp_path, text + "\n")
    with pytest.raises(ConfigError) as error:
        load_settings(path)
    assert f"config error in {path}: key '{key}'" in str(error.value)
    assert why in str(error.value)


def test_a_server_list_with_a_password_goes_to_the_secrets_file(tmp_path):
    """A list is a value like any other: one URL with a password in it keeps the whole list
    out of the config every local user can read (config_secrets.py)."""
    path = write(tmp_path, 'servers = ["https://a.example", "https://u:pw-PLANTED@b.example"]\n')
    path.chmod(0o644)
    settings = load_settings(path)
    assert settings.server_list[1] == "https://u:pw-PLANTED@b.example"
    assert "pw-PLANTED" not in path.read_text()
    assert "pw-PLANTED" in (tmp_path / "secrets.toml").read_text()
