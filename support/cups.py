"""A private cupsd: a CUPS scheduler of our own in a temporary root on a free loopback port,
so that nothing a test or benchmark does touches the machine's own CUPS.

The recipe is the one tested on Debian 12 in /work/shared/TESTING.md.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

from support.ports import free_port
from support.waiting import wait_for

CUPSD_MISSING = "cupsd not installed: apt-get install cups (make test does this as root)"


def cupsd_available() -> bool:
    """cupsd plus the admin commands a queue needs (lpadmin, lp) and the ipp backend."""
    commands = ("cupsd", "lpadmin", "lp")
    return all(_which(c) for c in commands) and Path("/usr/lib/cups/backend/ipp").exists()


def _which(command: str) -> str | None:
    # lpadmin and cupsd live in /usr/sbin, which is not on every test runner's PATH.
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin:/sbin:/bin")


CUPSD_CONF = """\
# A private cupsd for one test: loopback TCP and a socket in its own root, no browsing, no web
# interface, and nothing needs authentication (only this test talks to it).
LogLevel debug
MaxLogSize 0
Listen 127.0.0.1:{port}
Listen {root}/run/cups.sock
ServerAlias *
WebInterface No
Browsing No
BrowseLocalProtocols none
DefaultShared No
JobRetryLimit 0
ErrorPolicy abort-job
<Location />
  Order allow,deny
  Allow all
</Location>
<Location /admin>
  Order allow,deny
  Allow all
</Location>
<Policy default>
  <Limit All>
    Order allow,deny
    Allow all
  </Limit>
</Policy>
"""

CUPS_FILES_CONF = """\
ServerRoot {root}/etc
RequestRoot {root}/spool
TempDir {root}/spool/tmp
CacheDir {root}/cache
StateDir {root}/state
ErrorLog {root}/log/error_log
AccessLog {root}/log/access_log
PageLog {root}/log/page_log
Printcap {root}/run/printcap
User lp
Group lp
"""


class PrivateCups:
    """A cupsd of our own in a temporary root under /tmp, on a free loopback port.

    The root is made 0755 and group lp (``chown -R root:lp``, ``chmod -R g+rwX``) because cupsd
    runs backends and writes its spool as user lp; pytest's tmp_path is 0700 root and would
    lock lp out. ``lpadmin``/``lp``/``lpstat`` reach it with ``-h 127.0.0.1:PORT``.
    """

    def __init__(self) -> None:
        self.root = Path(os.path.realpath(tempfile.mkdtemp(prefix="pp-cups-")))
        self.root.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        for sub in ("etc/ppd", "etc/ssl", "spool/tmp", "cache", "state", "log", "run"):
            (self.root / sub).mkdir(parents=True)
        values = {"root": self.root, "port": self.port}
        self.cupsd_conf = self.root / "etc" / "cupsd.conf"
        self.files_conf = self.root / "etc" / "cups-files.conf"
        self.cupsd_conf.write_text(CUPSD_CONF.format(**values))
        self.files_conf.write_text(CUPS_FILES_CONF.format(**values))
        subprocess.run(["chown", "-R", "root:lp", str(self.root)], check=True)
        subprocess.run(["chmod", "-R", "g+rwX", str(self.root)], check=True)

    @property
    def server(self) -> str:
        """The ``-h`` argument of lpadmin, lp and lpstat."""
        return f"127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.root / "log" / "error_log"

    def start(self, timeout: float = 30) -> None:
        """Start cupsd in the foreground (we own its pid) and wait until it listens."""
        log = (self.root / "log" / "cupsd.out").open("wb")
        self.process = subprocess.Popen(
            [
                _which("cupsd") or "cupsd",
                "-f",
                "-c",
                str(self.cupsd_conf),
                "-s",
                str(self.files_conf),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_for(self._listening, timeout, f"cupsd on port {self.port}")

    def _listening(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"cupsd exited with {self.process.returncode}:\n{self.logs()}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), 1):
            return True
        return False

    def run(
        self, command: str, *args: str, timeout: float = 60
    ) -> subprocess.CompletedProcess[str]:
        """Run a CUPS command (lpadmin, lp, lpstat, cancel) against this cupsd only."""
        return subprocess.run(
            [_which(command) or command, "-h", self.server, *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=os.environ | {"CUPS_SERVER": self.server},
        )

    def error_lines(self, pattern: str = r"^[EW] ") -> list[str]:
        """error_log lines matching ``pattern`` (by default errors and warnings)."""
        if not self.error_log.exists():
            return []
        text = self.error_log.read_text(errors="replace")
        return [line for line in text.splitlines() if re.search(pattern, line)]

    def logs(self, tail: int = 6000) -> str:
        """The end of every log of this cupsd, for failure messages."""
        parts = []
        for path in sorted((self.root / "log").iterdir()):
            parts.append(f"--- {path.name}\n{path.read_text(errors='replace')[-tail:]}")
        return "\n".join(parts)

    def stop(self, timeout: float = 20) -> None:
        """SIGTERM cupsd by its pid (it cancels nothing, writes its state and exits); SIGKILL the
        session only if it will not go. Backends it started are in the same session."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self.process = None

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)
