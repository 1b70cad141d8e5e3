"""Endpoint credentials: short-lived access tokens and long-lived, rotating refresh tokens.

An authorized endpoint receives one pair on its first token poll. The access token opens every
endpoint API (REST, the channel handshake, the gateway) for `access_ttl` seconds; the refresh
token buys a new pair at `POST /api/v1/endpoints/refresh` and is rotated on that use. Only
sha256 hashes are stored. Revoking the endpoint voids both kinds at once, so a stolen token of
either kind stops working, and the endpoint's channel is closed (server/channel.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from protocol.rest import Credentials
from server import auth
from server.models import Endpoint, EndpointToken, now


@dataclass(frozen=True)
class TokenPolicy:
    access_ttl: float = 900.0  # a stolen access token is worth minutes, not days
    refresh_ttl: float = 90 * 86400.0  # a machine switched off for a quarter registers again
    # A rotated refresh token still works this long: a client whose refresh answer was lost
    # (network cut, laptop asleep) would otherwise have to register again and wait for an admin.
    refresh_grace: float = 60.0
    # User tokens (server/user_tokens.py) are for people at a browser or a script: the same
    # minutes for the access token; a refresh token that is not used for half a day (a night,
    # a weekend) ends the session, and no session outlives the week a user token used to last,
    # however often it is refreshed.
    user_access_ttl: float = 900.0
    user_refresh_ttl: float = 12 * 3600.0
    user_session_max: float = 7 * 86400.0
    # A registration no admin authorized within a day is deleted (its client, still polling,
    # gets 404 and registers again), so the pending list is not a pile of junk for ever.
    pending_ttl: float = 86400.0
    # An admin page session: a working day, then the admin token again.
    admin_session_ttl: float = 8 * 3600.0


class TokenError(Exception):
    """`code`: invalid-refresh (unknown, expired or rotated refresh token), revoked (an
    endpoint's) or user-disabled (a user's, server/user_tokens.py)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def issue(session: Session, endpoint_id: int, policy: TokenPolicy) -> Credentials:
    """A new access + refresh pair for the endpoint (both returned in clear, once)."""
    access, refresh, issued = auth.new_token(), auth.new_token(), now()
    session.add_all(
        [
            EndpointToken(
                endpoint_id=endpoint_id,
                kind="access",
                token_hash=auth.token_hash(access),
                created_at=issued,
                expires_at=issued + policy.access_ttl,
            ),
            EndpointToken(
                endpoint_id=endpoint_id,
                kind="refresh",
                token_hash=auth.token_hash(refresh),
                created_at=issued,
                expires_at=issued + policy.refresh_ttl,
            ),
        ]
    )
    return Credentials(token=access, refresh_token=refresh, expires_in=policy.access_ttl)


def refresh(session: Session, refresh_token: str, policy: TokenPolicy) -> tuple[int, Credentials]:
    """Exchange a refresh token for a new pair; the old refresh token is rotated out."""
    row = session.scalar(
        select(EndpointToken).where(
            EndpointToken.token_hash == auth.token_hash(refresh_token),
            EndpointToken.kind == "refresh",
        )
    )
    current = now()
    if row is None or row.expires_at <= current:
        raise TokenError("invalid-refresh", "unknown or expired refresh token")
    endpoint = session.get(Endpoint, row.endpoint_id)
    if endpoint is None or endpoint.state != "authorized":
        raise TokenError("revoked", "endpoint revoked; register again")
    if row.rotated_at is not None and row.rotated_at < current - policy.refresh_grace:
        raise TokenError("invalid-refresh", "refresh token already used")
    if row.rotated_at is None:
        row.rotated_at = current
    # Expired rows of this endpoint go now, so the table holds a handful of rows per endpoint.
    session.execute(
        delete(EndpointToken).where(
            EndpointToken.endpoint_id == endpoint.id,
            EndpointToken.expires_at < current - policy.refresh_grace,
        )
    )
    endpoint.last_seen_at = current
    return endpoint.id, issue(session, endpoint.id, policy)


@dataclass(frozen=True)
class Check:
    endpoint: Endpoint | None
    code: str  # ok, token-expired, unauthorized


def check_access(session: Session, token: str) -> Check:
    """The authorized endpoint an access token belongs to, or why it does not open anything."""
    row = session.scalar(
        select(EndpointToken).where(
            EndpointToken.token_hash == auth.token_hash(token), EndpointToken.kind == "access"
        )
    )
    if row is None:
        return Check(None, "unauthorized")
    endpoint = session.get(Endpoint, row.endpoint_id)
    if endpoint is None or endpoint.state != "authorized":
        return Check(None, "unauthorized")
    if row.expires_at <= now():
        return Check(None, "token-expired")
    return Check(endpoint, "ok")


def revoke_all(session: Session, endpoint_id: int) -> None:
    """With the endpoint's state set to revoked, no token of it opens anything any more. The
    access rows go; the refresh rows stay (useless: refresh checks the state) so that the
    client's next refresh is answered `revoked`, which it shows, not `invalid-refresh`."""
    session.execute(
        delete(EndpointToken).where(
            EndpointToken.endpoint_id == endpoint_id, EndpointToken.kind == "access"
        )
    )
