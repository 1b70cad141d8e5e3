"""A small real HTTP server that follows the facade's contract, for the tray's tests.

It fakes the outside world at the tray's edge only: the tray under test makes real HTTP requests
on a loopback port, reads a real 0600 token file named by ``/session``, and gets the contract's
error shapes. Tests change ``status``/``config`` directly and read ``calls`` to see what the tray
asked for. It can be stopped and started again on the same port, like a restarted service.
"""

from __future__ import annotations

import copy
import io
import re
import threading
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, HTTPException, Request
from fastapi.responses import Response

from support.ports import free_port

IDLE_STATUS: dict[str, Any] = {
    "ok": True,
    "version": "0.9.0",
    "mode": "local",
    "route": "local",
    "services": {
        name: {"service": name, "state": "running"}
        for name in ("spooler", "channel", "sync", "delivery", "api")
    },
    "channel": {"state": "online", "server": "https://print.example.org", "reason": ""},
    "sync": {"state": "ok", "reason": "", "last_sync": 1795338000.0},
    "signed_out": False,
}

DEFAULT_CONFIG: dict[str, Any] = {
    "server_url": "https://print.example.org",
    "secondary_server_url": None,
    "mode": "local",
    "sync_interval": 300,
    "language": "en",
    "login_type": "os",
    # The server's configuration profile, as services/api/config.py adds it.
    "profile": None,
    "managed": [],
    "locked": False,
}

USERS = {"alice": "wonderland"}

# The states a job can still be canceled in (protocol/states.py TRANSITIONS).
CANCELABLE = ("pending", "pending-held", "processing", "processing-stopped")
# What the real facade takes for a job id (protocol.JOB_ID_PATTERN); anything else is a 404.
JOB_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class FakeFacade:
    """The facade's endpoints over mutable state; ``calls`` lists ``(method, path, body)``."""

    def __init__(self, state_dir: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.status: dict[str, Any] = copy.deepcopy(IDLE_STATUS)
        self.config: dict[str, Any] = dict(DEFAULT_CONFIG)
        self.calls: list[tuple[str, str, Any]] = []
        self.fail: dict[str, int] = {}  # path -> status code to answer with instead
        self.token_file = state_dir / "api.token"
        self.set_token("first-token")
        self.user: str | None = None
        self.language: str | None = None  # chosen with PUT /language; else the config's key
        self.jobs: list[dict[str, Any]] = []  # the caller's jobs, as GET /jobs answers them
        self.traces: dict[str, list[dict[str, Any]]] = {}  # job id -> its events (TraceEvent)
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.app = self._build_app()

    def set_token(self, token: str) -> None:
        self.token = token
        self.token_file.write_text(token + "\n")

    def assign_profile(self, name: str, locked: bool, **settings: Any) -> None:
        """As if the server assigned this machine's user a profile: GET /config shows its
        values and names it; locked, PUT /config is refused as the real facade refuses it."""
        self.config.update(settings)
        self.config["profile"] = {
            "name": name,
            "settings": {"allow_local_configuration": not locked, **settings},
            "sources": {key: name for key in ("allow_local_configuration", *settings)},
        }
        self.config["managed"] = sorted(settings)
        self.config["locked"] = locked
        self.token_file.chmod(0o600)

    def add_job(self, **fields: Any) -> dict[str, Any]:
        """A job of the caller (a JobInfo), held on a pull port unless ``fields`` say otherwise:
        named by a uuid, as the real facade names jobs, with the next IPP job-id."""
        job = {
            "id": str(uuid.uuid4()),
            "ipp_job_id": max((j["ipp_job_id"] for j in self.jobs), default=0) + 1,
            "printer": "hall",
            "owner": "tester",
            "name": "report.pdf",
            "state": "pending-held",
            "state_reasons": ["job-hold-until-specified"],
            "state_message": "",
            "route": None,
            "size": 52_431,
            "created_at": time.time(),
            "completed_at": None,
            "port_kind": "pull",
        } | fields
        self.jobs.append(job)
        return job

    def set_job(self, job_id: str, **fields: Any) -> None:
        """Change a job as the services would (state, reasons, message, ...)."""
        job = next(j for j in self.jobs if j["id"] == job_id)
        if fields.get("state") in ("completed", "aborted", "canceled"):
            fields.setdefault("completed_at", time.time())
        job.update(fields)

    def changes(self) -> list[tuple[str, str, Any]]:
        return [call for call in self.calls if call[0] != "GET"]

    # -- life ----------------------------------------------------------------------------------

    def start(self) -> None:
        config = uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        for _ in range(500):  # bounded: uvicorn sets .started once it listens
            if self._server.started:
                return
            threading.Event().wait(0.01)
        raise RuntimeError("fake facade did not start")

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    # -- the contract --------------------------------------------------------------------------

    def _find(self, job_id: str) -> dict[str, Any]:
        """The job with this id (its uuid); the real facade's 404 for anything else, a
        malformed id and an IPP job-id included."""
        job = next((j for j in self.jobs if j["id"] == job_id), None)
        if job is None or not JOB_ID.match(job_id):
            message = f"no job {job_id[:64]}"
            raise HTTPException(404, {"code": "no-such-job", "message": message})
        return job

    def _check_token(self, authorization: str | None) -> None:
        if authorization != f"Bearer {self.token}":
            raise HTTPException(401, {"code": "unauthorized", "message": "token required"})

    def _build_app(self) -> FastAPI:
        app = FastAPI()

        @app.middleware("http")
        async def record(request: Request, call_next: Any) -> Any:
            body = await request.body()
            self.calls.append((request.method, request.url.path, body.decode() or None))
            if request.url.path in self.fail:
                code = self.fail[request.url.path]
                return Response(
                    '{"detail": {"code": "broken", "message": "it broke"}}',
                    status_code=code,
                    media_type="application/json",
                )
            return await call_next(request)

        @app.get("/status")
        def status() -> dict[str, Any]:
            return self.status

        @app.get("/session")
        def session() -> dict[str, Any]:
            return {"user": "tester", "token_file": str(self.token_file)}

        @app.get("/config")
        def get_config(authorization: str | None = Header(None)) -> dict[str, Any]:
            self._check_token(authorization)
            return self.config

        @app.put("/config")
        def put_config(values: dict[str, Any], authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            if self.config["locked"]:
                name = self.config["profile"]["name"]
                message = f"configuration is managed by your organisation's profile '{name}'"
                raise HTTPException(403, {"code": "config-locked", "message": message})
            for key, value in values.items():
                _validate(key, value)
            self.config.update(values)
            return {"ok": True, "changed": sorted(values), "restart_required": True}

        @app.put("/route")
        def put_route(body: dict[str, Any], authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            self.status["route"] = body["route"]
            return {"route": body["route"]}

        @app.get("/language")
        def get_language() -> dict[str, Any]:
            return {"language": self.language or self.config["language"]}

        @app.put("/language")
        def put_language(body: dict[str, Any], authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            self.language = body["language"]
            return {"language": body["language"]}

        @app.post("/sync")
        def sync(authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            self.status["sync"] = {"state": "running", "reason": "", "last_sync": None}
            return {"started": True}

        @app.post("/login")
        def login(body: dict[str, Any], authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            if self.config["login_type"] == "os":  # signs the machine in again
                self.status["signed_out"] = False
                return {"ok": True, "os_user": "tester", "server_user": None, "signed_out": False}
            if USERS.get(body.get("user")) != body.get("password"):
                raise HTTPException(
                    401, {"code": "login-failed", "message": "wrong user name or password"}
                )
            self.user = body["user"]
            return {"ok": True, "os_user": "tester", "server_user": self.user, "signed_out": False}

        @app.post("/logout")
        def logout(authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            self.user = None
            self.status["signed_out"] = True
            return {"ok": True, "os_user": "tester", "server_user": None, "signed_out": True}

        @app.get("/support-bundle")
        def support_bundle(days: int, authorization: str | None = Header(None)) -> Response:
            self._check_token(authorization)
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w") as zf:
                zf.writestr("config.toml", 'mode = "local"\n')
                zf.writestr("days.txt", str(days))
            return Response(buffer.getvalue(), media_type="application/zip")

        @app.get("/jobs")
        def jobs() -> list[dict[str, Any]]:
            return copy.deepcopy(self.jobs)

        @app.get("/jobs/{job_id}/trace")
        def trace(job_id: str) -> Any:
            job = self._find(job_id)
            return {"job": copy.deepcopy(job), "events": copy.deepcopy(self.traces.get(job_id, []))}

        @app.post("/jobs/{job_id}/cancel")
        def cancel(job_id: str, authorization: str | None = Header(None)) -> Any:
            self._check_token(authorization)
            job = self._find(job_id)
            if job["state"] not in CANCELABLE:
                # For people, like the real one: the number lp showed.
                message = f"job {job['ipp_job_id']} is already {job['state']}"
                raise HTTPException(409, {"code": "job-finished", "message": message})
            self.set_job(
                job_id,
                state="canceled",
                state_reasons=["job-canceled-by-user"],
                state_message="canceled by tester",
            )
            return copy.deepcopy(job)

        @app.get("/about")
        def about() -> dict[str, Any]:
            return {
                "version": self.status["version"],
                "copyright": "Copyright 2026 the pullprint authors",
                "license": "Apache-2.0",
                "components": [{"name": "PySide6", "version": "6.12", "license": "LGPL-3.0"}],
            }

        return app


def _validate(key: str, value: Any) -> None:
    """The facade's 422 for a bad value, with a message naming the key."""
    if key not in DEFAULT_CONFIG:
        message = f"unknown key '{key}'"
    elif key == "sync_interval" and not (isinstance(value, int | float) and value > 0):
        message = "key 'sync_interval': Input should be greater than 0"
    elif (
        key in ("server_url", "secondary_server_url")
        and value
        and not str(value).startswith("https://")
    ):
        message = f"key '{key}': must start with https://"
    elif key == "mode" and value not in ("local", "gateway", "hybrid"):
        message = "key 'mode': Input should be 'local', 'gateway' or 'hybrid'"
    else:
        return
    raise HTTPException(422, {"code": "invalid-config", "message": message})
