"""HAProxy with a shipped config (deploy/haproxy/) in front of server processes, for tests
and benchmarks: haproxy.cfg (TLS passed through) by default, haproxy-terminating.cfg (TLS
ended at HAProxy and made again to each process) when given the site's TLS files.

The config is used as it stands except for what differs on a test machine: the two listen
addresses become free loopback ports, the terminating one's file names and checked host name
become the test's, and each backend's example ``server`` lines become one line per given
process, keeping the options of the file's first line (its health check, TLS or ``track``).
So what the tests run is what the README tells an admin to deploy.

    with Haproxy.start(work_dir, [(a.http_port, a.gateway_port), ...]) as proxy:
        proxy.base_url, proxy.gateway      # what a client is given
    site = SiteTls.from_pair(work_dir, cert, key, ca_file)
    with Haproxy.start(work_dir, backends, terminating=site) as proxy: ...
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from support import ROOT
from support.ports import free_port
from support.process import Process
from support.waiting import wait_for

CONFIG = ROOT / "deploy" / "haproxy" / "haproxy.cfg"  # TLS passed through
TERMINATING = ROOT / "deploy" / "haproxy" / "haproxy-terminating.cfg"
# The server lines of the shipped file: "server s1 10.0.0.11:8443 <options>".
SERVER_LINE = re.compile(r"^(\s*)server\s+s1\s+\S+(.*)$")


@dataclass(frozen=True)
class SiteTls:
    """What the terminating config needs: the site's certificate chain and key in one PEM
    (its ``crt``), the CA the processes' certificates are checked against, and the name
    HAProxy checks in them (``verifyhost``)."""

    pem: Path
    ca_file: Path
    host: str = "localhost"

    @classmethod
    def from_pair(cls, directory: Path, cert: Path, key: Path, ca_file: Path) -> SiteTls:
        """HAProxy reads the chain and the key from one file: write it, readable by us only."""
        directory.mkdir(parents=True, exist_ok=True)
        pem = directory / "site.pem"
        pem.touch(mode=0o600)
        pem.write_bytes(cert.read_bytes() + key.read_bytes())
        return cls(pem, ca_file)


class Haproxy:
    """One running ``haproxy -db``; ``backends`` are (https port, gateway port) per server
    process on 127.0.0.1, named s1, s2, ... in that order. With ``terminating`` it runs
    haproxy-terminating.cfg with those files, without it haproxy.cfg."""

    def __init__(
        self,
        work_dir: Path,
        backends: Sequence[tuple[int, int]],
        terminating: SiteTls | None = None,
    ) -> None:
        self.https_port, self.gateway_port = free_port(), free_port()
        self.base_url = f"https://127.0.0.1:{self.https_port}"
        self.gateway = f"127.0.0.1:{self.gateway_port}"
        work_dir.mkdir(parents=True, exist_ok=True)
        self.config = work_dir / "haproxy.cfg"
        shipped = (TERMINATING if terminating else CONFIG).read_text()
        if terminating is not None:
            shipped = with_site_tls(shipped, terminating)
        self.config.write_text(render(shipped, self.https_port, self.gateway_port, backends))
        self.log_path = work_dir / "haproxy.log"
        self.proc: Process | None = None

    @classmethod
    @contextmanager
    def start(
        cls,
        work_dir: Path,
        backends: Sequence[tuple[int, int]],
        terminating: SiteTls | None = None,
    ) -> Iterator[Haproxy]:
        """Start it, wait until both frontends accept connections; stop it after."""
        proxy = cls(work_dir, backends, terminating)
        try:
            proxy.run()
            yield proxy
        finally:
            proxy.stop()

    def run(self) -> None:
        binary = shutil.which("haproxy")
        if binary is None:
            raise FileNotFoundError("haproxy not installed (Debian package haproxy)")
        checked = subprocess.run([binary, "-c", "-f", str(self.config)], capture_output=True)
        if checked.returncode != 0:
            raise AssertionError(f"haproxy refuses the config:\n{checked.stdout.decode()}"
                                 f"{checked.stderr.decode()}")  # fmt: skip
        self.proc = Process("haproxy", [binary, "-f", str(self.config), "-db"], dict(os.environ),
                            self.log_path)  # fmt: skip
        wait_for(self._listening, 30, "haproxy to listen")

    def _listening(self) -> bool:
        assert self.proc is not None
        if not self.proc.alive():
            code = self.proc.popen.returncode
            raise AssertionError(f"haproxy exited {code}:\n{self.logs()}")
        return all(_accepts(port) for port in (self.https_port, self.gateway_port))

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.stop()

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def with_site_tls(text: str, site: SiteTls) -> str:
    """The terminating config's example files and host name replaced by the test's; each
    must be there, so a config that stopped checking the processes fails here."""
    for shipped, ours in (
        ("/etc/haproxy/pullprint-site.pem", str(site.pem)),
        ("/etc/haproxy/pullprint-ca.pem", str(site.ca_file)),
        ("verifyhost print.example.com", f"verifyhost {site.host}"),
    ):
        if shipped not in text:
            raise AssertionError(f"{TERMINATING.name} no longer has {shipped!r}")
        text = text.replace(shipped, ours)
    return text


def render(
    text: str, https_port: int, gateway_port: int, backends: Sequence[tuple[int, int]]
) -> str:
    """The shipped config for this machine: loopback listen ports, one server per backend."""
    text = text.replace("bind :8443", f"bind 127.0.0.1:{https_port}")
    text = text.replace("bind :7300", f"bind 127.0.0.1:{gateway_port}")
    out: list[str] = []
    section = ""
    for line in text.splitlines():
        if line and not line[0].isspace():
            section = " ".join(line.split()[:2])  # "backend https"
        if re.match(r"^\s*server\s+s\d+\s", line):
            match = SERVER_LINE.match(line)
            if match is None:
                continue  # s2, s3 ...: replaced by the lines made from s1's
            indent, options = match.groups()
            column = 0 if section == "backend https" else 1
            for n, ports in enumerate(backends, 1):
                out.append(f"{indent}server s{n} 127.0.0.1:{ports[column]}"
                           f"{options.replace('https/s1', f'https/s{n}')}")  # fmt: skip
            continue
        out.append(line)
    return "\n".join(out) + "\n"


def _accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False
