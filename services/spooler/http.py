"""The spooler's HTTP side: an ASGI app that uvicorn serves (DESIGN.md 12).

uvicorn handles HTTP/1.1, chunked bodies and ``Expect: 100-continue``; this module reads the IPP
attributes from the front of the body, then hands the rest to the operation as a stream of
chunks, so a document never sits in memory whole. The attributes are parsed as their chunks
arrive, each byte once, within limits on their count, size and time (issue 19, finding 4).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from services.core import ipp
from services.core.hosts import host_allowed
from services.core.ipp import IppError, Status
from services.core.ipp_parser import Parser
from services.core.logs import get_log
from services.spooler import caller, compression
from services.spooler.context import Context, requested_job_id
from services.spooler.operations import dispatch
from services.spooler.printer import PrinterObject

log = get_log("spooler")

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
PrinterLookup = Callable[[str], Awaitable[PrinterObject | None]]


class ClientGone(Exception):
    """The client disconnected before sending the whole request."""


class RequestBody:
    """The request body as chunks; raises ``ClientGone`` when the client goes away mid-body."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._more = True

    async def next_chunk(self) -> bytes | None:
        """The next non-empty chunk, or None at the end of the body."""
        while self._more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientGone
            self._more = message.get("more_body", False)
            chunk = message.get("body", b"")
            if chunk:
                return chunk
        return None

    async def drain(self) -> None:
        """Read and drop the rest of the body, one chunk at a time."""
        while await self.next_chunk() is not None:
            pass


class IppApp:
    def __init__(self, ctx: Context, lookup: PrinterLookup) -> None:
        self._ctx = ctx
        self._lookup = lookup

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        if not host_allowed(scope["headers"]):
            # DNS rebinding (services/core/hosts.py): refused as HTTP, the request never got
            # to IPP. CUPS and ipptool send Host: 127.0.0.1:port, as our printer-uri says.
            await _plain(send, 403, b"Host must be localhost, 127.0.0.1 or [::1]\n")
            return
        if scope["method"] == "GET":
            await self._describe(scope["path"], send)
            return
        if scope["method"] != "POST":
            await _plain(send, 405, b"IPP requests are POSTed with Content-Type application/ipp\n")
            return
        if _content_type(scope) != "application/ipp":
            await _plain(send, 415, b"Content-Type must be application/ipp\n")
            return
        body = RequestBody(receive)
        try:
            reply = await self._handle(scope, body)
        except ClientGone:
            log.info("request.abandoned", path=scope["path"])
            return
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/ipp")],
            }
        )
        await send({"type": "http.response.body", "body": ipp.encode(reply)})

    async def _handle(self, scope: dict[str, Any], body: RequestBody) -> ipp.Message:
        path = scope["path"]
        parser = Parser(self._ctx.max_attribute_bytes, self._ctx.max_attributes)
        request: ipp.Message | None = None
        try:
            request = await _read_attributes(body, parser, self._ctx.attributes_timeout)
            user = await caller.os_user(scope)
            if user == caller.UNKNOWN:
                # Mostly a client that already hung up: read to the end of what it sent, so
                # a cut upload ends as abandoned (nothing stored) rather than as refused.
                await body.drain()
                raise caller.not_known()
            caller.act_as(request, user)
            printer = await self._target(request, path)
            coding = compression.take(request)
            document = _document(body, parser.rest)
            if coding is not None:
                document = compression.inflate(document, coding)
            return await dispatch(self._ctx, request, printer, document)
        except IppError as exc:
            log.info("request.refused", path=path, status=exc.status.keyword, reason=exc.message)
            return ipp.response(request or _placeholder(parser), exc.status, exc.message)
        except ClientGone:
            raise
        except Exception:
            log.exception("request.failed", path=path)
            return ipp.response(
                request or _placeholder(parser), Status.SERVER_ERROR_INTERNAL_ERROR, "internal"
            )

    async def _describe(self, path: str, send: Send) -> None:
        """printer-more-info: a plain page saying what this printer object is."""
        try:
            printer = await self._printer(path)
        except IppError:
            await _plain(send, 404, b"no such printer\n")
            return
        text = (
            f"pullprint printer '{printer.name}' ({printer.kind} port)\n"
            f"IPP URI: {printer.uri}\n"
            + ("Jobs are held until you release them at a printer.\n" if printer.held else "")
        )
        await _plain(send, 200, text.encode())

    async def _target(self, request: ipp.Message, path: str) -> PrinterObject:
        """The printer the request is for, as RFC 8011 names it: its ``printer-uri``, else the
        printer of the job its ``job-uri`` names (a request posted to ``/jobs/N``); the HTTP
        path only when it has neither (operations refuse that: one of them is required)."""
        printer_uri = request.operation.get("printer-uri")
        if isinstance(printer_uri, str):
            try:
                where = urlsplit(printer_uri).path
            except ValueError:  # "ipp://[bad/x": no path to read
                raise IppError(
                    Status.CLIENT_ERROR_BAD_REQUEST, "printer-uri is not a URI"
                ) from None
            return await self._printer(where, printer_uri)
        if isinstance(request.operation.get("job-uri"), str):
            job_id = requested_job_id(request)
            job = await asyncio.to_thread(self._ctx.get_job, job_id) if job_id else None
            if job is None:
                raise IppError(Status.CLIENT_ERROR_NOT_FOUND, "no such job")
            return await self._printer("/printers/" + job.printer)
        return await self._printer(path)

    async def _printer(self, path: str, shown: str | None = None) -> PrinterObject:
        prefix = "/printers/"
        name = path[len(prefix) :].rstrip("/") if path.startswith(prefix) else ""
        printer = await self._lookup(name) if name else None
        if printer is None:
            raise IppError(Status.CLIENT_ERROR_NOT_FOUND, f"no printer at {shown or path}")
        return printer


async def _read_attributes(body: RequestBody, parser: Parser, timeout: float) -> ipp.Message:
    """Feed chunks to the parser until the attributes are complete; a body ending before them
    is a bad request. They are the request's head, and a client sends them at once: one that
    trickles them in slower than ``timeout`` holds a connection for nothing."""
    try:
        async with asyncio.timeout(timeout):
            while True:
                chunk = await body.next_chunk()
                if chunk is None:
                    raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "request ends early")
                if (request := parser.feed(chunk)) is not None:
                    return request
    except TimeoutError:
        raise IppError(
            Status.CLIENT_ERROR_TIMEOUT, f"the request's attributes took over {timeout:g} s"
        ) from None


async def _document(body: RequestBody, first: bytes | bytearray) -> AsyncIterator[bytes]:
    if first:
        yield bytes(first)
    while (chunk := await body.next_chunk()) is not None:
        yield chunk


def _placeholder(parser: Parser) -> ipp.Message:
    """Something to answer when the request could not be parsed: echo its id if we have it."""
    request_id = parser.message.request_id if parser.message else 0
    return ipp.Message((2, 0), 0, request_id & 0x7FFFFFFF)


def _content_type(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", []):
        if name == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def _plain(send: Send, status: int, text: bytes) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"text/plain; charset=utf-8")],
        }
    )
    await send({"type": "http.response.body", "body": text})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
