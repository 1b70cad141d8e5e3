"""Fixtures for the real peers: a client installation, and the raw virtual printer."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from support.client import Client
from support.printers import VirtualPrinter
from tests.ipps_printer import IppsPrinter
from tests.os_users import can_switch_user, os_user
from tests.server.peers import DnsSd, IppEvePrinter
from tests.stoppable_printer import StoppablePrinter


@pytest.fixture
def raw_printer(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A raw TCP virtual printer on a free port, storing jobs in ``tmp_path/printed``."""
    printer = VirtualPrinter(tmp_path / "printed")
    printer.start()
    yield printer
    printer.stop()


@pytest.fixture
def annex(tmp_path: Path) -> Iterator[VirtualPrinter]:
    """A second raw printer, for a pull port released at either of two."""
    printer = VirtualPrinter(tmp_path / "annex")
    printer.start()
    yield printer
    printer.stop()


@pytest.fixture
def stoppable_printer() -> Iterator[StoppablePrinter]:
    """An IPP printer the test can jam and clear (ippeveprinter cannot report ``stopped``)."""
    printer = StoppablePrinter()
    printer.start()
    yield printer
    printer.close()


@pytest.fixture
def ipp_printer(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[IppEvePrinter]:
    """Debian's ippeveprinter keeping every printed document; skipped with a reason when absent.
    Parametrized indirectly, its param is IppEvePrinter's keywords (``{"duplex": True}``)."""
    missing = [b for b in ("ippeveprinter", "dbus-daemon", "avahi-daemon") if not shutil.which(b)]
    if missing:
        pytest.skip(
            f"{', '.join(missing)} absent (Debian cups-ipp-utils, dbus, avahi-daemon; "
            "make test installs them as root)"
        )
    dns = DnsSd()
    try:
        dns.ensure()
    except Exception as exc:
        dns.stop()
        pytest.skip(f"cannot start dbus/avahi for ippeveprinter (needs root): {exc}")
    printer = IppEvePrinter(tmp_path / "ipp", **getattr(request, "param", {}))
    printer.start()
    yield printer
    printer.stop()
    dns.stop()


@pytest.fixture
def ipps_printer(tmp_path: Path) -> Iterator[IppsPrinter]:
    """Debian's ippeveprinter answering IPP and IPPS on one port, with its own certificate
    (tests/ipps_printer.py); skipped with the reason when absent."""
    if not shutil.which("ippeveprinter"):
        pytest.skip("ippeveprinter absent (Debian cups-ipp-utils)")
    printer = IppsPrinter(tmp_path / "ipps")
    printer.start()
    yield printer
    printer.stop()


@pytest.fixture
def two_users() -> Iterator[tuple[str, str]]:
    """Two real OS users, created for the test and removed after (identity tests)."""
    if not can_switch_user() or not shutil.which("useradd"):
        pytest.skip("needs root and useradd to create two OS users")
    with os_user("ppa") as first, os_user("ppb") as second:
        yield first, second


@pytest.fixture
def make_client(request: pytest.FixtureRequest) -> Iterator[Callable[..., Client]]:
    """Build client installations; every process they start is stopped after the test, and
    their logs are printed when the test failed."""
    clients: list[Client] = []

    def make(printers: list[dict[str, Any]] | None = None, **settings: Any) -> Client:
        client = Client(printers, **settings)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()
        failed = getattr(request.node, "rep_call", None)
        if failed is not None and failed.failed:
            print(client.logs())
        shutil.rmtree(client.root, ignore_errors=True)


# The files that take longest (measured in clean-clone runs of `make test`), longest first.
# Under `--dist loadfile` the workers take files in collection order; starting the long ones
# first keeps every worker busy to the end instead of leaving one long file running alone.
LONGEST_FIRST = (
    "tests/e2e/test_routes.py",
    "tests/e2e/test_local_mode.py",
    "tests/integration/test_supervisor.py",
    "tests/e2e/test_trace.py",
    "tests/integration/test_api.py",
    "tests/e2e/test_proxy.py",
    "tests/e2e/test_tokens.py",
    "tests/integration/test_demo.py",
    "tests/server/test_server_profiles.py",
    "tests/e2e/test_crashes.py",
    "tests/server/test_server_tokens.py",
    "tests/server/test_server_admin_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Long files first (a stable sort: the order within a file and of the rest stays)."""
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    report = yield
    setattr(item, "rep_" + report.when, report)
    return report
