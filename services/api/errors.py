"""One error shape for every answer that is not a success: ``{"detail": {"code", "message"}}``.

The tray and scripts branch on ``code`` (stable keywords) and show ``message`` (for people).
FastAPI's own errors (validation, unknown path) are rewritten into the same shape, and anything
unexpected becomes a 500 ``internal`` whose traceback goes to the log, never to the caller.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.core.logs import get_log

log = get_log("api")


class ErrorDetail(BaseModel):
    code: str
    message: str
    key: str | None = None  # the config key a 422 from PUT /config is about


class ErrorBody(BaseModel):
    detail: ErrorDetail


class ApiError(Exception):
    """Raised by a handler to answer ``status`` with ``code`` and ``message``."""

    def __init__(self, status: int, code: str, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.key = status, code, message, key


def error_response(
    status: int,
    code: str,
    message: str,
    key: str | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    detail: dict[str, Any] = {"code": code, "message": message}
    if key is not None:
        detail["key"] = key
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


# The statuses FastAPI itself answers, named the way our own errors are.
_HTTP_CODES = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    415: "unsupported-media-type",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the error statuses a route can answer, all with ``ErrorBody``."""
    return {status: {"model": ErrorBody} for status in statuses}


def document(app: FastAPI) -> None:
    """Make /openapi.json tell the truth about errors: FastAPI documents its own 422 shape
    (a list), but every error here is ``ErrorBody``; and a body that is not JSON is a 400."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        ref = {"$ref": "#/components/schemas/ErrorBody"}
        error = {"description": "Error", "content": {"application/json": {"schema": ref}}}
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                answers = operation.setdefault("responses", {})
                for status in list(answers):
                    if status.isdigit() and int(status) >= 400:
                        answers[status] = error | {"description": answers[status]["description"]}
                if "requestBody" in operation:
                    answers.setdefault("400", error | {"description": "Body is not JSON"})
        components = schema.get("components", {}).get("schemas", {})
        for unused in ("HTTPValidationError", "ValidationError"):
            components.pop(unused, None)
        components.setdefault(
            "ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
        )
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.key)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # RFC 9110: say every method the path has; Starlette names only the first route's.
            headers["Allow"] = ", ".join(_methods(app, request.url.path))
        return error_response(exc.status_code, code, str(exc.detail), headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # Config forms show the message beside the field: same words as the service's start-up.
        code = "invalid-config" if request.url.path == "/config" else "invalid-request"
        return error_response(422, code, _describe(exc), key=_body_key(exc))

    @app.middleware("http")
    async def catch_all(request: Request, call_next: Any) -> Any:
        # A bug must not show a traceback to the caller or stop the facade: log it, answer 500.
        try:
            return await call_next(request)
        except Exception:
            log.exception("request.failed", method=request.method, path=request.url.path)
            return error_response(500, "internal", "internal error; see the api log")


def _methods(app: FastAPI, path: str) -> list[str]:
    found: set[str] = set()
    for route in app.routes:
        if isinstance(route, APIRoute) and route.path_regex.match(path):
            found |= route.methods
    return sorted(found)


def _body_key(exc: RequestValidationError) -> str | None:
    """The top-level body field the first problem is in, so a form can point at it."""
    errors = exc.errors()
    loc = errors[0].get("loc", ()) if errors else ()
    return str(loc[1]) if len(loc) > 1 and loc[0] == "body" else None


def _describe(exc: RequestValidationError) -> str:
    """The first problem in one line: where it is and what is wrong."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    loc = first.get("loc", ())
    if len(loc) > 1 and loc[0] == "body":  # a field of the body: name it as the config does
        key = ".".join(str(part) for part in loc[1:])
        if first.get("type") == "extra_forbidden":
            return f"unknown key '{key}'"
        return f"key '{key}': {first.get('msg', 'invalid')}"
    where = ".".join(str(part) for part in loc)
    return f"{where}: {first.get('msg', 'invalid')}"
