"""Asking the server which input ports this endpoint should have (``GET /api/v1/printers``)."""

from __future__ import annotations

import httpx

from services.core import endpoint
from services.core.protocol import InputPort, PrintersResponse


class NotAuthorized(Exception):
    """No endpoint token yet (the channel registers and waits for an admin), or revoked."""


async def fetch_ports(http: httpx.AsyncClient, base_url: str, token: str | None) -> list[InputPort]:
    url = f"{base_url.rstrip('/')}/api/v1/printers"
    try:
        # The token as refreshed by core/endpoint.py's Keeper, the one place that refreshes.
        token = await endpoint.current_access_token() if token else None
        if not token:
            raise NotAuthorized("this machine is not authorized by the server yet")
        reply = await http.get(url, headers={"Authorization": f"Bearer {token}"})
        if reply.status_code == 401:  # expired on the way or refused: refresh once, retry
            token = await endpoint.current_access_token(rejected=token)
            if token:
                reply = await http.get(url, headers={"Authorization": f"Bearer {token}"})
    except endpoint.Revoked as exc:
        raise NotAuthorized(str(exc)) from None
    if reply.status_code in (401, 403):
        raise NotAuthorized(f"the server refused our token ({reply.status_code})")
    reply.raise_for_status()
    return PrintersResponse.model_validate(reply.json()).ports
