"""OS queues in a real CUPS: apply() against a private cupsd (issue 8, "Done when").

The CupsBackend runs the real lpadmin and lpstat against a cupsd started for each test, so
these tests prove what the unit tests with a faked runner cannot: that CUPS accepts our
commands, keeps our marker, reports our queues back, and prints through a queue to our
spooler.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from services.sync.queues import MARKER, CupsBackend, QueueError, apply, wanted_queues
from support.client import Client
from support.cups import CUPSD_MISSING, PrivateCups, cupsd_available
from support.ports import free_port
from support.printers import VirtualPrinter, direct_printer
from support.waiting import wait_for
from tests.documents import sha256_file
from tests.peers import private_cupsd


@pytest.fixture
def cups() -> Iterator[PrivateCups]:
    """A private cupsd for this test only (skips with the reason when it cannot run here)."""
    with private_cupsd() as cups:
        yield cups


@pytest.fixture
def backend(cups: PrivateCups) -> CupsBackend:
    return CupsBackend(cups.server)


def devices(cups: PrivateCups) -> dict[str, str]:
    """Every queue cupsd has (ours or not): name -> device URI, read with lpstat -v."""
    result = cups.run("lpstat", "-v")
    lines = [line for line in result.stdout.splitlines() if line.startswith("device for ")]
    return dict(line.removeprefix("device for ").split(": ", 1) for line in lines)


def admin_operations(cups: PrivateCups) -> list[str]:
    """The queue changes cupsd performed, from its access_log (which logs every
    CUPS-Add-Modify-Printer and CUPS-Delete-Printer, not the lpstat queries).

    cupsd writes a request's line after lpadmin already has its answer, so the last change may
    not be there yet when we look: first a request that changes nothing (deleting a queue that
    does not exist) is sent and waited for. cupsd logs requests in the order it answered them,
    so once that line is there, every change before it is too."""
    log = cups.root / "log" / "access_log"

    def lines() -> list[str]:
        return log.read_text().splitlines() if log.exists() else []

    def refusals() -> int:
        return sum("-Printer client-error-not-found" in line for line in lines())

    seen = refusals()
    cups.run("lpadmin", "-x", "pullprint-no-such-queue")
    wait_for(lambda: refusals() > seen, 10, "cupsd to log the request that changes nothing")
    return [line for line in lines() if "-Printer successful-ok" in line]


def add_foreign_queue(cups: PrivateCups, name: str, uri: str) -> None:
    """A queue someone else made with plain lpadmin (no marker)."""
    result = cups.run("lpadmin", "-p", name, "-E", "-v", uri)
    assert result.returncode == 0, result.stderr


def test_apply_creates_queues_pointing_at_our_spooler(cups: PrivateCups, backend: CupsBackend):
    wanted = wanted_queues(8631, ["office", "lobby", "pull-1"])

    assert apply(backend, wanted, {"office": "Office, 2nd floor"}) == (3, 0, 0)

    assert devices(cups) == {
        "office": "ipp://127.0.0.1:8631/printers/office",
        "lobby": "ipp://127.0.0.1:8631/printers/lobby",
        "pull-1": "ipp://127.0.0.1:8631/printers/pull-1",
    }
    assert backend.list_ours() == wanted
    options = cups.run("lpoptions", "-p", "office").stdout
    assert f"printer-location='{MARKER}'" in options
    assert "printer-info='Office, 2nd floor'" in options
    assert "printer-is-accepting-jobs=true" in options
    assert "printer-state=3" in options  # idle = enabled


def test_a_second_apply_with_the_same_ports_changes_nothing(
    cups: PrivateCups, backend: CupsBackend
):
    wanted = wanted_queues(8631, ["office", "lobby"])
    apply(backend, wanted)
    assert len(admin_operations(cups)) == 2

    assert apply(backend, wanted) == (0, 0, 0)

    assert len(admin_operations(cups)) == 2


def test_a_changed_set_updates_and_removes_only_ours(cups: PrivateCups, backend: CupsBackend):
    add_foreign_queue(cups, "theirs", "socket://127.0.0.1:9101")
    apply(backend, wanted_queues(8631, ["office", "lobby", "gone"]))

    before = len(admin_operations(cups))
    changed = wanted_queues(8631, ["office", "new"]) | wanted_queues(9631, ["lobby"])
    assert apply(backend, changed) == (1, 1, 1)

    assert len(admin_operations(cups)) == before + 3  # office was not touched

    assert devices(cups) == changed | {"theirs": "socket://127.0.0.1:9101"}
    assert backend.list_ours() == changed


def test_a_queue_someone_else_created_is_never_touched(cups: PrivateCups, backend: CupsBackend):
    """Not even when a port of the same name appears, and not when we remove all of ours
    (what logout does)."""
    add_foreign_queue(cups, "office", "socket://127.0.0.1:9101")
    add_foreign_queue(cups, "theirs", "socket://127.0.0.1:9102")

    with pytest.raises(QueueError, match="office exists and was not created by pullprint"):
        apply(backend, wanted_queues(8631, ["office", "lobby"]))
    assert backend.list_ours() == wanted_queues(8631, ["lobby"])

    assert apply(backend, {}) == (0, 0, 1)
    assert devices(cups) == {
        "office": "socket://127.0.0.1:9101",
        "theirs": "socket://127.0.0.1:9102",
    }


def test_an_unreachable_cupsd_is_a_clear_error() -> None:
    """What sync reports when cupsd is down: the command and what it printed."""
    if not cupsd_available():
        pytest.skip(CUPSD_MISSING)
    backend = CupsBackend(f"127.0.0.1:{free_port()}")
    with pytest.raises(QueueError, match=r"lpstat -h 127\.0\.0\.1:\d+ -v failed \(exit 1\): "):
        backend.list_ours()


@pytest.fixture
def client(make_client: Callable[..., Client], raw_printer: VirtualPrinter) -> Client:
    """sync + spooler + delivery serving the direct port ``office`` on the raw printer."""
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler", "delivery")
    client.wait_printer()
    return client


def test_lp_on_an_applied_queue_reaches_the_printer(
    cups: PrivateCups,
    backend: CupsBackend,
    client: Client,
    raw_printer: VirtualPrinter,
    tmp_path: Path,
):
    """The whole path applications take: the queue apply() made, lp, CUPS' ipp backend, our
    spooler, delivery, the printer; the printed bytes are the file's."""
    apply(backend, wanted_queues(client.spooler_port, ["office"]))
    document = tmp_path / "report.bin"
    document.write_bytes(os.urandom(64 * 1024))

    result = cups.run("lp", "-d", "office", str(document))
    assert result.returncode == 0, f"lp: {result.stderr}\n{cups.logs()}"

    [printed] = wait_for(
        raw_printer.jobs,
        60,
        "the document at the printer; cups errors:\n" + "\n".join(cups.error_lines()[-30:]),
    )
    assert sha256_file(printed) == sha256_file(document)
