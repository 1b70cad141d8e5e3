"""`pullprint-server run` options that the shared test server does not exercise."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

from server import cli as server_cli
from support import ROOT
from support.ports import free_port
from support.server import server_command
from support.waiting import wait_for


def test_dev_tls_serves_with_a_self_signed_pair(tmp_path: Path) -> None:
    data, port = tmp_path / "data", free_port()
    args = [*server_command(), "run", "--data", str(data), "--dev-tls",
            "--http-port", str(port), "--gateway-port", str(free_port())]  # fmt: skip
    log = (tmp_path / "server.log").open("wb")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        cert = data / "tls" / "dev-cert.pem"
        wait_for(cert.exists, 60, "dev certificate")
        assert (data / "tls" / "dev-key.pem").stat().st_mode & 0o777 == 0o600
        trust = ssl.create_default_context(cafile=str(cert))

        def healthy() -> bool:
            assert proc.poll() is None, (tmp_path / "server.log").read_text()
            try:
                response = httpx.get(f"https://127.0.0.1:{port}/api/v1/health", verify=trust)
                return response.status_code == 200
            except httpx.TransportError:
                return False

        wait_for(healthy, 60, "server over dev TLS")
        # A client that does not trust the dev certificate is refused by its own TLS check.
        try:
            httpx.get(f"https://127.0.0.1:{port}/api/v1/health")
            raise AssertionError("an untrusted self-signed certificate was accepted")
        except httpx.ConnectError:
            pass
    finally:
        proc.terminate()
        proc.wait(15)
        log.close()


def test_run_needs_certificates_or_dev_tls(tmp_path: Path) -> None:
    result = subprocess.run(
        [*server_command(), "run", "--data", str(tmp_path)],
        capture_output=True, text=True, cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2 and "--dev-tls" in result.stderr


@pytest.mark.parametrize("address", ["haproxy.example", "*", "10.0.0.1/24", "127.0.0.1,"])
def test_a_trusted_proxy_that_is_not_an_address_is_refused_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], address: str
) -> None:
    # A name or `*` would be taken by uvicorn silently: never matched, or every client's
    # own X-Forwarded-For believed.
    data = tmp_path / "data"
    with pytest.raises(SystemExit) as refused:
        server_cli.main(["run", "--data", str(data), "--dev-tls", "--trusted-proxy", address])
    assert refused.value.code == 2
    err = capsys.readouterr().err
    assert (
        f"argument --trusted-proxy: not an IP address or network: {address.split(',')[-1]!r}" in err
    )
    assert "Traceback" not in err and not data.exists()


def test_run_help_names_the_trusted_proxy_option(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        server_cli.main(["run", "--help"])
    assert "--trusted-proxy ADDR" in capsys.readouterr().out
