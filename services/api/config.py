"""``GET /config`` and ``PUT /config``: the client's settings, read by anyone, changed by admins.

A change is validated with the same ``Settings`` model the services start with, against the
file's content merged with the change (environment overrides play no part: they are not in
the file), so an accepted change can never keep the services from starting. The file is then
rewritten atomically; a value with a password in it goes to the root-only ``secrets.toml``
beside it instead (services/core/config_secrets.py). Services read their settings at start: the
reply says a restart is due.

The server's configuration profile for this machine's users (core/profile.py) overrides some
keys; ``GET /config`` shows the values in force, names the profile and the keys it manages, and
says ``locked`` when the profile forbids local configuration: ``PUT /config`` then answers 403
``config-locked``.
"""

from __future__ import annotations

import asyncio
import copy
import threading
import tomllib
from pathlib import Path
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, BeforeValidator, ConfigDict, ValidationError, create_model
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource

from services.api import redact, restarts
from services.api.audit import config_detail, entry
from services.api.auth import AdminDep, Caller
from services.api.context import Facade, FacadeDep
from services.api.errors import ApiError, responses
from services.api.models import ConfigChanged
from services.core import config_secrets as secrets
from services.core import profile
from services.core.config import (
    ROOTED_KEYS,
    SPELLING_CONFLICT,
    ConfigError,
    Settings,
    config_path,
    load_settings,
)
from services.core.tomlfile import to_toml

router = APIRouter(tags=["config"])
# Read, merge, write: two changes at once must not each write back a file without the other's.
_writing = threading.Lock()


class FileSettings(Settings):
    """``Settings`` from given values only: what the file alone would make."""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings,)


# Keys GET /config adds about the server's configuration profile; never written to the file.
READ_ONLY = ("profile", "locked", "managed")


def _whole_number(value: Any) -> Any:
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _change_model() -> type[BaseModel]:
    """Every ``Settings`` key, optional and nullable (null = back to the default), with the
    same constraints, so /openapi.json describes exactly what ``PUT /config`` accepts."""
    fields: dict[str, Any] = {}
    for name, field in Settings.model_fields.items():
        optional = copy.copy(field)
        optional.default, optional.default_factory = None, None
        # Paths arrive as JSON strings, which strict mode would refuse as "not a Path".
        annotation = str if field.annotation in (Path, Path | None) else field.annotation
        if annotation is int:
            # JSON Schema counts 65535.0 as an integer; TOML and Settings want 65535.
            optional.metadata = [*field.metadata, BeforeValidator(_whole_number)]
        fields[name] = (annotation | None, optional)
    # What GET /config adds about the profile is read-only; a form that sends back everything
    # it was shown may include it, and it is ignored.
    for name in READ_ONLY:
        fields[name] = (Any, None)
    # strict: JSON false is not the number 0, nor "5" the number 5.
    config = ConfigDict(extra="forbid", strict=True)
    return create_model("ConfigChange", __config__=config, **fields)


ConfigChange = _change_model()


def _current(facade: Facade) -> dict[str, Any]:
    try:
        settings = load_settings()
    except ConfigError as exc:
        raise ApiError(409, "config-invalid", str(exc)) from None
    assigned = profile.load(facade.store)
    current = redact.settings(profile.overlay(settings, assigned).model_dump(mode="json"))
    current["profile"] = assigned.model_dump(mode="json", exclude_none=True) if assigned else None
    current["managed"] = sorted(profile.values(assigned))
    current["locked"] = profile.locked_by(assigned) is not None
    return current


@router.get("/config", responses=responses(409))
async def get_config(facade: FacadeDep) -> dict[str, Any]:
    """The settings in force (file and environment, and the server's configuration profile
    over them for the keys listed in ``managed``), secrets masked as ``***``. ``profile`` is
    the profile in force (``name``, ``settings``, and ``sources``: which profile set each
    value) or null; ``locked`` is true when it forbids local configuration changes."""
    return await asyncio.to_thread(_current, facade)


def _refuse_if_locked(facade: Facade) -> dict[str, Any]:
    """403 ``config-locked`` when the profile forbids local configuration; else the values
    the profile imposes (a form sending them back unchanged must not write them to the file)."""
    assigned = profile.load(facade.store)
    name = profile.locked_by(assigned)
    if name is not None:
        raise ApiError(
            403,
            "config-locked",
            f"configuration is managed by your organisation's profile '{name}'",
        )
    return profile.values(assigned)


def _validate(data: dict[str, Any]) -> None:
    try:
        FileSettings(**data)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = ".".join(str(part) for part in error["loc"]) or "config"
        if error["type"] == "extra_forbidden":
            raise ApiError(422, "invalid-config", f"unknown key '{key}'", key=key) from None
        if error["type"] == SPELLING_CONFLICT:
            raise ApiError(
                409, "config-conflict", f"key '{key}': {error['msg']}", key=key
            ) from None
        raise ApiError(
            422, "invalid-config", f"key '{key}': {error['msg']}", key=str(error["loc"][0])
        ) from None


Diff = dict[str, tuple[Any, Any]]  # key: (old, new); None = not in the file (the default)


def _change(path: Path, changes: dict[str, Any]) -> Diff:
    with _writing:
        return _merge_and_write(path, changes)


def _merge_and_write(path: Path, changes: dict[str, Any]) -> Diff:
    """Merge ``changes`` into the file and replace it; what changed, with the old values
    (for the audit trail)."""
    try:
        data = tomllib.loads(path.read_text()) if path.exists() else {}
        data = secrets.read(secrets.path_for(path)) | data
    except (tomllib.TOMLDecodeError, OSError) as exc:
        raise ApiError(409, "config-invalid", f"{path}: {exc}") from None
    changed: Diff = {}
    for key, new in changes.items():
        old = data.get(key)
        if old is not None and new != old and redact.value(old) == new:
            continue  # the masked value GET /config showed, sent back by a form: keep the secret
        changed[key] = (old, new)
        if new is None:
            data.pop(key, None)  # TOML has no null: a missing key means the default
        else:
            data[key] = new
    _validate(data)
    text = to_toml(data)
    try:
        # Our writer is small; prove the text reads back as the same table before it
        # replaces a file every service depends on.
        same = tomllib.loads(text) == data and bool(text.encode())
    except (tomllib.TOMLDecodeError, UnicodeEncodeError):
        same = False
    if not same:
        raise ApiError(422, "invalid-config", "a value cannot be stored in TOML")
    # A password goes to the root-only secrets file, never to the config everyone reads.
    secrets.write(path, data)
    return changed


def _audit(facade: Facade, caller: Caller, diff: Diff) -> None:
    """The change in the audit trail: key names and old -> new values, secrets never (see
    ``audit.config_detail``). A row of its own transaction, right after the file's rename:
    the file is not in the store, so the two cannot share a commit."""
    real = {key: pair for key, pair in diff.items() if pair[0] != pair[1]}
    if not real:
        return
    with facade.store.session() as session:
        keys = ",".join(sorted(real))
        entry(caller, "config.change", keys, config_detail(real)).add(session)
        if "mode" in real:
            old, new = real["mode"]
            detail = f"{old or 'default'} -> {new or 'default'}"
            entry(caller, "mode.change", "mode", detail).add(session)
        session.commit()


@router.put("/config", responses=responses(401, 403, 409, 422))
async def put_config(
    body: ConfigChange,  # type: ignore[valid-type]
    facade: FacadeDep,
    caller: AdminDep,
) -> ConfigChanged:
    """Change config keys (``null`` restores a key's default); root or the admin token only.
    A bad value answers 422 naming the key, and the file stays as it was. 403
    ``config-locked`` when the server's configuration profile forbids local configuration."""
    imposed = await asyncio.to_thread(_refuse_if_locked, facade)
    path = config_path()
    # Only the keys sent: absent keys stay as they are in the file; null removes one.
    changes = body.model_dump(mode="json", exclude_unset=True)
    for key in READ_ONLY:
        changes.pop(key, None)
    for key, value in imposed.items():
        if key in changes and changes[key] == value:
            del changes[key]  # the profile's value, shown by GET /config and sent back
    diff = await asyncio.to_thread(_change, path, changes)
    await asyncio.to_thread(_audit, facade, caller, diff)
    changed = sorted(diff)
    facade.log.info("config.changed", keys=",".join(changed), user=caller.user)
    # The facade answers with the settings in force from now on (the mode in /status, the
    # route), though it keeps its port, paths and store until its own restart: it still
    # listens there, and the other processes still run there.
    fresh = await asyncio.to_thread(load_settings)
    kept = {key: getattr(facade.settings, key) for key in (*ROOTED_KEYS, "api_port")}
    facade.settings = fresh.model_copy(update=kept)
    needed = restarts.affected(changed)
    restarting = restarts.start(facade, needed)
    return ConfigChanged(
        changed=changed,
        path=str(path),
        restart_required=bool(set(needed) - set(restarting)),
        restarting=restarting,
    )
