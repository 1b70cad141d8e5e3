"""OS print queues for our printers: one queue per input port, pointing at our spooler.

Applications print through the operating system (DESIGN.md 1, 7), so every printer the spooler
serves also needs an OS queue whose device is our IPP endpoint
``ipp://127.0.0.1:{spooler_port}/printers/<name>``. A backend knows how to list, create or
update, and remove such queues on one platform; :func:`apply` makes the queues match a wanted
set through any backend, touching only the queues that differ.

Backends:

- :class:`CupsBackend` (Linux, macOS): ``lpadmin`` / ``lpstat`` against the system's cupsd or the
  one named by the ``cups_server`` setting. Queues are raw by default (no ``-m``): CUPS passes
  the document through unchanged and our spooler and the printer do the rest. With
  ``model="everywhere"`` cupsd builds a PPD by querying our spooler when the queue is made,
  which fails while the spooler is down: hence not the default.
- :class:`NoneBackend`: no OS queues (CUPS absent, or ``os_queues = "none"``); printing goes to
  our IPP endpoint directly (``pullprint print`` or any IPP client).
- Next: Windows, with ``Add-PrinterPort`` for an IPP port on our endpoint and ``Add-Printer``
  (the "Microsoft IPP Class Driver"), the marker in the printer's Comment field; PowerShell
  through the same runner seam as CUPS.

Only queues we created are ever changed or removed: they carry :data:`MARKER` as their
printer-location, and a queue without it is someone else's, even when its name is one we want.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Protocol

from services.core.config import PRINTER_NAME_PATTERN, Settings

# The printer-location of every queue we create. Location, not description: the description
# (printer-info) is the name users see in print dialogs and belongs to the input port.
MARKER = "managed by pullprint"
# lpadmin can wait on a busy cupsd (it serialises changes and writes printers.conf); a minute
# is far beyond a healthy answer and still bounds a sync that would otherwise hang forever.
COMMAND_TIMEOUT = 60.0
# Debian installs the admin commands in /usr/sbin, which a user's PATH may lack.
SBIN_PATH = "/usr/sbin:/usr/bin:/sbin:/bin"
# How long one listing of every queue decides whose a queue is. Short, so a queue someone
# adds by hand is seen by our next change; a listing costs one lpstat call.
LISTING_TTL = 30.0


class QueueError(Exception):
    """An OS queue could not be listed, created or removed; the message says which command
    failed and what it printed, for sync's status and the log."""


class QueueBackend(Protocol):
    """What :func:`apply` needs from a platform's print system."""

    def list_ours(self) -> dict[str, str]:
        """Queue name -> device URI of every queue we created (and only those)."""
        ...

    def ensure(
        self, name: str, device_uri: str, description: str, options: Options | None = None
    ) -> None:
        """Create the queue, or update it to this URI and description; idempotent. ``options``
        are server-side defaults (``sides-default`` ...) to set, or to remove where None."""
        ...

    def remove(self, name: str) -> None:
        """Delete one of our queues; a queue that is already gone is not an error."""
        ...


# Default job options of a queue: "sides-default" -> "two-sided-long-edge"; None removes one.
Options = Mapping[str, str | None]


def device_uri(spooler_port: int, name: str) -> str:
    """The device URI of the queue for our printer ``name``: our spooler's printer object."""
    return f"ipp://127.0.0.1:{spooler_port}/printers/{name}"


def wanted_queues(spooler_port: int, names: Sequence[str]) -> dict[str, str]:
    """The ``wanted`` argument of :func:`apply` for these printer names."""
    return {name: device_uri(spooler_port, name) for name in names}


def apply(
    backend: QueueBackend,
    wanted: Mapping[str, str],
    descriptions: Mapping[str, str] | None = None,
    options: Options | None = None,
    every_queue: bool = False,
    per_queue: Mapping[str, Options] | None = None,
    refresh: Collection[str] = (),
) -> tuple[int, int, int]:
    """Make our queues match ``wanted`` (name -> device URI); returns (created, updated,
    removed). Queues created or updated get ``options`` (default job options), or their own
    in ``per_queue`` where it has them; with ``every_queue`` all wanted queues are updated,
    for when those options changed, and those named in ``refresh`` for when theirs did.

    Incremental: a queue whose URI is already right is not touched at all, so jobs waiting in
    it and its users' settings survive every sync. One failing queue does not stop the others;
    every failure is collected and raised together at the end as one :class:`QueueError`.
    """
    descriptions = descriptions or {}
    ours = backend.list_ours()
    created = updated = removed = 0
    failures: list[str] = []
    for name, uri in sorted(wanted.items()):
        if ours.get(name) == uri and not every_queue and name not in refresh:
            continue
        try:
            chosen = (per_queue or {}).get(name, options)
            backend.ensure(name, uri, descriptions.get(name, name), chosen)
        except QueueError as exc:
            failures.append(str(exc))
            continue
        if name in ours:
            updated += 1
        else:
            created += 1
    for name in sorted(set(ours) - set(wanted)):
        try:
            backend.remove(name)
            removed += 1
        except QueueError as exc:
            failures.append(str(exc))
    if failures:
        counts = f"{created} created, {updated} updated, {removed} removed"
        raise QueueError(f"{len(failures)} queue(s) failed ({counts}): " + "; ".join(failures))
    return created, updated, removed


# --- running commands ------------------------------------------------------------------------

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


def find_command(command: str) -> str | None:
    """The absolute path of ``command`` on PATH or in the sbin directories."""
    return shutil.which(command) or shutil.which(command, path=SBIN_PATH)


def run_command(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """Run one command with a timeout and the C locale (we parse lpstat's English output).
    A command that cannot start or does not finish becomes a :class:`QueueError`; a non-zero
    exit is returned for the caller to judge, since some (lpstat on no queues) are answers."""
    path = find_command(argv[0])
    if path is None:
        raise QueueError(f"{argv[0]} not found (is CUPS installed?)")
    try:
        return subprocess.run(
            [path, *argv[1:]],
            capture_output=True,
            text=True,
            timeout=COMMAND_TIMEOUT,
            env=os.environ | {"LC_ALL": "C", "LANG": "C"},
        )
    except subprocess.TimeoutExpired:
        raise QueueError(f"{_shown(argv)}: no answer after {COMMAND_TIMEOUT:.0f} s") from None
    except OSError as exc:
        raise QueueError(f"{_shown(argv)}: cannot run: {exc.strerror}") from None


def _shown(argv: Sequence[str]) -> str:
    return " ".join(argv)


# --- CUPS ------------------------------------------------------------------------------------

_NAME = re.compile(PRINTER_NAME_PATTERN)
# Option keywords and values go on lpadmin's command line: IPP keyword characters only.
_OPTION = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_OPTION_VALUE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_DEVICE = re.compile(r"^device for (?P<name>[^:\s]+): (?P<uri>\S+)\s*$")
_PRINTER = re.compile(r"^printer (?P<name>\S+) ")
_LOCATION = re.compile(r"^\s+Location: ?(?P<location>.*)$")


class CupsBackend:
    """Queues in CUPS through its admin commands.

    ``server`` is the ``-h`` argument (host:port or a socket path) or None for the system's
    cupsd; ``model`` is an ``lpadmin -m`` model for new queues (None = raw). ``runner`` is the
    one place commands are run, so unit tests can stand in for cupsd at that edge.

    Whose a queue is comes from one listing of every queue (``lpstat -l -p``), kept for
    :data:`LISTING_TTL` seconds: asking lpstat about one name that does not exist takes about
    a second (it falls back to browsing the network for it), which would make creating 1,000
    queues take 1,000 seconds.
    """

    def __init__(
        self, server: str | None = None, model: str | None = None, runner: Runner = run_command
    ) -> None:
        self.server = server
        self.model = model
        self.runner = runner
        self._locations: dict[str, str] = {}
        self._listed_at: float | None = None

    def list_ours(self) -> dict[str, str]:
        """Two lpstat calls whatever the number of queues: URIs from ``-v``, markers from
        ``-l -p``; a queue is ours when its location is :data:`MARKER`."""
        devices = {
            m["name"]: m["uri"]
            for line in self._lpstat("-v").splitlines()
            if (m := _DEVICE.match(line))
        }
        locations = self._list_locations()
        return {name: uri for name, uri in devices.items() if locations.get(name) == MARKER}

    def ensure(
        self, name: str, device_uri: str, description: str, options: Options | None = None
    ) -> None:
        """``lpadmin -p NAME -E -v URI -D DESCRIPTION -L MARKER``: creates the queue, or changes
        one of ours in place (lpadmin keeps its pending jobs). ``-E`` after ``-p`` enables it
        and makes it accept jobs. Refuses a same-named queue we did not create. Each option
        becomes ``-o KEY=VALUE`` (a server-side default CUPS keeps even for a raw queue), or
        ``-R KEY`` to remove it when its value is None."""
        _check_name(name)
        owner = self._location(name)
        if owner is not None and owner != MARKER:
            raise QueueError(f"queue {name} exists and was not created by pullprint; left alone")
        argv = ["-p", name, "-E", "-v", device_uri, "-D", description, "-L", MARKER]
        if owner is None and self.model:
            argv += ["-m", self.model]
        for key, value in sorted((options or {}).items()):
            if not _OPTION.match(key) or (value is not None and not _OPTION_VALUE.match(value)):
                raise QueueError(f"{key}={value!r} is not a valid queue option")
            argv += ["-R", key] if value is None else ["-o", f"{key}={value}"]
        self._run("lpadmin", *argv)
        self._locations[name] = MARKER

    def remove(self, name: str) -> None:
        """``lpadmin -x NAME``, only for a queue carrying our marker."""
        _check_name(name)
        owner = self._location(name)
        if owner is None:
            return
        if owner != MARKER:
            raise QueueError(f"queue {name} was not created by pullprint; not removing it")
        self._run("lpadmin", "-x", name)
        self._locations.pop(name, None)

    def _location(self, name: str) -> str | None:
        """The queue's printer-location, or None when there is no such queue."""
        fresh = self._listed_at is not None and time.monotonic() - self._listed_at < LISTING_TTL
        locations = self._locations if fresh else self._list_locations()
        return locations.get(name)

    def _list_locations(self) -> dict[str, str]:
        self._locations = parse_locations(self._lpstat("-l", "-p"))
        self._listed_at = time.monotonic()
        return self._locations

    def _lpstat(self, *args: str) -> str:
        result = self.runner(["lpstat", *self._host(), *args])
        if result.returncode != 0:
            if _no_queues(result):
                return ""
            raise QueueError(_failed(["lpstat", *self._host(), *args], result))
        return result.stdout

    def _run(self, command: str, *args: str) -> None:
        argv = [command, *self._host(), *args]
        result = self.runner(argv)
        if result.returncode != 0:
            raise QueueError(_failed(argv, result))

    def _host(self) -> list[str]:
        # -h must come first: lpadmin connects when it reaches -p.
        return ["-h", self.server] if self.server else []


def parse_locations(lpstat_long: str) -> dict[str, str]:
    """Queue name -> printer-location from ``lpstat -l -p`` output (C locale)."""
    locations: dict[str, str] = {}
    current: str | None = None
    for line in lpstat_long.splitlines():
        if m := _PRINTER.match(line):
            current = m["name"]
            locations[current] = ""
        elif current is not None and (m := _LOCATION.match(line)):
            locations[current] = m["location"].rstrip()
    return locations


def _no_queues(result: subprocess.CompletedProcess[str]) -> bool:
    # lpstat's answer (exit 1) when cupsd has no queues at all: an empty list, not a failure.
    return "No destinations added" in result.stderr


def valid_option_value(value: str) -> bool:
    """Whether ``value`` may go on lpadmin's command line as an option's value."""
    return bool(_OPTION_VALUE.match(value))


def _check_name(name: str) -> None:
    # Names go on a command line: the config's pattern keeps out spaces, slashes and a
    # leading dash that lpadmin would read as an option.
    if not _NAME.match(name):
        raise QueueError(f"{name!r} is not a valid queue name")


def _failed(argv: Sequence[str], result: subprocess.CompletedProcess[str]) -> str:
    detail = (result.stderr or result.stdout).strip() or "no message"
    return f"{_shown(argv)} failed (exit {result.returncode}): {detail}"


class NoneBackend:
    """No OS queues: nothing to list, create or remove."""

    def list_ours(self) -> dict[str, str]:
        return {}

    def ensure(
        self, name: str, device_uri: str, description: str, options: Options | None = None
    ) -> None:
        return None

    def remove(self, name: str) -> None:
        return None


def backend_for(settings: Settings, runner: Runner = run_command) -> QueueBackend:
    """The backend the ``os_queues`` setting asks for: ``auto`` is CUPS when lpadmin is
    installed (a cupsd that is merely stopped is then reported by each sync, not hidden)."""
    choice = settings.os_queues
    if choice == "auto":
        choice = "cups" if find_command("lpadmin") else "none"
    if choice == "cups":
        return CupsBackend(settings.cups_server, runner=runner)
    return NoneBackend()
