"""Configuration profiles: groups, profiles, their assignments, and the profile in force for
an endpoint.

Precedence is user over group over default, merged field by field: for each setting the
endpoint gets the value of the highest-ranking profile that sets it (a user's profile that only
sets `sync_interval` leaves `retention` to the group's or the default profile). An endpoint's
users are those it reported on its last `GET /api/v1/config?users=...`; with several users
their own profiles rank first (by user name), then their groups' (by group name), then the
default. A change to a profile, an assignment or a group is pushed as `config.changed` to
exactly the endpoints whose effective profile it changes (`pushing`), in the same transaction.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from protocol.rest import PROFILE_FIELDS, PROFILE_NAME_PATTERN, EffectiveProfile, ProfileSettings
from server import commands
from server.admin import AdminError
from server.models import (
    Endpoint,
    EndpointUser,
    Group,
    Profile,
    ProfileAssignment,
    Setting,
    User,
    group_members,
)

# The same error as every admin operation, so the CLI and REST map it the same way.
ProfileError = AdminError


# --- profiles ----------------------------------------------------------------------------------


def _checked(settings: dict[str, Any]) -> dict[str, Any]:
    """The settings validated as ProfileSettings; only the keys given."""
    try:
        model = ProfileSettings.model_validate(settings)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(p) for p in error["loc"]) or "settings"
        if error["type"] == "extra_forbidden":
            allowed = ", ".join(PROFILE_FIELDS)
            raise ProfileError("invalid", f"unknown setting {key!r} (allowed: {allowed})") from None
        raise ProfileError("invalid", f"setting {key!r}: {error['msg']}") from None
    return {key: getattr(model, key) for key in settings}


def settings_of(profile: Profile) -> dict[str, Any]:
    return {f: getattr(profile, f) for f in PROFILE_FIELDS if getattr(profile, f) is not None}


def _profile(session: Session, name: str) -> Profile:
    profile = session.scalar(select(Profile).where(Profile.name == name))
    if profile is None:
        raise ProfileError("not-found", f"no profile {name!r}")
    return profile


def profile_info(session: Session, profile: Profile) -> dict[str, Any]:
    rows = session.scalars(
        select(ProfileAssignment).where(ProfileAssignment.profile_id == profile.id)
    )
    assigned = [_target_of(session, a) for a in rows]
    return {
        "id": profile.id,
        "name": profile.name,
        "settings": settings_of(profile),
        "assigned_to": sorted(assigned),
    }


def _target_of(session: Session, assignment: ProfileAssignment) -> str:
    if assignment.user_id is not None:
        return "user:" + (session.get(User, assignment.user_id).name)  # type: ignore[union-attr]
    if assignment.group_id is not None:
        return "group:" + (session.get(Group, assignment.group_id).name)  # type: ignore[union-attr]
    return "default"


def list_profiles(session: Session) -> list[dict[str, Any]]:
    return [profile_info(session, p) for p in session.scalars(select(Profile).order_by(Profile.id))]


def add_profile(session: Session, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    if not re.match(PROFILE_NAME_PATTERN, name or ""):
        raise ProfileError(
            "invalid", "profile names are 1..64 letters, digits, spaces, '_', '.' or '-'"
        )
    if session.scalar(select(Profile).where(Profile.name == name)):
        raise ProfileError("conflict", f"profile {name!r} exists")
    profile = Profile(name=name, **_checked(settings))
    session.add(profile)
    session.flush()  # a new profile is assigned to nobody: nothing to push
    return profile_info(session, profile)


def update_profile(session: Session, name: str, settings: dict[str, Any]) -> dict[str, Any]:
    """Set the settings given (None clears one); the others stay."""
    checked = _checked(settings)
    with pushing(session):
        profile = _profile(session, name)
        for key, value in checked.items():
            setattr(profile, key, value)
    return profile_info(session, profile)


def delete_profile(session: Session, name: str) -> dict[str, Any]:
    """Its assignments go with it; the endpoints it applied to fall back to the next profile."""
    with pushing(session):
        profile = _profile(session, name)
        info = profile_info(session, profile)
        session.execute(delete(ProfileAssignment).where(ProfileAssignment.profile_id == profile.id))
        session.delete(profile)
    return info


# --- groups ------------------------------------------------------------------------------------


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise ProfileError("not-found", f"no user {name!r}")
    return user


def _group(session: Session, name: str) -> Group:
    group = session.scalar(select(Group).where(Group.name == name))
    if group is None:
        raise ProfileError("not-found", f"no group {name!r}")
    return group


def group_info(group: Group) -> dict[str, Any]:
    return {"id": group.id, "name": group.name, "members": sorted(u.name for u in group.members)}


def list_groups(session: Session) -> list[dict[str, Any]]:
    return [group_info(g) for g in session.scalars(select(Group).order_by(Group.id))]


def add_group(session: Session, name: str) -> dict[str, Any]:
    if not name or len(name) > 255:
        raise ProfileError("invalid", "group names are 1..255 characters")
    if session.scalar(select(Group).where(Group.name == name)):
        raise ProfileError("conflict", f"group {name!r} exists")
    group = Group(name=name)
    session.add(group)
    session.flush()
    return group_info(group)


def delete_group(session: Session, name: str) -> dict[str, Any]:
    with pushing(session):
        group = _group(session, name)
        info = group_info(group)
        session.execute(delete(ProfileAssignment).where(ProfileAssignment.group_id == group.id))
        session.delete(group)
    return info


def add_member(session: Session, group_name: str, user_name: str) -> dict[str, Any]:
    with pushing(session):
        group, user = _group(session, group_name), _user(session, user_name)
        if user not in group.members:
            group.members.append(user)
    return group_info(group)


def remove_member(session: Session, group_name: str, user_name: str) -> dict[str, Any]:
    with pushing(session):
        group, user = _group(session, group_name), _user(session, user_name)
        if user in group.members:
            group.members.remove(user)
    return group_info(group)


# --- assignments -------------------------------------------------------------------------------


def _target(
    session: Session, user: str | None, group: str | None, default: bool
) -> tuple[Any, int | None, int | None]:
    """The assignment's where-clause for exactly one of user, group or default."""
    if sum((user is not None, group is not None, default)) != 1:
        raise ProfileError("invalid", "name exactly one of: a user, a group, or the default")
    if user is not None:
        user_id = _user(session, user).id
        return ProfileAssignment.user_id == user_id, user_id, None
    if group is not None:
        group_id = _group(session, group).id
        return ProfileAssignment.group_id == group_id, None, group_id
    clause = ProfileAssignment.user_id.is_(None) & ProfileAssignment.group_id.is_(None)
    return clause, None, None


def assign(
    session: Session,
    profile_name: str,
    user: str | None = None,
    group: str | None = None,
    default: bool = False,
) -> dict[str, Any]:
    """Give the profile to a user, a group or everyone (the default), replacing the profile
    that target had."""
    with pushing(session):
        profile = _profile(session, profile_name)
        clause, user_id, group_id = _target(session, user, group, default)
        session.execute(delete(ProfileAssignment).where(clause))
        session.add(ProfileAssignment(profile_id=profile.id, user_id=user_id, group_id=group_id))
    return profile_info(session, profile)


def unassign(
    session: Session, user: str | None = None, group: str | None = None, default: bool = False
) -> dict[str, Any]:
    with pushing(session):
        clause, _, _ = _target(session, user, group, default)
        removed = session.execute(delete(ProfileAssignment).where(clause)).rowcount
    if not removed:
        raise ProfileError("not-found", "that target has no profile assigned")
    return {"removed": True}


# --- the profile in force ----------------------------------------------------------------------


class Assignments:
    """Every assignment and group membership, read once, to resolve many endpoints."""

    def __init__(self, session: Session) -> None:
        self.by_user: dict[str, Profile] = {}
        self.by_group: dict[str, Profile] = {}
        self.default: Profile | None = None
        rows = session.execute(
            select(ProfileAssignment, User.name, Group.name)
            .outerjoin(User, User.id == ProfileAssignment.user_id)
            .outerjoin(Group, Group.id == ProfileAssignment.group_id)
        )
        for assignment, user_name, group_name in rows:
            if user_name is not None:
                self.by_user[user_name] = assignment.profile
            elif group_name is not None:
                self.by_group[group_name] = assignment.profile
            else:
                self.default = assignment.profile
        self.groups_of: dict[str, list[str]] = {}
        members = session.execute(
            select(User.name, Group.name)
            .join(group_members, group_members.c.user_id == User.id)
            .join(Group, Group.id == group_members.c.group_id)
            .order_by(Group.name)
        )
        for user_name, group_name in members:
            self.groups_of.setdefault(user_name, []).append(group_name)

    def resolve(self, users: list[str]) -> EffectiveProfile | None:
        ranked: list[Profile] = []
        names = sorted(set(users))
        ranked += [self.by_user[u] for u in names if u in self.by_user]
        groups = sorted({g for u in names for g in self.groups_of.get(u, [])})
        ranked += [self.by_group[g] for g in groups if g in self.by_group]
        if self.default is not None:
            ranked.append(self.default)
        if not ranked:
            return None
        merged: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for profile in ranked:
            for key, value in settings_of(profile).items():
                if key not in merged:
                    merged[key], sources[key] = value, profile.name
        return EffectiveProfile(
            name=ranked[0].name, settings=ProfileSettings(**merged), sources=sources
        )


def effective_for_users(session: Session, users: list[str]) -> EffectiveProfile | None:
    return Assignments(session).resolve(users)


def endpoint_users(session: Session, endpoint_id: int) -> list[str]:
    query = select(EndpointUser.name).where(EndpointUser.endpoint_id == endpoint_id)
    return sorted(session.scalars(query))


def set_endpoint_users(session: Session, endpoint_id: int, names: list[str]) -> None:
    """What the endpoint reported; kept so a later change is pushed to it."""
    wanted = {n for n in names if n}
    if set(endpoint_users(session, endpoint_id)) == wanted:
        return
    session.execute(delete(EndpointUser).where(EndpointUser.endpoint_id == endpoint_id))
    session.add_all(EndpointUser(endpoint_id=endpoint_id, name=n) for n in sorted(wanted))
    session.flush()


def effective_for_endpoint(session: Session, endpoint_id: int) -> EffectiveProfile | None:
    return effective_for_users(session, endpoint_users(session, endpoint_id))


def _snapshot(session: Session) -> dict[int, dict[str, Any] | None]:
    session.flush()
    resolver = Assignments(session)
    users: dict[int, list[str]] = {}
    for endpoint_id, name in session.execute(select(EndpointUser.endpoint_id, EndpointUser.name)):
        users.setdefault(endpoint_id, []).append(name)
    authorized = session.scalars(select(Endpoint.id).where(Endpoint.state == "authorized"))
    result = {}
    for endpoint_id in authorized:
        profile = resolver.resolve(users.get(endpoint_id, []))
        result[endpoint_id] = profile.model_dump() if profile else None
    return result


@contextmanager
def pushing(session: Session) -> Iterator[None]:
    """Queue `config.changed` for every endpoint whose effective profile the enclosed change
    alters (and only those); the endpoint then reads its profile with GET /api/v1/config."""
    before = _snapshot(session)
    yield
    after = _snapshot(session)
    changed = [e for e, profile in after.items() if before.get(e) != profile]
    if changed:
        config = {s.key: s.value for s in session.scalars(select(Setting))}
        for endpoint_id in changed:
            commands.queue(session, endpoint_id, "config.changed", {"config": config})
