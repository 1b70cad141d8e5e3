"""After a configuration change, restart exactly the processes that read the changed keys.

Every process reads the configuration once at start, so a change takes effect by restarting
it. A mode change, say, concerns the spooler (which ports hold jobs), delivery (routes) and the
channel (connect or not) but not sync or the facade. Under supervisord the facade asks it over
its own socket (supervisord gives every child ``SUPERVISOR_SERVER_URL``); the facade never
restarts itself in the middle of the request that changed the file.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from services.api.context import Facade

ALL = frozenset({"spooler", "sync", "delivery", "channel", "api"})
# Which processes read each key. A key missing here (language) is read at use, not at start.
READERS: dict[str, frozenset[str]] = {
    "mode": frozenset({"spooler", "delivery", "channel"}),
    "server_url": frozenset({"channel", "sync", "delivery"}),
    "secondary_server_url": frozenset({"channel"}),
    "servers": frozenset({"channel", "sync", "delivery"}),
    "failback_interval": frozenset({"channel"}),
    "gateway": frozenset({"delivery"}),
    "secondary_gateway": frozenset({"delivery"}),
    "ca_file": frozenset({"channel", "sync", "delivery"}),
    "login_type": frozenset({"spooler"}),
    "sync_interval": frozenset({"sync"}),
    "retention": frozenset({"channel"}),
    "reach_timeout": frozenset({"delivery"}),
    "retry_backoff_max": frozenset({"delivery"}),
    "stopped_timeout": frozenset({"delivery"}),
    "max_job_size": frozenset({"spooler"}),
    "min_free_disk": frozenset({"spooler"}),
    "spooler_port": frozenset({"spooler", "sync"}),
    "raw_capture_port": frozenset({"spooler"}),
    "raw_capture_printer": frozenset({"spooler"}),
    "printers": frozenset({"sync"}),
    "os_queues": frozenset({"sync"}),
    "cups_server": frozenset({"sync"}),
}


def affected(changed_keys: list[str]) -> list[str]:
    """The processes to restart for these keys (paths and ports: all of them)."""
    names: set[str] = set()
    for key in changed_keys:
        if key in ("language",):
            continue
        names |= READERS.get(key, ALL)
    return sorted(names)


def start(facade: Facade, services: list[str]) -> list[str]:
    """Restart ``services`` in the background (a restart takes seconds: the caller is answered
    at once and watches ``/status``); returns those that will be restarted, empty when we do
    not run under supervisord (then the admin restarts the service)."""
    others = [name for name in services if name != "api"]
    if not os.environ.get("SUPERVISOR_SERVER_URL") or not others:
        return []
    facade.restarting = sorted(set(facade.restarting) | set(others))
    facade.restart_failure = ""
    task = asyncio.create_task(_restart_then_clear(facade, others))
    _running.add(task)  # the loop holds tasks weakly
    task.add_done_callback(_running.discard)
    return others


_running: set[asyncio.Task[None]] = set()


async def _restart_then_clear(facade: Facade, services: list[str]) -> None:
    try:
        restarted = await restart(services)
    except (OSError, TimeoutError) as exc:
        restarted, why = [], str(exc) or exc.__class__.__name__
    else:
        why = "" if restarted else "supervisorctl refused"
    facade.restarting = [name for name in facade.restarting if name not in services]
    if restarted:
        facade.log.info("services.restarted", services=",".join(restarted))
    else:
        facade.restart_failure = f"restarting {', '.join(services)} failed: {why}"
        facade.log.warning("services.restart-failed", services=",".join(services), reason=why)


async def restart(services: list[str]) -> list[str]:
    """Restart ``services`` (not the facade itself) under supervisord; returns those restarted,
    empty when we do not run under supervisord (then the admin restarts the service)."""
    url = os.environ.get("SUPERVISOR_SERVER_URL")
    others = [name for name in services if name != "api"]
    if not url or not others:
        return []
    supervisorctl = shutil.which("supervisorctl", path=str(Path(sys.executable).parent))
    process = await asyncio.create_subprocess_exec(
        supervisorctl or "supervisorctl",
        "-s",
        url,
        "restart",
        *others,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    await asyncio.wait_for(process.communicate(), 60)
    return others if process.returncode == 0 else []
