"""Asking the server which input ports this endpoint should have (``GET /api/v1/printers``)
and which configuration profile is in force for its users (``GET /api/v1/config``)."""

from __future__ import annotations

from typing import Any

import httpx

from protocol.rest import EndpointConfig, InputPort, PrintersResponse
from services.core import endpoint


class NotAuthorized(Exception):
    """No endpoint token yet (the channel registers and waits for an admin), or revoked."""


async def _get(
    http: httpx.AsyncClient, url: str, token: str | None, params: Any = None
) -> httpx.Response:
    try:
        # The token as refreshed by core/endpoint.py's Keeper, the one place that refreshes.
        token = await endpoint.current_access_token() if token else None
        if not token:
            raise NotAuthorized("this machine is not authorized by the server yet")
        reply = await http.get(url, params=params, headers={"Authorization": f"Bearer {token}"})
        if reply.status_code == 401:  # expired on the way or refused: refresh once, retry
            token = await endpoint.current_access_token(rejected=token)
            if token:
                headers = {"Authorization": f"Bearer {token}"}
                reply = await http.get(url, params=params, headers=headers)
    except endpoint.Revoked as exc:
        raise NotAuthorized(str(exc)) from None
    if reply.status_code in (401, 403):
        raise NotAuthorized(f"the server refused our token ({reply.status_code})")
    reply.raise_for_status()
    return reply


async def fetch_ports(http: httpx.AsyncClient, base_url: str, token: str | None) -> list[InputPort]:
    reply = await _get(http, f"{base_url.rstrip('/')}/api/v1/printers", token)
    return PrintersResponse.model_validate(reply.json()).ports


async def fetch_config(
    http: httpx.AsyncClient, base_url: str, token: str | None, users: list[str]
) -> EndpointConfig:
    """The site configuration with the profile for ``users``, the server users logged in here
    now; the server keeps them to push later profile changes here (``?users=`` = nobody)."""
    params = {"users": users or [""]}
    reply = await _get(http, f"{base_url.rstrip('/')}/api/v1/config", token, params)
    return EndpointConfig.model_validate(reply.json())
