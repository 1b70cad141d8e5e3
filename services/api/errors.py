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


def error_response(status: int, code: str, message: str, key: str | None = None) -> JSONResponse:
    detail: dict[str, Any] = {"code": code, "message": message}
    if key is not None:
        detail["key"] = key
    return JSONResponse({"detail": detail}, status_code=status)


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


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the one shape."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.message, exc.key)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(422, "invalid-request", _describe(exc))

    @app.middleware("http")
    async def catch_all(request: Request, call_next: Any) -> Any:
        # A bug must not show a traceback to the caller or stop the facade: log it, answer 500.
        try:
            return await call_next(request)
        except Exception:
            log.exception("request.failed", method=request.method, path=request.url.path)
            return error_response(500, "internal", "internal error; see the api log")


def _describe(exc: RequestValidationError) -> str:
    """The first problem in one line: where it is and what is wrong."""
    errors = exc.errors()
    if not errors:
        return "invalid request"
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()))
    return f"{where}: {first.get('msg', 'invalid')}"
