"""Real IPP peers for the spooler's conformance tests, as tests use them: ipptool with the
suites Debian ships, and a private cupsd (support/cups.py) that skips the test, with the way
to install it, where it cannot run.

Everything here runs real processes on loopback only and stops exactly what it started, so a
test never disturbs the machine's own CUPS.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from cli import ipp_client
from services.core import ipp
from support.cups import CUPSD_MISSING, PrivateCups, cupsd_available
from tests.documents import (
    A4,
    FOUR_BY_SIX,
    LETTER,
    minimal_jpeg,
    minimal_pdf,
    minimal_postscript,
    pwg_raster,
)

IPPTOOL_SUITES = Path("/usr/share/cups/ipptool")
IPPTOOL_MISSING = (
    "ipptool not installed: apt-get install cups-ipp-utils (make test does this as root)"
)


def ipptool_available() -> bool:
    """ipptool and the suites Debian ships with it (cups-ipp-utils) are both needed."""
    return shutil.which("ipptool") is not None and (IPPTOOL_SUITES / "ipp-1.1.test").exists()


def require_ipptool() -> None:
    """Skip the calling test, with the way to install it, when ipptool is absent."""
    if not ipptool_available():
        pytest.skip(IPPTOOL_MISSING)


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
    _write_raster_samples(directory)
    return directory


def _write_raster_samples(directory: Path) -> None:
    """Every PWG raster sample a suite in ``directory`` names, as a blank page of its size,
    resolution and colour space."""
    named = {
        m[0] for suite in directory.glob("*.test") for m in _RASTER.finditer(suite.read_text())
    }
    for path in sorted(named):
        match = _RASTER.fullmatch(path)
        assert match is not None
        sample = directory / path
        sample.parent.mkdir(parents=True, exist_ok=True)
        sample.write_bytes(pwg_raster(_PAGE[match["page"]], int(match["dpi"]), match["kind"]))


# ipp-everywhere.test prints a PWG raster sample per resolution, colour space and page; ipptool
# stops reading a file at the first FILE it cannot read, even one under SKIP-IF-MISSING.
_RASTER = re.compile(
    r"pwg-raster-samples-\d+dpi/[a-z0-9-]+/(?P<page>[a-z]+(?:\.jpg)?-[a-z0-9]+)"
    r"-(?P<kind>[a-z]+-\d+)-(?P<dpi>\d+)dpi\.pwg"
)
_PAGE = {
    "color.jpg-4x6": FOUR_BY_SIX,
    "gray.jpg-4x6": FOUR_BY_SIX,
    "document-a4": A4,
    "document-letter": LETTER,
    "onepage-a4": A4,
    "onepage-letter": LETTER,
}


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


def ipptool_counts(output: str) -> dict[str, int]:
    """How many tests were PASS, FAIL and SKIP, counted from the ``-t`` report (ipptool
    prints no summary line in that mode)."""
    results = [m["result"] for line in output.splitlines() if (m := _RESULT.match(line))]
    return {result: results.count(result) for result in ("PASS", "FAIL", "SKIP")}


def ipptool_summary(output: str) -> str:
    counts = ipptool_counts(output)
    return f"{counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped"


# --- a private cupsd ---------------------------------------------------------------------------


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
