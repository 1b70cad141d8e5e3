"""Admin REST routes under /api/v1/admin: the same operations as `pullprint-server admin`."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, Field

from server import access, admin, profiles
from server.access import error

router = APIRouter(prefix="/api/v1/admin", dependencies=[Depends(access.admin)])
STATUS = {"not-found": 404, "conflict": 409, "invalid": 422}


class NewUser(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    password: str = Field(min_length=1, max_length=1024)


class NewPrinter(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    host: str = Field(min_length=1, max_length=255)
    port: int = Field(ge=1, le=65535)
    protocol: Literal["raw", "ipp"]
    path: str = Field(default="", max_length=255)


class NewPort(BaseModel):
    name: str = Field(min_length=1, max_length=255)
    kind: Literal["pull", "direct"]
    printers: list[str] = Field(default_factory=list)


class SettingValue(BaseModel):
    value: Any


def run(request: Request, operation: Callable[..., Any], *args: Any) -> Any:
    """Run one admin operation in a transaction, mapping AdminError to its HTTP status."""
    ctx = access.context(request)
    try:
        with ctx.store.session() as session:
            result = operation(session, *args)
    except admin.AdminError as exc:
        raise error(STATUS.get(exc.code, 400), exc.code, exc.message) from exc
    ctx.hub.nudge()  # printers.changed / config.changed may have been queued
    return result


@router.get("/users")
def users(request: Request) -> list[dict]:
    return run(request, admin.list_users)


@router.post("/users", status_code=201)
def add_user(body: NewUser, request: Request) -> dict:
    return run(request, admin.add_user, body.name, body.password)


@router.post("/users/{name}/disable")
def disable_user(name: str, request: Request) -> dict:
    return run(request, admin.disable_user, name)


@router.post("/users/{name}/enable")
def enable_user(name: str, request: Request) -> dict:
    return run(request, admin.enable_user, name)


@router.get("/printers")
def printers(request: Request) -> list[dict]:
    return run(request, admin.list_printers)


@router.post("/printers", status_code=201)
def add_printer(body: NewPrinter, request: Request) -> dict:
    return run(
        request, admin.add_printer, body.name, body.host, body.port, body.protocol, body.path
    )


@router.get("/ports")
def ports(request: Request) -> list[dict]:
    return [p.model_dump() for p in run(request, admin.list_ports)]


@router.post("/ports", status_code=201)
def add_port(body: NewPort, request: Request) -> dict:
    return run(request, admin.add_port, body.name, body.kind, body.printers)


@router.delete("/ports/{port_id}")
def remove_port(port_id: int, request: Request) -> dict:
    return run(request, admin.remove_port, port_id)


@router.get("/endpoints")
def endpoints(request: Request) -> list[dict]:
    return run(request, admin.list_endpoints)


@router.post("/endpoints/{endpoint_id}/authorize")
def authorize(endpoint_id: int, request: Request) -> dict:
    return run(request, admin.authorize_endpoint, endpoint_id)


@router.post("/endpoints/{endpoint_id}/revoke")
async def revoke(endpoint_id: int, request: Request) -> dict:
    """Async so it can close the endpoint's channel right away on this process's loop."""
    result = await asyncio.to_thread(run, request, admin.revoke_endpoint, endpoint_id)
    await access.context(request).hub.disconnect(endpoint_id)
    return result


@router.get("/settings")
def settings(request: Request) -> dict:
    return run(request, admin.get_settings)


@router.put("/settings/{key}")
def set_setting(key: str, body: SettingValue, request: Request) -> dict:
    return run(request, admin.set_setting, key, body.value)


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


class NewGroup(BaseModel):
    name: str = Field(min_length=1, max_length=255)


@router.get("/profiles")
def list_profiles(request: Request) -> list[dict]:
    return run(request, profiles.list_profiles)


@router.post("/profiles", status_code=201)
def add_profile(body: NewProfile, request: Request) -> dict:
    return run(request, profiles.add_profile, body.name, body.settings)


@router.patch("/profiles/{name}")
def update_profile(name: str, body: ProfileChange, request: Request) -> dict:
    return run(request, profiles.update_profile, name, body.settings)


@router.delete("/profiles/{name}")
def delete_profile(name: str, request: Request) -> dict:
    return run(request, profiles.delete_profile, name)


@router.post("/profiles/{name}/assign")
def assign_profile(name: str, body: Assignment, request: Request) -> dict:
    return run(request, profiles.assign, name, body.user, body.group, body.default)


@router.post("/profiles/unassign")
def unassign_profile(body: Assignment, request: Request) -> dict:
    return run(request, profiles.unassign, body.user, body.group, body.default)


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
    return run(request, profiles.add_group, body.name)


@router.delete("/groups/{name}")
def delete_group(name: str, request: Request) -> dict:
    return run(request, profiles.delete_group, name)


@router.put("/groups/{name}/members/{user}")
def add_member(name: str, user: str, request: Request) -> dict:
    return run(request, profiles.add_member, name, user)


@router.delete("/groups/{name}/members/{user}")
def remove_member(name: str, user: str, request: Request) -> dict:
    return run(request, profiles.remove_member, name, user)
