"""User credentials: short-lived access tokens and rotating refresh tokens, one `sessions` row
per login.

A login gives a pair, as an endpoint's authorization does (server/tokens.py), under the same
TokenPolicy: the access token opens the user APIs and pages for `user_access_ttl` seconds; the
refresh token buys a new pair at `POST /api/v1/login/refresh` and is used up by it. No session
outlives `user_session_max` after its login, however often it is refreshed.

Unlike endpoint tokens, a refresh rotates the row in place: it holds the current pair and the
refresh token it replaced last (accepted again within the refresh grace, for a client whose
answer was lost), so ending a session, at logout or when the user is disabled, is deleting one
row, and no token the session ever had works after that.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from protocol.rest import LoginResponse
from server import auth
from server.models import User, UserSession, now
from server.tokens import TokenError, TokenPolicy


class UserDisabled(TokenError):
    """A refresh of a disabled user's session; `user` is who, for the audit trail."""

    def __init__(self, user: str) -> None:
        super().__init__("user-disabled", f"user {user} is disabled")
        self.user = user


@dataclass(frozen=True)
class Check:
    user: User | None
    code: str  # ok, token-expired, unauthorized


def issue(session: Session, user: User, policy: TokenPolicy) -> LoginResponse:
    """A new session for the user, with its first pair (both tokens returned in clear, once)."""
    current = now()
    # Sessions of this user that can no longer be refreshed go now, so the table holds only
    # live logins (a user who never logs in again leaves a few rows behind, harmlessly).
    session.execute(
        delete(UserSession).where(
            UserSession.user_id == user.id, UserSession.refresh_expires_at < current
        )
    )
    row = UserSession(user_id=user.id, user=user, created_at=current)
    pair = _new_pair(row, policy, current)
    session.add(row)
    return pair


def _new_pair(row: UserSession, policy: TokenPolicy, current: float) -> LoginResponse:
    access, refresh = auth.new_token(), auth.new_token()
    end = row.created_at + policy.user_session_max
    access_ttl = max(0.0, min(policy.user_access_ttl, end - current))
    row.token_hash, row.expires_at = auth.token_hash(access), current + access_ttl
    row.refresh_hash = auth.token_hash(refresh)
    row.refresh_expires_at = min(current + policy.user_refresh_ttl, end)
    return LoginResponse(
        token=access, user=row.user.name, refresh_token=refresh, expires_in=access_ttl
    )


def refresh(session: Session, refresh_token: str, policy: TokenPolicy) -> LoginResponse:
    """Exchange a refresh token for a new pair of the same session; the old pair is used up.

    Raises TokenError `invalid-refresh` (unknown, expired or used refresh token) or
    UserDisabled (`user-disabled`); for the latter every session of the user has been deleted
    in `session`, so the caller commits before it answers."""
    digest, current = auth.token_hash(refresh_token), now()
    row = session.scalar(
        select(UserSession).where(
            or_(UserSession.refresh_hash == digest, UserSession.previous_refresh_hash == digest)
        )
    )
    if row is None or row.refresh_expires_at <= current:
        raise TokenError("invalid-refresh", "unknown or expired refresh token; log in again")
    if row.user.disabled:
        # Disabling deletes the sessions already; this covers a refresh racing the disable.
        end_all(session, row.user_id)
        raise UserDisabled(row.user.name)
    if row.refresh_hash != digest:  # the one the last refresh replaced
        if row.rotated_at is None or row.rotated_at < current - policy.refresh_grace:
            raise TokenError("invalid-refresh", "refresh token already used; log in again")
    else:
        row.previous_refresh_hash, row.rotated_at = digest, current
    return _new_pair(row, policy, current)


def check_access(session: Session, token: str) -> Check:
    """The enabled user an access token belongs to, or why it does not open anything."""
    row = session.scalar(
        select(UserSession).where(UserSession.token_hash == auth.token_hash(token))
    )
    if row is None or row.user.disabled:
        return Check(None, "unauthorized")
    if row.expires_at <= now():
        return Check(None, "token-expired")
    return Check(row.user, "ok")


def end(session: Session, token: str) -> str | None:
    """End the session a token of any kind (access, refresh, the replaced refresh) belongs
    to, so logging out with whichever the caller still has voids all of them. Returns the
    user's name, or None when the token belonged to no session."""
    digest = auth.token_hash(token)
    row = session.scalar(
        select(UserSession).where(
            or_(
                UserSession.token_hash == digest,
                UserSession.refresh_hash == digest,
                UserSession.previous_refresh_hash == digest,
            )
        )
    )
    if row is None:
        return None
    name = row.user.name
    session.delete(row)
    return name


def end_all(session: Session, user_id: int) -> None:
    """Every session of the user ends now."""
    session.execute(delete(UserSession).where(UserSession.user_id == user_id))
