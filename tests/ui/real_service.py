"""Real client installations for the tray tests: service processes started from the config
``support.client.Client`` writes, a facade client for the test's own questions, and a tray.

Kept apart from the fake-facade fixtures in conftest.py: these start processes (seconds), so the
tests reuse one installation per module where they do not interfere.
"""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from services.core import endpoint
from support.client import Client
from support.waiting import wait_for
from ui.facade import Facade

# Every service the facade asks in GET /status: with all of them up the tray is not in error.
ALL_SERVICES = ("api", "channel", "sync", "spooler", "delivery")
# A bound on waits for real processes (start-up included), never a claim about speed.
WAIT_MS = 30_000


class Installation:
    """One client installation with its processes, and a facade client for assertions."""

    def __init__(self, *services: str, endpoint_token: str = "", **settings: Any) -> None:
        self.client = Client(**settings)
        self.facade = Facade(f"http://127.0.0.1:{self.client.api_port}")
        if endpoint_token:
            # As if an admin had authorized this machine: sync then asks the server at once.
            state_dir = self.client.root / "state"
            state_dir.mkdir(parents=True, exist_ok=True)
            endpoint.save_token(state_dir, endpoint_token)
        self.client.start(*services)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.client.api_port}"

    def status(self) -> dict[str, Any]:
        """The facade's ``GET /status`` (an empty dict while it does not answer)."""
        result = self.facade.status()
        return result.data if result.ok and isinstance(result.data, dict) else {}

    def wait_services_up(self) -> None:
        """Until every service answers the facade's status request."""

        def up() -> bool:
            services = self.status().get("services") or {}
            return bool(services) and all(
                info.get("state") != "unreachable" for info in services.values()
            )

        wait_for(up, WAIT_MS / 1000, f"every service to answer the facade\n{self.client.logs()}")

    def wait_facade(self) -> None:
        wait_for(lambda: self.facade.status().ok, WAIT_MS / 1000, "the facade to answer")

    def close(self) -> None:
        self.facade.close()
        self.client.close()
        shutil.rmtree(self.client.root, ignore_errors=True)


@contextmanager
def installation(
    *services: str, endpoint_token: str = "", **settings: Any
) -> Iterator[Installation]:
    """An ``Installation``; every process it started is stopped afterwards, logs kept on error."""
    inst = Installation(*services, endpoint_token=endpoint_token, **settings)
    try:
        yield inst
    except BaseException:
        print(inst.client.logs())
        raise
    finally:
        inst.close()


def close_tray(qtbot: Any, tray: Any, facade: Facade) -> None:
    """Stop a tray polling a real facade and free its Qt objects. Every answer lands before
    stop() shuts the worker pool: a command's callback that lands after it would poll into the
    closed pool (see test_an_answer_after_stop_is_dropped)."""
    from tests.ui.conftest import dispose

    tray.timer.stop()
    qtbot.waitUntil(lambda: tray.background.pending == 0, timeout=WAIT_MS)
    tray.stop()
    for dialog in list(tray.dialogs.values()):
        dialog.close()
    dispose(tray.menu, tray)
    facade.close()


@contextmanager
def silent_server() -> Iterator[str]:
    """A loopback port that accepts TCP connections (the kernel completes the handshake) but
    never reads or answers: an HTTPS client waits there until its own timeout."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(64)
        yield f"https://127.0.0.1:{listener.getsockname()[1]}"


@pytest.fixture(scope="module")
def serverless() -> Iterator[Installation]:
    """A serverless local-mode client (os login) with every service running: one per test module
    that imports this fixture, shared by its tests that put things back as they found them."""
    with installation(*ALL_SERVICES) as inst:
        inst.wait_services_up()
        yield inst
