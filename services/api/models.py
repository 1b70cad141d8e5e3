"""The shapes of the facade's answers and request bodies, published in /openapi.json.

The tray is written against these; schemathesis checks every answer against them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["en", "de", "cs", "fr", "es"]
RouteName = Literal["local", "gateway"]


class Ok(BaseModel):
    ok: bool = True


class ChannelInfo(BaseModel):
    state: str  # online, offline, idle, ... or "unreachable" when channel does not answer
    server: str = ""
    reason: str = ""


class SyncInfo(BaseModel):
    state: str  # starting, running, ok, failed, or "unreachable"
    reason: str = ""
    last_sync: float | None = None


class Status(BaseModel):
    # True only when every part is: each entry of ``problems`` says which part and what is
    # wrong with it, in words a user can act on.
    ok: bool
    problems: list[str] = []
    # Processes being restarted after a configuration change (PUT /config answered already).
    restarting: list[str] = []
    version: str
    mode: str
    route: str
    services: dict[str, dict[str, Any]]
    channel: ChannelInfo
    sync: SyncInfo
    # after a logout: the server's printers are off this machine, or (os login) you logged out
    signed_out: bool


class JobInfo(BaseModel):
    # The job's one id, its uuid: the same on the bus, in the logs and on the server. The
    # store's row id is not here as ``id``; it is ``ipp_job_id``, the IPP job-id that lp and
    # ``pullprint print`` showed, so a person can match this job to what they printed.
    id: str
    ipp_job_id: int
    printer: str
    owner: str
    name: str
    state: str  # RFC 8011 keyword: pending, pending-held, processing, ...
    state_reasons: list[str]
    state_message: str
    route: str | None
    size: int
    created_at: float
    completed_at: float | None
    # The kind of the port it was printed to (direct | pull; None once the port is gone): a
    # held pull job is released at a printer, a held direct one by its owner (Release-Job).
    port_kind: str | None = None


class TraceEvent(BaseModel):
    at: float  # seconds since the epoch
    # captured, stored, held, reported, released, queued, attempt, route, attempt-failed,
    # requeued, reset, woke, delivered, aborted, canceled
    event: str
    detail: str


class JobTrace(BaseModel):
    job: JobInfo
    events: list[TraceEvent]  # oldest first


class PrinterInfo(BaseModel):
    name: str
    kind: str
    host: str
    port: int
    protocol: str
    source: str


class AuditRow(BaseModel):
    """One line of the audit trail (services/core/audit.py), secrets masked."""

    id: int
    at: float  # seconds since the epoch
    actor: str  # OS user, server user, "server" (its commands) or "system" (retention)
    # job.release, job.cancel, user.login, user.login-failed, user.logout, config.change,
    # mode.change, route.switch, printer.reset
    action: str
    subject: str  # a job's id (uuid), a printer, config key names, an OS user
    origin: str  # "facade uid=1000", "cli", "channel (server)", "channel (retention)"
    detail: str


class PrinterReset(BaseModel):
    ok: bool = True
    printer: str
    retried: list[str]  # the ids (uuids) of the jobs that were waiting and are due now


class Session(BaseModel):
    user: str
    uid: int
    token_file: str


class Login(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Needed with custom login; os login ignores them.
    user: str | None = Field(default=None, min_length=1, max_length=255)
    password: str | None = Field(default=None, max_length=1024)


class LoginResult(BaseModel):
    ok: bool = True
    os_user: str
    server_user: str | None
    # True when nobody is logged in any more: the server's printers are off this machine.
    signed_out: bool


class ConfigChanged(BaseModel):
    ok: bool = True
    changed: list[str]
    path: str
    # True when a process that reads a changed key will still run with the old value (no
    # supervisord to restart it, or the facade itself reads it).
    restart_required: bool = True
    # Being restarted now, in the background: the answer does not wait for them, and
    # GET /status lists them under ``restarting`` until they run with the new settings.
    restarting: list[str] = []


class RouteState(BaseModel):
    route: RouteName
    mode: str
    switchable: bool  # only local mode has a route switch


class RouteChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    route: RouteName


class LanguageState(BaseModel):
    language: str


class LanguageChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Language


class Component(BaseModel):
    name: str
    version: str
    license: str


class About(BaseModel):
    version: str
    copyright: str
    license: str
    components: list[Component]
