"""Route choice (DESIGN.md 7): one pure function, so every case is one row of a table test.

Where a job goes depends only on the configured mode, the runtime route switch, the kind of
input port, whether the printer answered a TCP connect, and whether there is a server to fall
back on. Nothing here does I/O.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

Mode = Literal["local", "gateway", "hybrid"]
Switch = Literal["local", "gateway"]
Kind = Literal["direct", "pull"]


class Route(StrEnum):
    DIRECT = "direct"  # we send it to the printer ourselves (raw or IPP)
    VIA_SERVER = "via-server"  # upload to the primary server, whose Document Output prints it
    GATEWAY = "gateway"  # upload to the gateway (primary, then secondary); the server holds it
    WAIT = "wait"  # nothing can take it now: keep it and try again later


def choose(
    mode: Mode, switch: Switch, kind: Kind, printer_reachable: bool, has_server: bool
) -> Route:
    """Where this job goes now.

    - gateway mode, or local mode switched to gateway: every job is uploaded to the gateway.
    - hybrid mode: pull ports go through the cloud; direct ports behave as in local mode.
    - local mode (and hybrid direct ports): straight to the printer when it answers, else via
      the server's Document Output when there is a server, else wait and retry.
    """
    if mode == "gateway" or (mode == "local" and switch == "gateway"):
        return Route.GATEWAY
    if mode == "hybrid" and kind == "pull":
        return Route.GATEWAY
    if printer_reachable:
        return Route.DIRECT
    return Route.VIA_SERVER if has_server else Route.WAIT


def explain(
    route: Route,
    mode: Mode,
    switch: Switch,
    printer: str,
    address: str,
    failure: str | None,
) -> str:
    """Why ``choose`` gave ``route``, in the words of the job's trace ("via-server: floor1 at
    10.0.0.5:9100 refused the connection"); ``failure`` is what the reachability check met."""
    if route == Route.GATEWAY:
        if mode == "gateway":
            return "gateway: gateway mode"
        if mode == "local" and switch == "gateway":
            return "gateway: route switched to gateway"
        return "gateway: hybrid mode sends pull ports through the gateway"
    if route == Route.DIRECT:
        return f"direct: {printer} answered at {address}"
    silent = f"{printer} at {address} {failure or 'was not tried'}"
    if route == Route.VIA_SERVER:
        return f"via-server: {silent}"
    return f"wait: {silent} and there is no server to print it"
