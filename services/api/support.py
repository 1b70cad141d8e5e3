"""``GET /support-bundle``: one zip a person can attach to a support request.

It holds the service logs of the last N days, the config with secrets masked, versions
(python, pullprint, every installed package), a store summary (job counts per state,
printer count) and the newest rows of the audit trail (``audit.json``, masked again). Never
documents and never tokens: the spool and token files are simply not among the things read,
and log lines pass through ``redact.log_line`` on the way in.

An admin's bundle holds every user's rows; anyone else's only their own log lines, audit rows
and job counts (``bundle_scope.py``), and ``scope.json`` in the zip says which it is.
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import sys
import tempfile
import time
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from sqlalchemy import func, select
from starlette.background import BackgroundTask

from protocol.states import JobState
from services.api import redact
from services.api.auth import TokenCallerDep
from services.api.bundle_scope import Scope, audit_rows, line_is_theirs, own_jobs, scope_of
from services.api.context import Facade, FacadeDep
from services.api.errors import responses
from services.core import VERSION
from services.core import config_secrets as secrets
from services.core.config import config_path
from services.core.store import Job, Printer

router = APIRouter(tags=["support"])
DAY = 86400
# The newest rows of the audit trail: months of a busy shared machine, still a small file.
AUDIT_ROWS = 5000


def _logs(log_dir: Path, days: int) -> list[Path]:
    """Log files (current and rotated) written to in the last ``days`` days."""
    cutoff = time.time() - days * DAY
    if not log_dir.is_dir():
        return []
    found = []
    for path in sorted(log_dir.iterdir()):
        regular = path.is_file() and not path.is_symlink()
        if ".log" in path.name and regular and path.stat().st_mtime >= cutoff:
            found.append(path)
    return found


def _config() -> dict[str, Any]:
    """Both files as the services read them (config_secrets.py), every secret masked."""
    path = config_path()
    try:
        data = secrets.read(secrets.path_for(path)) | tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return {"path": str(path), "error": str(exc)}
    return {"path": str(path), "settings": redact.settings(data)}


def _versions() -> dict[str, Any]:
    packages = {
        dist.metadata["Name"]: dist.version
        for dist in metadata.distributions()
        if dist.metadata["Name"]
    }
    return {
        "pullprint": VERSION,
        "python": sys.version,
        "platform": platform.platform(),
        "packages": dict(sorted(packages.items(), key=lambda kv: kv[0].lower())),
    }


def _summary(facade: Facade, scope: Scope) -> dict[str, Any]:
    query = select(Job.state, func.count()).group_by(Job.state)
    if scope.names is not None:
        query = query.where(Job.owner.in_(scope.names))
    with facade.store.session() as session:
        counts = session.execute(query).all()
        printers = session.scalar(select(func.count()).select_from(Printer)) or 0
    return {
        "jobs": {JobState(state).keyword: count for state, count in counts},
        "printers": printers,
        "schema_version": facade.store.schema_version(),
        "mode": facade.settings.mode,
    }


def _add_log(bundle: zipfile.ZipFile, path: Path, scope: Scope, jobs: frozenset[str]) -> None:
    with path.open(errors="replace") as src, bundle.open(f"logs/{path.name}", "w") as dst:
        for line in src:
            if line_is_theirs(line, scope, jobs):
                dst.write(redact.log_line(line).encode())


def build(facade: Facade, scope: Scope, days: int, target: Path) -> None:
    with facade.store.session() as session:
        jobs = own_jobs(session, scope)
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr("scope.json", json.dumps(scope.describe(), indent=2))
        for path in _logs(facade.settings.log_dir, days):
            _add_log(bundle, path, scope, jobs)
        bundle.writestr("config.json", json.dumps(_config(), indent=2, default=str))
        bundle.writestr("versions.json", json.dumps(_versions(), indent=2))
        bundle.writestr("store.json", json.dumps(_summary(facade, scope), indent=2))
        trail = audit_rows(facade, scope, AUDIT_ROWS)
        bundle.writestr("audit.json", json.dumps(trail, indent=2))


@router.get(
    "/support-bundle",
    response_class=FileResponse,
    responses={200: {"content": {"application/zip": {}}}} | responses(401, 403, 422),
)
async def support_bundle(
    facade: FacadeDep,
    caller: TokenCallerDep,
    days: int = Query(default=7, ge=1, le=365, description="logs of the last N days"),
) -> FileResponse:
    """A zip of logs, redacted config, versions, a store summary and the audit trail; no
    documents, no tokens. Root and the admin token get every user's rows; anyone else only
    their own (``scope.json`` and the ``X-Bundle-Scope`` header say ``all`` or ``own``)."""
    scope = await asyncio.to_thread(scope_of, facade, caller)
    fd, name = tempfile.mkstemp(prefix="pullprint-support-", suffix=".zip")
    os.close(fd)
    target = Path(name)
    try:
        await asyncio.to_thread(build, facade, scope, days, target)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    scope_word = "all" if scope.everyone else "own"
    size = target.stat().st_size
    facade.log.info("support.bundle", user=caller.user, days=days, scope=scope_word, size=size)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return FileResponse(
        target,
        media_type="application/zip",
        filename=f"pullprint-support-{stamp}.zip",
        headers={"X-Bundle-Scope": scope_word},
        background=BackgroundTask(target.unlink, missing_ok=True),
    )
