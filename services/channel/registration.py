"""Getting endpoint credentials: register this machine, then wait for an admin to authorize it.

The server issues the credentials (access + refresh token) exactly once, on the first poll
after authorization, so they are written to disk (0600) before anything else happens with them.
"""

from __future__ import annotations

import platform
import socket
from pathlib import Path

import httpx

from protocol.rest import RegisterRequest, RegisterResponse, TokenRequest, TokenResponse
from services.core import VERSION, endpoint
from services.core.endpoint import Registration


class RegistrationError(Exception):
    """The server refused us for good (revoked endpoint); registering again is the way out."""


async def obtain_token(
    client: httpx.AsyncClient, base_url: str, state_dir: Path, keeper: endpoint.Keeper
) -> str | None:
    """A valid access token if we have (or just got) credentials; None while the admin has
    not authorized us yet. Raises endpoint.Revoked when our refresh token is refused."""
    if endpoint.load_credentials(state_dir) is not None:
        token = await keeper.access_token()
        if token is None:  # only a refresh token, and no server answered the refresh
            raise OSError("could not refresh the access token: no server answered")
        return token
    registration = endpoint.load_registration(state_dir)
    if registration is None:
        registration = await _register(client, base_url)
        endpoint.save_registration(state_dir, registration)
    reply = await client.post(
        f"{base_url}/api/v1/endpoints/{registration.endpoint_id}/token",
        json=TokenRequest(secret=registration.secret).model_dump(),
    )
    if reply.status_code in (403, 404, 409):
        # Revoked, forgotten by the server, or the token went to a copy of us: start over.
        endpoint.forget(state_dir)
        raise RegistrationError(f"registration no longer valid ({reply.status_code})")
    reply.raise_for_status()
    answer = TokenResponse.model_validate(reply.json())
    if answer.state == "authorized" and answer.token and answer.refresh_token:
        endpoint.save_credentials(
            state_dir, answer.token, answer.refresh_token, answer.expires_in or 0
        )
        return answer.token
    return None


async def _register(client: httpx.AsyncClient, base_url: str) -> Registration:
    request = RegisterRequest(
        hostname=socket.gethostname()[:255], os=platform.platform()[:255], version=VERSION
    )
    reply = await client.post(f"{base_url}/api/v1/endpoints", json=request.model_dump())
    reply.raise_for_status()
    answer = RegisterResponse.model_validate(reply.json())
    return Registration(answer.endpoint_id, answer.secret)
