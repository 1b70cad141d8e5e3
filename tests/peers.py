"""Real IPP peers for the spooler's conformance tests: ipptool, a private cupsd, and the
dbus + avahi pair that DNS-SD users (ippeveprinter, cupsd browsing) need.

Recipes are the ones tested on Debian 12 in /work/shared/TESTING.md. Everything here starts real
processes on loopback only and stops exactly what it started, so a test never disturbs the
machine's own CUPS or a dbus/avahi that someone else runs.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli import ipp_client
from services.core import ipp
from tests.helpers import free_port, wait_for

IPPTOOL_SUITES = Path("/usr/share/cups/ipptool")
IPPTOOL_MISSING = (
    "ipptool not installed: apt-get install cups-ipp-utils (make test does this as root)"
)
CUPSD_MISSING = "cupsd not installed: apt-get install cups (make test does this as root)"


# --- availability ------------------------------------------------------------------------------


def ipptool_available() -> bool:
    """ipptool and the suites Debian ships with it (cups-ipp-utils) are both needed."""
    return shutil.which("ipptool") is not None and (IPPTOOL_SUITES / "ipp-1.1.test").exists()


def require_ipptool() -> None:
    """Skip the calling test, with the way to install it, when ipptool is absent."""
    if not ipptool_available():
        pytest.skip(IPPTOOL_MISSING)


def cupsd_available() -> bool:
    """cupsd plus the admin commands a queue needs (lpadmin, lp) and the ipp backend."""
    commands = ("cupsd", "lpadmin", "lp")
    return all(_which(c) for c in commands) and Path("/usr/lib/cups/backend/ipp").exists()


def require_cupsd() -> None:
    """Skip unless a private cupsd can run here: it must start as root (it drops to ``lp`` for
    filters and backends and refuses to run jobs as root) and user ``lp`` must exist."""
    if not cupsd_available():
        pytest.skip(CUPSD_MISSING)
    if os.geteuid() != 0:
        pytest.skip("a private cupsd needs root (it starts as root and drops to user lp)")
    try:
        pwd.getpwnam("lp")
    except KeyError:
        pytest.skip("a private cupsd needs the user lp (Debian's base system has it)")


def _which(command: str) -> str | None:
    # lpadmin and cupsd live in /usr/sbin, which is not on every test runner's PATH.
    return shutil.which(command) or shutil.which(command, path="/usr/sbin:/usr/bin:/sbin:/bin")


# --- documents ---------------------------------------------------------------------------------


A4 = (595, 842)  # PostScript points
LETTER = (612, 792)


def minimal_pdf(text: str = "pullprint", size: tuple[int, int] = LETTER) -> bytes:
    """A small but valid one-page PDF (correct xref offsets), written by hand so no tool is
    needed: ipptool sends it as application/pdf, and CUPS filters may parse what it is given."""
    stream = f"BT /F1 24 Tf 72 {size[1] - 72} Td ({text}) Tj ET".encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] " % size
        + b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def minimal_postscript(text: str = "pullprint", size: tuple[int, int] = LETTER) -> bytes:
    """A one-page DSC-conforming PostScript document of the given page size."""
    width, height = size
    return (
        "%!PS-Adobe-3.0\n"
        f"%%BoundingBox: 0 0 {width} {height}\n"
        "%%Pages: 1\n%%EndComments\n%%Page: 1 1\n"
        f"<< /PageSize [{width} {height}] >> setpagedevice\n"
        f"/Helvetica findfont 24 scalefont setfont 72 {height - 72} moveto ({text}) show\n"
        "showpage\n%%EOF\n"
    ).encode("ascii")


def minimal_jpeg(*components: int) -> bytes:
    """A valid baseline JFIF JPEG of one 8x8 block per component, each of one flat value: one
    component is grayscale, three are Y, Cb, Cr. With a flat block only the DC coefficient is
    non-zero, so the whole entropy-coded scan is a few bits (DC category and magnitude, then
    end-of-block), and quantisation by 1 makes it decode to exactly these values."""
    if len(components) not in (1, 3):
        raise ValueError("1 (gray) or 3 (YCbCr) components")
    coefficients = [8 * (value - 128) for value in components]  # DC of a flat 8x8 block
    categories = sorted({abs(dc).bit_length() for dc in coefficients})
    length = len(categories).bit_length()  # n codes of this length never use the all-ones code
    dc_code = {cat: (i, length) for i, cat in enumerate(categories)}
    bits = ""
    for dc in coefficients:
        cat = abs(dc).bit_length()
        code, size = dc_code[cat]
        bits += format(code, f"0{size}b")
        if cat:
            bits += format(dc if dc > 0 else dc + (1 << cat) - 1, f"0{cat}b")
        bits += "0"  # end-of-block: the only AC symbol, one-bit code 0
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i : i + 8], 2) for i in range(0, len(bits), 8))
    scan = scan.replace(b"\xff", b"\xff\x00")

    def segment(marker: int, payload: bytes) -> bytes:
        return bytes([0xFF, marker]) + (len(payload) + 2).to_bytes(2, "big") + payload

    n = len(components)
    counts = [0] * 16
    counts[length - 1] = len(categories)
    return b"".join(
        [
            b"\xff\xd8",
            segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
            segment(0xDB, b"\x00" + b"\x01" * 64),
            segment(
                0xC0,
                bytes([8, 0, 8, 0, 8, n]) + b"".join(bytes([i + 1, 0x11, 0]) for i in range(n)),
            ),
            segment(0xC4, b"\x00" + bytes(counts) + bytes(categories)),
            segment(0xC4, b"\x10\x01" + bytes(15) + b"\x00"),
            segment(
                0xDA,
                bytes([n]) + b"".join(bytes([i + 1, 0x00]) for i in range(n)) + b"\x00\x3f\x00",
            ),
            scan,
            b"\xff\xd9",
        ]
    )


# The documents the shipped suites name in FILE directives; Debian does not ship them.
SUITE_DOCUMENTS: dict[str, Callable[[], bytes]] = {
    "document-a4.pdf": lambda: minimal_pdf("A4 test document", A4),
    "document-letter.pdf": lambda: minimal_pdf("US Letter test document", LETTER),
    "document-a4.ps": lambda: minimal_postscript("A4 test document", A4),
    "document-letter.ps": lambda: minimal_postscript("US Letter test document", LETTER),
    "color.jpg": lambda: minimal_jpeg(76, 85, 255),  # red
    "gray.jpg": lambda: minimal_jpeg(128),
}


def ipptool_suites(directory: Path) -> Path:
    """Copy the shipped ``*.test`` files into ``directory`` beside the sample documents they
    print (ipptool resolves FILE and INCLUDE next to the test file). Without those documents
    ipptool stops reading ipp-1.1.test at its first FILE it cannot read, reports nothing for
    the rest, and still exits 0: the print tests for PDF, PostScript, JPEG, media, duplex,
    quality and job-hold-until would silently never run."""
    directory.mkdir(parents=True, exist_ok=True)
    for suite in IPPTOOL_SUITES.glob("*.test"):
        shutil.copyfile(suite, directory / suite.name)
    for name, make in SUITE_DOCUMENTS.items():
        (directory / name).write_bytes(make())
    return directory


def printer_attributes(uri: str) -> dict[str, list[object]]:
    """Our printer's Get-Printer-Attributes (``all`` plus ``media-col-database``, as CUPS asks),
    name -> values, for failure messages that show what a peer was given."""
    request = ipp.request(ipp.Operation.GET_PRINTER_ATTRIBUTES)
    request.operation.add("printer-uri", ipp.Tag.URI, uri)
    request.operation.add("requested-attributes", ipp.Tag.KEYWORD, "all", "media-col-database")
    reply = httpx.post(
        ipp_client.http_url(uri),
        content=ipp.encode(request),
        headers={"Content-Type": "application/ipp"},
    )
    group = ipp.parse(reply.content)[0].group(ipp.Tag.PRINTER)
    return {} if group is None else {n: a.values for n, a in group.attributes.items()}


# --- ipptool -----------------------------------------------------------------------------------


def run_ipptool(
    uri: str, suite: str, document: Path, timeout: float = 270
) -> subprocess.CompletedProcess[str]:
    """Run one of the shipped suites against ``uri`` in test mode; ``-f`` sets both the file
    and its document-format (from the extension), ``-T 20`` bounds each request, and ``-I``
    goes on past a failed test (ipptool stops a file at its first FAIL otherwise), so one run
    lists every FAIL.

    A suite that waits for a job which never completes repeats for minutes; the timeout stays
    under pytest's per-test limit so the report still shows what ipptool printed so far.
    """
    argv = ["ipptool", "-T", "20", "-I", "-t", "-f", str(document), uri, suite]
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        err = f"ipptool killed after {timeout} s (still running the last test above)"
        return subprocess.CompletedProcess(argv, -9, out, err)


_RESULT = re.compile(r"^(?P<indent>\s*)(?P<name>.*?)\s+\[(?P<result>PASS|FAIL|SKIP)\]\s*$")


def ipptool_failures(output: str) -> list[str]:
    """Every ``[FAIL]`` test of ipptool's ``-t`` report with the reason lines under it, one
    string per failed test, so an assertion message says what to fix, not just "exit 1"."""
    blocks: list[list[str]] = []
    current: list[str] | None = None
    indent = 0
    for line in output.splitlines():
        match = _RESULT.match(line)
        if match:
            current = None
            if match["result"] == "FAIL":
                current = [match["name"].strip()]
                blocks.append(current)
                indent = len(match["indent"])
            continue
        if current is None or not line.strip():
            continue
        if len(line) - len(line.lstrip()) <= indent:
            current = None  # a summary or the next file: this test's reasons are over
            continue
        current.append("    " + line.strip())
    return ["\n".join(block) for block in blocks]


def ipptool_summary(output: str) -> str:
    """How many tests passed, failed and were skipped, counted from the ``-t`` report (ipptool
    prints no summary line in that mode)."""
    results = [m["result"] for line in output.splitlines() if (m := _RESULT.match(line))]
    return (
        f"{results.count('PASS')} passed, {results.count('FAIL')} failed, "
        f"{results.count('SKIP')} skipped"
    )


# --- a private cupsd ---------------------------------------------------------------------------

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


@contextlib.contextmanager
def private_cupsd() -> Iterator[PrivateCups]:
    """A started :class:`PrivateCups`, stopped and removed afterwards (skips when impossible)."""
    require_cupsd()
    cups = PrivateCups()
    try:
        cups.start()
        yield cups
    finally:
        cups.stop()
        cups.remove()
