"""Getting an endpoint token: register this machine, then wait for an admin to authorize it.

The server issues the token exactly once, on the first poll after authorization, so it is
written to disk (0600) before anything else happens with it.
"""

from __future__ import annotations

import platform
import socket
from pathlib import Path

import httpx

from services.core import VERSION, endpoint, protocol
from services.core.endpoint import Registration


class RegistrationError(Exception):
    """The server refused us for good (revoked endpoint); registering again is the way out."""


async def obtain_token(client: httpx.AsyncClient, base_url: str, state_dir: Path) -> str | None:
    """The token if we have or just got one; None while the admin has not authorized us yet."""
    token = endpoint.load_token(state_dir)
    if token:
        return token
    registration = endpoint.load_registration(state_dir)
    if registration is None:
        registration = await _register(client, base_url)
        endpoint.save_registration(state_dir, registration)
    reply = await client.post(
        f"{base_url}/api/v1/endpoints/{registration.endpoint_id}/token",
        json=protocol.TokenRequest(secret=registration.secret).model_dump(),
    )
    if reply.status_code in (403, 404, 409):
        # Revoked, forgotten by the server, or the token went to a copy of us: start over.
        endpoint.forget(state_dir)
        raise RegistrationError(f"registration no longer valid ({reply.status_code})")
    reply.raise_for_status()
    answer = protocol.TokenResponse.model_validate(reply.json())
    if answer.state == "authorized" and answer.token:
        endpoint.save_token(state_dir, answer.token)
        return answer.token
    return None


async def _register(client: httpx.AsyncClient, base_url: str) -> Registration:
    request = protocol.RegisterRequest(
        hostname=socket.gethostname()[:255], os=platform.platform()[:255], version=VERSION
    )
    reply = await client.post(f"{base_url}/api/v1/endpoints", json=request.model_dump())
    reply.raise_for_status()
    answer = protocol.RegisterResponse.model_validate(reply.json())
    return Registration(answer.endpoint_id, answer.secret)
