"""README's "Setting up a site" runs as written (issue 17): its one ``sh`` block, with only the
variables at its top changed to free ports and a temporary directory (other tests run at the
same time), run by bash with the real console scripts, ends with the job's bytes at the
virtual printer. Whatever it started is stopped afterwards, also when it fails."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from support import ROOT
from support.ports import free_port

SECTION = "## Setting up a site"
ASSIGNMENT = re.compile(r"^([A-Z_]+)=(\S+)$")
# How long the block may take: it starts a server and a client (six Python processes) and
# waits for an authorization poll (5 s); about 20 s on an idle 2-core machine.
BLOCK_TIMEOUT = 300


def readme_block() -> str:
    """The one ``sh`` block of the section (the section ends at the next ``## ``)."""
    text = (ROOT / "README.md").read_text()
    section = text[text.index(SECTION) :]
    section = section[: section.find("\n## ", len(SECTION))]
    blocks = re.findall(r"^```sh\n(.*?)^```$", section, re.S | re.M)
    assert len(blocks) == 1, f"{SECTION} has {len(blocks)} sh blocks, not one"
    return blocks[0]


def with_variables(block: str, values: dict[str, str]) -> str:
    """The block with the assignments at its top given ``values``; every one must be known
    to the test, so a new port in the README cannot silently stay fixed."""
    lines = block.splitlines()
    for n, line in enumerate(lines):
        match = ASSIGNMENT.match(line)
        if not match:
            break
        assert match[1] in values, f"the test does not know how to replace {line!r}"
        lines[n] = f"{match[1]}={values[match[1]]}"
    assert n == len(values), f"the block sets {lines[:n]}, the test replaces {sorted(values)}"
    return "\n".join(lines) + "\n"


def processes_of(site: Path) -> list[psutil.Process]:
    """What the block started: by command line (server, printer) or by the install root in
    the environment (supervisord and the services of `pullprint service --root`)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        try:
            root = process.environ().get("PULLPRINT_ROOT", "")
        except (psutil.AccessDenied, psutil.NoSuchProcess, OSError):
            root = ""
        if process.pid != os.getpid() and (
            str(site) in " ".join(process.info["cmdline"] or []) or root.startswith(str(site))
        ):
            found.append(process)
    return found


def stop_everything(shell: subprocess.Popen[bytes], site: Path) -> None:
    """SIGTERM to the block's process group (bash, the server, the printer, supervisord, which
    stops its five services), then whatever is left of the site gets SIGKILL."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(shell.pid, signal.SIGTERM)
    _, alive = psutil.wait_procs(processes_of(site), timeout=30)
    for process in alive:
        process.kill()
    psutil.wait_procs(alive, timeout=10)
    shell.wait(10)


@pytest.fixture
def site() -> Iterator[Path]:
    # Short: the client's bus sockets live below it, and ipc paths are limited to ~100 bytes.
    site = Path(tempfile.mkdtemp(prefix="pp-site-"))
    yield site
    shutil.rmtree(site, ignore_errors=True)


def test_the_readme_sets_up_a_site_and_prints(site: Path, tmp_path: Path) -> None:
    ports = ("SERVER_PORT", "GATEWAY_PORT", "PRINTER_PORT", "SPOOLER_PORT", "API_PORT")
    script = tmp_path / "site.sh"
    values = {"SITE": str(site)} | {port: str(free_port()) for port in ports}
    script.write_text(with_variables(readme_block(), values))
    venv_bin = Path(sys.executable).parent
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULLPRINT_")}
    # Never this machine's CUPS queues, as in every other test; the README's reader gets them.
    env |= {"PATH": f"{venv_bin}:{env['PATH']}", "PULLPRINT_OS_QUEUES": "none"}
    output = tmp_path / "output.txt"

    with output.open("wb") as out:
        # -e: the first failing command ends the run (a person would stop there too); -x shows
        # the commands in the output, for the failure message.
        shell = subprocess.Popen(
            ["bash", "-e", "-x", str(script)], cwd=tmp_path, env=env, stdout=out,
            stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            returncode = shell.wait(BLOCK_TIMEOUT)
        except subprocess.TimeoutExpired:
            returncode = None
        finally:
            ran = output.read_text(errors="replace")
            logs = "".join(f"\n--- {p.name}\n{p.read_text()[-3000:]}" for p in site.glob("*.log"))
            stop_everything(shell, site)

    assert returncode == 0, ran + logs
    printed = sorted((site / "printed").glob("job-*.prn"))
    assert [p.read_bytes() for p in printed] == [(site / "hello.txt").read_bytes()]
    assert b"Hello from pullprint" in printed[0].read_bytes()
    assert f"printed: {printed[0]}" in ran
    certificate = site / "server" / "tls" / "dev-cert.pem"
    assert f"server.dev_tls certificate={certificate}" in (site / "server.log").read_text()
    assert f"job 1 printed at lobby (raw 127.0.0.1:{values['PRINTER_PORT']})" in ran
