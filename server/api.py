"""REST routes for endpoints and users under /api/v1 (admin routes are in admin_api.py).

Handlers are plain `def`: FastAPI runs them in its thread pool, where blocking database calls
belong. Errors are always {"detail": {"code": ..., "message": ...}}.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy import select

from protocol.rest import (
    Credentials,
    EndpointConfig,
    LoginRequest,
    LoginResponse,
    PrintersResponse,
    RefreshRequest,
    RegisterRequest,
    RegisterResponse,
    ReleaseRequest,
    ReleaseResponse,
    ReportsRequest,
    TokenRequest,
    TokenResponse,
)
from server import (
    access,
    accounting,
    admin,
    audit,
    auth,
    profiles,
    release,
    throttle,
    tokens,
    user_tokens,
)
from server.access import Principal, error
from server.context import ServerContext
from server.logs import event
from server.models import Endpoint, Job, User, now

router = APIRouter(prefix="/api/v1")
Caller = Annotated[Principal, Depends(access.caller)]
EndpointCaller = Annotated[Principal, Depends(access.endpoint)]
UserOrAdmin = Annotated[Principal, Depends(access.user_or_admin)]


@router.get("/health")
def health() -> dict[str, bool]:
    return {"ok": True}


@router.post("/endpoints", status_code=201)
def register(body: RegisterRequest, request: Request) -> RegisterResponse:
    """A client machine asks to join; it gets an id and a secret to poll for its token with.
    Registrations are counted per address (429 past the limit), and one nobody authorizes
    expires (server/retention.py), so no one fills the admin's pending list."""
    ctx, origin = access.context(request), audit.address(request)
    try:
        throttle.take(ctx.store, ctx.throttle.registration(origin))
    except throttle.Limited as exc:
        event("endpoint.register_throttled", origin=origin, retry_after=exc.retry_after)
        raise access.too_many(exc, "too many registrations from this address") from exc
    secret = auth.new_token()
    with ctx.store.session() as session:
        endpoint = Endpoint(
            hostname=body.hostname,
            os=body.os,
            version=body.version,
            state="pending",
            secret_hash=auth.token_hash(secret),
        )
        session.add(endpoint)
        session.flush()
        endpoint_id = endpoint.id
        who = audit.Who(body.hostname, origin)
        detail = f"{body.os} {body.version}".strip()
        audit.record(session, who, "endpoint.register", str(endpoint_id), detail)
    event("endpoint.registered", endpoint=endpoint_id, hostname=body.hostname)
    return RegisterResponse(endpoint_id=endpoint_id, secret=secret)


@router.post("/endpoints/{endpoint_id}/token")
def poll_token(endpoint_id: int, body: TokenRequest, request: Request) -> TokenResponse:
    """pending until an admin authorizes; then the credentials (access + refresh token),
    exactly once."""
    ctx = access.context(request)
    with ctx.store.session() as session:
        endpoint = session.get(Endpoint, endpoint_id)
        if endpoint is None:
            raise error(404, "not-found", f"no endpoint {endpoint_id}")
        if not auth.same_secret(auth.token_hash(body.secret), endpoint.secret_hash):
            raise error(403, "forbidden", "wrong registration secret")
        if endpoint.state == "revoked":
            raise error(403, "revoked", "endpoint revoked; register again")
        if endpoint.state == "pending" and endpoint.created_at < now() - ctx.tokens.pending_ttl:
            # Past its expiry, whether or not retention has swept it yet.
            raise error(404, "not-found", f"registration {endpoint_id} expired; register again")
        if endpoint.state == "pending":
            return TokenResponse(state="pending")
        if endpoint.credentials_issued_at is not None:
            raise error(409, "token-issued", "the token was already issued; register again")
        endpoint.credentials_issued_at = endpoint.last_seen_at = now()
        credentials = tokens.issue(session, endpoint_id, ctx.tokens)
    event("endpoint.token_issued", endpoint=endpoint_id)
    return TokenResponse(state="authorized", **credentials.model_dump())


@router.post("/endpoints/refresh")
def refresh_token(body: RefreshRequest, request: Request) -> Credentials:
    """A new access + refresh pair for a refresh token, which is used up by this call."""
    ctx = access.context(request)
    try:
        with ctx.store.session() as session:
            endpoint_id, credentials = tokens.refresh(session, body.refresh_token, ctx.tokens)
    except tokens.TokenError as exc:
        event("endpoint.refresh_refused", code=exc.code)
        raise error(403 if exc.code == "revoked" else 401, exc.code, exc.message) from exc
    event("endpoint.token_refreshed", endpoint=endpoint_id)
    return credentials


@router.post("/login")
def login(body: LoginRequest, request: Request) -> LoginResponse:
    """A user's access + refresh pair for their password; 429 with Retry-After after too many
    failures for this user name or from this address."""
    try:
        pair = login_user(access.context(request), body.user, body.password, audit.address(request))
    except throttle.Limited as exc:
        raise access.too_many(exc, "too many failed logins") from exc
    if pair is None:
        raise error(401, "bad-credentials", "unknown user or wrong password")
    return pair


def login_user(ctx: ServerContext, name: str, password: str, origin: str) -> LoginResponse | None:
    """Verify the password and open a session; shared with the login page. ``origin`` (the
    client's address) goes into the audit trail with the outcome, failures included. Raises
    throttle.Limited, before any password check, when this name or address failed too often."""
    who = audit.Who(name, origin)
    try:
        attempt = throttle.take(ctx.store, ctx.throttle.login(name, origin))
    except throttle.Limited as exc:
        event("user.login_throttled", user=name, origin=origin, limit=exc.bucket)
        raise
    with ctx.store.session() as session:
        user = session.scalar(select(User).where(User.name == name))
        # An unknown name costs one verify like a known one, so timing tells no names.
        stored = user.password_hash if user else auth.dummy_hash()
        if not auth.verify_password(stored, password) or user is None or user.disabled:
            event("user.login_failed", user=name, disabled=bool(user and user.disabled))
            why = "unknown user" if user is None else "user disabled" if user.disabled else ""
            audit.record(session, who, "user.login-failed", name, why or "wrong password")
            return None
        pair = user_tokens.issue(session, user, ctx.tokens)
        audit.record(session, who, "user.login", name)
        throttle.forget(session, attempt)  # not a failure
    event("user.login", user=name)
    return pair


@router.post("/login/refresh")
def refresh_login(body: RefreshRequest, request: Request) -> LoginResponse:
    """A new access + refresh pair for a user's refresh token, which is used up by this call."""
    try:
        return refresh_user(access.context(request), body.refresh_token, audit.address(request))
    except tokens.TokenError as exc:
        raise error(403 if exc.code == "user-disabled" else 401, exc.code, exc.message) from exc


def refresh_user(ctx: ServerContext, refresh_token: str, origin: str) -> LoginResponse:
    """Shared with the pages, which refresh from a cookie. Raises tokens.TokenError. Refreshes
    leave no audit row (the login did); a disabled user's refused one does."""
    refused: tokens.TokenError | None = None
    with ctx.store.session() as session:
        try:
            pair = user_tokens.refresh(session, refresh_token, ctx.tokens)
        except tokens.TokenError as exc:
            refused = exc  # raised after the commit: a disabled user's sessions are gone then
            if isinstance(exc, user_tokens.UserDisabled):
                who = audit.Who(exc.user, origin)
                audit.record(session, who, "user.refresh-refused", exc.user, "user disabled")
    if refused is not None:
        event("user.refresh_refused", code=refused.code)
        raise refused
    event("user.token_refreshed", user=pair.user)
    return pair


@router.post("/logout")
def logout(request: Request) -> dict:
    """Ends the session of a user token, access and refresh token alike (a no-op for other
    valid tokens). An expired access token or the refresh token will do: logging out should
    not need a refresh first."""
    token = access.bearer(request)
    if token and access.end_session(access.context(request), token, audit.address(request)):
        return {"ok": True}
    access.caller(request)  # 401 unless it is some other valid token
    return {"ok": True}


@router.get("/printers")
def printers(request: Request, who: Caller) -> PrintersResponse:
    """The input ports an endpoint (or user) should have as OS queues."""
    with access.context(request).store.session() as session:
        return PrintersResponse(ports=admin.list_ports(session))


@router.get("/config")
def config(
    request: Request,
    who: EndpointCaller,
    users: Annotated[list[str] | None, Query(max_length=100)] = None,
) -> EndpointConfig:
    """The site settings and the configuration profile in force for this endpoint's users.

    `users` (repeatable) are the server users logged in on the endpoint now; they are kept, so
    later profile changes are pushed to it. `?users=` (empty) says nobody is; without the
    parameter the users it reported last are used."""
    ctx = access.context(request)
    with ctx.store.session() as session:
        settings = admin.get_settings(session)
        if users is not None:
            profiles.set_endpoint_users(session, who.id, [u[:255] for u in users])
        profile = profiles.effective_for_endpoint(session, who.id)
    return EndpointConfig(
        heartbeat_interval=ctx.hub.heartbeat_interval,
        gateway=ctx.gateway_address,
        retention=int(settings.get("retention", 86400)),
        settings=settings,
        profile=profile,
    )


@router.post("/reports")
def reports(body: ReportsRequest, request: Request, who: EndpointCaller) -> dict:
    """Accounting for finished jobs, for endpoints that report over REST instead of the
    channel. Idempotent per job id."""
    results: dict[str, str] = {}
    with access.context(request).store.session() as session:
        for report in body.reports:
            results[report.job_id] = accounting.record_report(session, who.id, report)
    return {"results": results}


@router.post("/release")
def release_jobs(body: ReleaseRequest, request: Request, who: UserOrAdmin) -> ReleaseResponse:
    """Stands in for a user authenticating at a printer."""
    origin = audit.address(request)
    return release_for(access.context(request), who, body.user, body.printer, origin)


def release_for(
    ctx: ServerContext, who: Principal, user: str, printer: str, origin: str
) -> ReleaseResponse:
    if who.kind == "user" and who.name != user:
        raise error(403, "forbidden", "a user may release only their own jobs")
    try:
        with ctx.store.session() as session:
            result = release.release(session, user, printer)
            detail = f"{len(result.job_ids)} job(s) of {user}: {', '.join(result.job_ids)}"
            audit.record(session, audit.Who(who.name, origin), "job.release", printer, detail)
    except release.ReleaseError as exc:
        raise error(403 if exc.code == "user-disabled" else 404, exc.code, exc.message) from exc
    # Commit first, then wake the workers: they read the committed state.
    for job_id in result.server_job_ids:
        ctx.output.submit(job_id)
    ctx.hub.nudge(result.endpoint_ids)
    event("jobs.released", user=user, printer=printer, count=len(result.job_ids))
    return ReleaseResponse(printer=result.printer, job_ids=result.job_ids)


@router.get("/jobs")
def list_jobs(request: Request, who: UserOrAdmin, user: str | None = None) -> dict:
    """A user sees their own jobs; the admin sees everyone's (or one user's)."""
    owner = who.name if who.kind == "user" else user
    with access.context(request).store.session() as session:
        return {"jobs": [accounting.job_info(j) for j in accounting.jobs_of(session, owner)]}


@router.post("/jobs/{job_id}/cancel")
def cancel_job(job_id: str, request: Request, who: UserOrAdmin) -> dict:
    ctx = access.context(request)
    with ctx.store.session() as session:
        job = session.get(Job, job_id)
        if job is None or (who.kind == "user" and job.owner != who.name):
            raise error(404, "not-found", f"no job {job_id!r}")
        try:
            job = release.cancel(session, job_id)
        except release.ReleaseError as exc:
            raise error(409, exc.code, exc.message) from exc
        who_at = audit.Who(who.name, audit.address(request))
        audit.record(session, who_at, "job.cancel", job_id, f"{job.name!r} of {job.owner}")
    if job.location == "server":
        ctx.documents.delete(job_id)
    elif job.endpoint_id is not None:
        ctx.hub.nudge({job.endpoint_id})
    event("job.canceled", job=job_id)
    return {"job_id": job_id, "state": "canceled"}
