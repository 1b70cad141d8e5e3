"""apply() and the CUPS backend with cupsd faked at the one edge the backend has: the command
runner. The fake answers lpstat and lpadmin the way CUPS 2.4 does in the C locale (output
copied from a real cupsd), so these tests prove which commands a sync runs, not how CUPS
behaves; tests/integration/test_os_queues.py does that against a real cupsd."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest

from services.core.config import Settings
from services.sync.queues import (
    MARKER,
    CupsBackend,
    NoneBackend,
    QueueError,
    apply,
    backend_for,
    device_uri,
    parse_locations,
    run_command,
    wanted_queues,
)


@dataclass
class Queue:
    uri: str
    location: str = ""
    description: str = ""


@dataclass
class FakeCups:
    """An in-memory cupsd behind lpstat/lpadmin; ``admin`` records every lpadmin call."""

    queues: dict[str, Queue] = field(default_factory=dict)
    admin: list[list[str]] = field(default_factory=list)
    queries: int = 0
    down: bool = False

    def __call__(self, argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        argv = list(argv)
        if argv[1:2] == ["-h"]:
            argv = argv[:1] + argv[3:]
        if self.down:
            return self._done(argv, 1, err=f"{argv[0]}: Scheduler is not running.\n")
        if argv[0] == "lpadmin":
            self.admin.append(argv[1:])
            return self._lpadmin(argv)
        self.queries += 1
        return self._lpstat(argv)

    def _lpstat(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        names = [a for a in argv[1:] if not a.startswith("-")]
        if not self.queues:
            return self._done(argv, 1, err="lpstat: No destinations added.\n")
        if names and names[0] not in self.queues:
            return self._done(
                argv, 1, err=f'lpstat: Invalid destination name in list "{names[0]}".\n'
            )
        shown = names or list(self.queues)
        if "-v" in argv:
            out = "".join(f"device for {n}: {self.queues[n].uri}\n" for n in shown)
        else:
            out = "".join(
                f"printer {n} is idle.  enabled since Wed Nov 25 08:50:38 2026\n"
                f"\tForm mounted:\n\tDescription: {self.queues[n].description}\n"
                f"\tAlerts: none\n\tLocation: {self.queues[n].location}\n"
                f"\tConnection: direct\n\tUsers allowed:\n\t\t(all)\n"
                for n in shown
            )
        return self._done(argv, 0, out)

    def _lpadmin(self, argv: list[str]) -> subprocess.CompletedProcess[str]:
        if argv[1] == "-x":
            if self.queues.pop(argv[2], None) is None:
                return self._done(argv, 1, "lpadmin: The printer or class does not exist.\n")
            return self._done(argv, 0)
        flags = [a for a in argv[1:] if a != "-E"]  # the only option without a value
        options = dict(zip(flags[::2], flags[1::2], strict=True))
        name = argv[2]
        queue = self.queues.setdefault(name, Queue(uri=""))
        queue.uri = options.get("-v", queue.uri)
        queue.location = options.get("-L", queue.location)
        queue.description = options.get("-D", queue.description)
        return self._done(argv, 0)

    @staticmethod
    def _done(argv: list[str], code: int, out: str = "", err: str = ""):
        return subprocess.CompletedProcess(argv, code, out, err)

    def ours(self, name: str, uri: str) -> None:
        self.queues[name] = Queue(uri, MARKER, name)


def ports(count: int, port: int = 8631) -> dict[str, str]:
    return wanted_queues(port, [f"port-{i:04d}" for i in range(count)])


def test_apply_creates_every_queue_then_a_second_apply_runs_no_lpadmin():
    cups = FakeCups()
    backend = CupsBackend("127.0.0.1:631", runner=cups)
    wanted = ports(1000)

    assert apply(backend, wanted) == (1000, 0, 0)
    assert len(cups.admin) == 1000
    # One listing decides whose every queue is: lpstat on a name that does not exist takes
    # CUPS about a second, so a query per new queue would make this take 1,000 seconds.
    assert cups.queries == 2
    assert backend.list_ours() == wanted

    cups.admin.clear()
    assert apply(backend, wanted) == (0, 0, 0)
    assert cups.admin == []


def test_apply_touches_only_the_ports_that_changed_among_1000():
    cups = FakeCups()
    backend = CupsBackend(runner=cups)
    apply(backend, ports(1000))
    cups.admin.clear()
    wanted = ports(1000)
    for i in range(10):  # ten ports moved to another spooler port
        wanted[f"port-{i:04d}"] = device_uri(9999, f"port-{i:04d}")
    for i in range(990, 1000):  # ten ports gone, five new
        del wanted[f"port-{i:04d}"]
    wanted |= wanted_queues(8631, [f"new-{i}" for i in range(5)])

    assert apply(backend, wanted) == (5, 10, 10)
    assert len(cups.admin) == 25
    touched = {call[1] for call in cups.admin}
    assert touched == {f"port-{i:04d}" for i in [*range(10), *range(990, 1000)]} | {
        f"new-{i}" for i in range(5)
    }
    assert backend.list_ours() == wanted


def test_queues_we_did_not_create_are_never_touched():
    cups = FakeCups()
    cups.queues["lobby"] = Queue("socket://10.0.0.5:9100", "2nd floor")
    cups.queues["office"] = Queue("socket://10.0.0.6:9100", "")
    backend = CupsBackend(runner=cups)

    with pytest.raises(QueueError, match="office exists and was not created by pullprint"):
        apply(backend, wanted_queues(8631, ["office", "reception"]))

    assert cups.queues["office"].uri == "socket://10.0.0.6:9100"
    assert cups.queues["reception"].location == MARKER  # the other port still got its queue
    assert apply(backend, {}) == (0, 0, 1)
    assert set(cups.queues) == {"lobby", "office"}


def test_new_queues_are_raw_and_enabled_with_our_marker():
    cups = FakeCups()
    apply(CupsBackend(runner=cups), {"office": device_uri(8631, "office")}, {"office": "Office"})
    [call] = cups.admin
    assert call == [
        "-p",
        "office",
        "-E",
        "-v",
        "ipp://127.0.0.1:8631/printers/office",
        "-D",
        "Office",
        "-L",
        MARKER,
    ]


def test_a_model_is_given_only_when_creating():
    cups = FakeCups()
    backend = CupsBackend(model="everywhere", runner=cups)
    backend.ensure("office", device_uri(8631, "office"), "Office")
    backend.ensure("office", device_uri(8632, "office"), "Office")
    assert cups.admin[0][-2:] == ["-m", "everywhere"]
    assert "-m" not in cups.admin[1]


def test_cupsd_down_is_a_queue_error_with_its_message():
    cups = FakeCups(down=True)
    with pytest.raises(QueueError, match=r"lpstat -h h:1 -v failed \(exit 1\): .*not running"):
        apply(CupsBackend("h:1", runner=cups), ports(3))


def test_names_that_would_be_options_are_refused_before_any_command():
    cups = FakeCups()
    with pytest.raises(QueueError, match="not a valid queue name"):
        CupsBackend(runner=cups).ensure("-x", "ipp://127.0.0.1:8631/printers/x", "x")
    assert cups.admin == []


def test_removing_a_queue_that_is_already_gone_is_fine():
    cups = FakeCups()
    cups.ours("office", device_uri(8631, "office"))
    CupsBackend(runner=cups).remove("office")
    CupsBackend(runner=cups).remove("office")
    assert cups.queues == {}


def test_parse_locations_reads_real_lpstat_output():
    text = (
        "printer q1 is idle.  enabled since Wed Nov 25 08:50:38 2026\n"
        "\tForm mounted:\n\tDescription: Office\n\tAlerts: none\n"
        f"\tLocation: {MARKER}\n\tConnection: remote\n"
        "printer q2 disabled since Wed Nov 25 08:50:38 2026 -\n\treason unknown\n"
        "\tDescription: q2\n\tLocation: \n"
    )
    assert parse_locations(text) == {"q1": MARKER, "q2": ""}


def test_none_backend_has_nothing():
    backend = NoneBackend()
    assert apply(backend, ports(3)) == (3, 0, 0)  # it "creates" without doing anything
    assert backend.list_ours() == {}


@pytest.mark.parametrize(("os_queues", "expected"), [("cups", CupsBackend), ("none", NoneBackend)])
def test_backend_for_honours_os_queues(os_queues, expected):
    backend = backend_for(Settings(os_queues=os_queues, cups_server="127.0.0.1:6310"))
    assert isinstance(backend, expected)
    if isinstance(backend, CupsBackend):
        assert backend.server == "127.0.0.1:6310"


def test_backend_for_auto_follows_lpadmin(monkeypatch):
    monkeypatch.setattr("services.sync.queues.find_command", lambda command: None)
    assert isinstance(backend_for(Settings(os_queues="auto")), NoneBackend)
    monkeypatch.setattr("services.sync.queues.find_command", lambda command: "/usr/sbin/lpadmin")
    assert isinstance(backend_for(Settings(os_queues="auto")), CupsBackend)


def test_a_queue_added_by_hand_after_the_listing_expired_is_refused(monkeypatch):
    cups = FakeCups()
    backend = CupsBackend(runner=cups)
    backend.list_ours()
    cups.queues["office"] = Queue("socket://10.0.0.6:9100", "by hand")
    monkeypatch.setattr("services.sync.queues.LISTING_TTL", 0)

    with pytest.raises(QueueError, match="office exists and was not created by pullprint"):
        backend.ensure("office", device_uri(8631, "office"), "Office")
    assert cups.admin == []


def test_a_missing_command_is_a_queue_error_not_a_traceback():
    with pytest.raises(QueueError, match="pullprint-no-such-lpadmin not found"):
        run_command(["pullprint-no-such-lpadmin", "-p", "office"])
