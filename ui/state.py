"""From the facade's ``GET /status`` answer to what the tray shows: an icon state and why.

Kept apart from the widgets so that the rules can be read (and tested) in one place:

- error:   the facade did not answer, or a service process is not running;
- syncing: a printer synchronization is running;
- offline: the channel to the server is down (or not yet authorized);
- idle:    everything else, including serverless sites whose channel is idle on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ui.facade import Result
from ui.i18n import _
from ui.icons import TrayState


@dataclass(frozen=True)
class TrayStatus:
    state: TrayState
    reason: str  # one translated sentence: why the icon looks the way it does
    details: tuple[str, ...] = ()  # further lines for the tooltip


def derive_status(result: Result) -> TrayStatus:
    """The icon state and tooltip text for one ``/status`` result."""
    if result.unreachable:
        return TrayStatus(TrayState.ERROR, _("The pullprint service is not reachable."))
    if not result.ok:
        reason = _("The pullprint service reported an error: {message}")
        return TrayStatus(TrayState.ERROR, reason.format(message=result.message))
    if not isinstance(result.data, dict):
        return TrayStatus(TrayState.ERROR, _("The pullprint service gave an unreadable answer."))
    status: dict[str, Any] = result.data
    details = _details(status)
    restarting = status.get("restarting") or []
    # A process restarting after Save is expected to be away for a moment: progress, no error.
    down = [name for name in _services_down(status) if name not in restarting]
    if down:  # status "ok" is false for lesser things too: those the tooltip's details say
        reason = _("Not running: {services}").format(services=", ".join(down))
        return TrayStatus(TrayState.ERROR, reason, details)
    if restarting:
        return TrayStatus(TrayState.SYNCING, _("Applying the new settings…"), details)
    sync = status.get("sync") or {}
    if sync.get("state") == "running":
        return TrayStatus(TrayState.SYNCING, _("Synchronizing printers…"), details)
    channel = status.get("channel") or {}
    channel_state = channel.get("state")
    if channel_state in ("offline", "waiting-authorization", "registering"):
        return TrayStatus(TrayState.OFFLINE, _channel_reason(channel), details)
    if channel_state == "idle":
        return TrayStatus(TrayState.IDLE, _("Ready (no server configured)."), details)
    return TrayStatus(TrayState.IDLE, _("Ready."), details)


def tooltip(status: TrayStatus, version: str | None = None) -> str:
    title = f"pullprint {version}" if version else "pullprint"
    return "\n".join((title, status.reason, *status.details))


def _services_down(status: dict[str, Any]) -> list[str]:
    services = status.get("services") or {}
    return sorted(
        name
        for name, info in services.items()
        if isinstance(info, dict) and info.get("state") == "unreachable"
    )


def _channel_reason(channel: dict[str, Any]) -> str:
    state, server = channel.get("state"), channel.get("server") or ""
    if state == "waiting-authorization":
        text = _("Waiting for an administrator to authorize this computer.")
    elif state == "registering":
        text = _("Registering with the server…")
    elif server:
        text = _("Offline: the server {server} is not reachable.").format(server=server)
    else:
        text = _("Offline: the server is not reachable.")
    reason = channel.get("reason")
    return f"{text} ({reason})" if reason else text


def _details(status: dict[str, Any]) -> tuple[str, ...]:
    lines = []
    mode = status.get("mode")
    if mode:
        lines.append(_("Mode: {mode}").format(mode=_mode_name(mode)))
    if mode == "local" and status.get("route"):
        route = status["route"]
        lines.append(_("Delivery: {route}").format(route=_route_name(route)))
    if status.get("signed_out"):
        lines.append(_("Logged out: the server's printers are not on this computer."))
    sync = status.get("sync") or {}
    if sync.get("state") == "failed":
        reason = sync.get("reason") or "?"
        lines.append(_("Last synchronization failed: {reason}").format(reason=reason))
    return tuple(lines)


def _mode_name(mode: str) -> str:
    names = {"local": _("local storage"), "gateway": _("gateway"), "hybrid": _("hybrid")}
    return names.get(mode, mode)


def _route_name(route: str) -> str:
    names = {"local": _("stored and delivered locally"), "gateway": _("via the gateway")}
    return names.get(route, route)
