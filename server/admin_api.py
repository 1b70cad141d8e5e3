"""Admin REST routes under /api/v1/admin: the same operations as `pullprint-server admin`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from functools import partial
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from server import access, admin, audit, profiles
from server.access import error

router = APIRouter(prefix="/api/v1/admin", dependencies=[Depends(access.admin)])
STATUS = {"not-found": 404, "conflict": 409, "invalid": 422}


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class PrinterFacts(BaseModel):
    """What a raw printer can do (protocol.channel.PrinterInfo); None = keep the record's."""

    model_config = ConfigDict(extra="forbid")

    color: bool | None = None
    duplex: bool | None = None
    media: list[str] | None = Field(default=None, max_length=64)
    media_default: str | None = Field(default=None, max_length=64)
    resolution: int | None = None
    pjl: bool | None = None

    def given(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class NewPrinter(PrinterFacts):
    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1, max_length=255)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["raw", "ipp", "ipps"]
    path: str = Field(default="", max_length=255)


class NewPort(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    kind: Literal["pull", "direct"]
    printers: list[str] = Field(default_factory=list)


class SettingValue(BaseModel):
    value: Any


# What a change is in the audit trail: (action, subject, detail).
Audited = tuple[str, str, str]


def run(
    request: Request, operation: Callable[..., Any], *args: Any, audited: Audited | None = None
) -> Any:
    """Run one admin operation in a transaction, mapping AdminError to its HTTP status. A
    change names itself in ``audited``: its row is written in the same transaction, with
    the admin's address."""
    ctx = access.context(request)
    try:
        with ctx.store.session() as session:
            result = operation(session, *args)
            if audited is not None:
                audit.record(session, audit.admin_at(request), *audited)
    except admin.AdminError as exc:
        raise error(STATUS.get(exc.code, 400), exc.code, exc.message) from exc
    ctx.hub.nudge()  # printers.changed / config.changed may have been queued
    return result


@router.get("/users")
def users(request: Request) -> list[dict]:
    return run(request, admin.list_users)


@router.post("/users", status_code=201)
def add_user(body: NewUser, request: Request) -> dict:
    audited = ("user.add", body.name, "")
    return run(request, admin.add_user, body.name, body.password, audited=audited)


@router.post("/users/{name}/disable")
def disable_user(name: str, request: Request) -> dict:
    return run(request, admin.disable_user, name, audited=("user.disable", name, ""))


@router.post("/users/{name}/enable")
def enable_user(name: str, request: Request) -> dict:
    return run(request, admin.enable_user, name, audited=("user.enable", name, ""))


@router.get("/printers")
def printers(request: Request) -> list[dict]:
    return run(request, admin.list_printers)


@router.post("/printers", status_code=201)
def add_printer(body: NewPrinter, request: Request) -> dict:
    where = f"{body.protocol}://{body.host}:{body.port}{body.path}"
    args = (body.name, body.host, body.port, body.protocol, body.path)
    facts = {k: v for k, v in body.given().items() if k in admin.RAW_FIELDS}
    audited = ("printer.add", body.name, where)
    return run(request, partial(admin.add_printer, **facts), *args, audited=audited)


@router.patch("/printers/{name}")
def set_printer(name: str, body: PrinterFacts, request: Request) -> dict:
    """Change what a printer's record says it can do; only the fields given."""
    facts = body.given()
    detail = " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(facts.items()))
    audited = ("printer.set", name, detail)
    return run(request, partial(admin.set_printer, name=name, **facts), audited=audited)


@router.get("/ports")
def ports(request: Request) -> list[dict]:
    return [p.model_dump() for p in run(request, admin.list_ports)]


@router.post("/ports", status_code=201)
def add_port(body: NewPort, request: Request) -> dict:
    detail = f"{body.kind}; printers: {', '.join(body.printers) or 'any'}"
    audited = ("port.add", body.name, detail)
    return run(request, admin.add_port, body.name, body.kind, body.printers, audited=audited)


@router.delete("/ports/{port_id}")
def remove_port(port_id: int, request: Request) -> dict:
    return run(request, admin.remove_port, port_id, audited=("port.remove", str(port_id), ""))


@router.get("/endpoints")
def endpoints(request: Request) -> list[dict]:
    return run(request, admin.list_endpoints)


@router.post("/endpoints/{endpoint_id}/authorize")
def authorize(endpoint_id: int, request: Request) -> dict:
    audited = ("endpoint.authorize", str(endpoint_id), "")
    return run(request, admin.authorize_endpoint, endpoint_id, audited=audited)


@router.post("/endpoints/{endpoint_id}/revoke")
async def revoke(endpoint_id: int, request: Request) -> dict:
    """Async so it can close the endpoint's channel right away on this process's loop."""
    audited = ("endpoint.revoke", str(endpoint_id), "")
    result = await asyncio.to_thread(
        lambda: run(request, admin.revoke_endpoint, endpoint_id, audited=audited)
    )
    await access.context(request).hub.disconnect(endpoint_id)
    return result


@router.get("/settings")
def settings(request: Request) -> dict:
    return run(request, admin.get_settings)


@router.put("/settings/{key}")
def set_setting(key: str, body: SettingValue, request: Request) -> dict:
    return run(request, audit.set_setting, audit.admin_at(request), key, body.value)


# --- configuration profiles (server/profiles.py) ----------------------------------------------


class NewProfile(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    settings: dict[str, Any] = Field(default_factory=dict)


class ProfileChange(BaseModel):
    settings: dict[str, Any]


class Assignment(BaseModel):
    """Exactly one of user, group, or default = true."""

    user: str | None = None
    group: str | None = None
    default: bool = False

    def target(self) -> str:
        """The target as the audit trail names it: user NAME, group NAME or default."""
        if self.user is not None:
            return f"user {self.user}"
        return f"group {self.group}" if self.group is not None else "default"


class NewGroup(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@router.get("/profiles")
def list_profiles(request: Request) -> list[dict]:
    return run(request, profiles.list_profiles)


@router.post("/profiles", status_code=201)
def add_profile(body: NewProfile, request: Request) -> dict:
    audited = ("profile.add", body.name, json.dumps(body.settings, default=str))
    return run(request, profiles.add_profile, body.name, body.settings, audited=audited)


@router.patch("/profiles/{name}")
def update_profile(name: str, body: ProfileChange, request: Request) -> dict:
    audited = ("profile.update", name, json.dumps(body.settings, default=str))
    return run(request, profiles.update_profile, name, body.settings, audited=audited)


@router.delete("/profiles/{name}")
def delete_profile(name: str, request: Request) -> dict:
    return run(request, profiles.delete_profile, name, audited=("profile.delete", name, ""))


@router.post("/profiles/{name}/assign")
def assign_profile(name: str, body: Assignment, request: Request) -> dict:
    audited = ("profile.assign", name, f"to {body.target()}")
    return run(request, profiles.assign, name, body.user, body.group, body.default, audited=audited)


@router.post("/profiles/unassign")
def unassign_profile(body: Assignment, request: Request) -> dict:
    audited = ("profile.unassign", body.target(), "")
    return run(request, profiles.unassign, body.user, body.group, body.default, audited=audited)


@router.get("/profiles/effective")
def effective_profile(request: Request, user: str) -> dict:
    """The profile in force for a machine where `user` is logged in (null: none applies)."""
    found = run(request, profiles.effective_for_users, [user])
    return {"user": user, "profile": found.model_dump() if found else None}


@router.get("/groups")
def list_groups(request: Request) -> list[dict]:
    return run(request, profiles.list_groups)


@router.post("/groups", status_code=201)
def add_group(body: NewGroup, request: Request) -> dict:
    return run(request, profiles.add_group, body.name, audited=("group.add", body.name, ""))


@router.delete("/groups/{name}")
def delete_group(name: str, request: Request) -> dict:
    return run(request, profiles.delete_group, name, audited=("group.delete", name, ""))


@router.put("/groups/{name}/members/{user}")
def add_member(name: str, user: str, request: Request) -> dict:
    return run(request, profiles.add_member, name, user, audited=("group.add-member", name, user))


@router.delete("/groups/{name}/members/{user}")
def remove_member(name: str, user: str, request: Request) -> dict:
    audited = ("group.remove-member", name, user)
    return run(request, profiles.remove_member, name, user, audited=audited)


# --- the audit trail (server/audit.py) --------------------------------------------------------


@router.get("/audit")
def audit_trail(
    request: Request,
    limit: int = Query(default=100, ge=1, le=audit.LIMIT_MAX),
    actor: str | None = None,
    action: str | None = None,
) -> list[dict]:
    """The newest audit rows first (logins and failed logins with their address, logouts,
    releases, cancels, endpoint and user changes, settings and profiles), optionally of one
    actor or one action."""
    return run(request, audit.recent, limit, actor, action)
