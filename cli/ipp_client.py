"""Sending IPP requests: ``pullprint print`` uses it today, delivery to IPP printers next.

The body is the encoded attributes followed by the document, streamed from disk, with a
Content-Length so the receiver knows the size up front (no chunked encoding needed).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx

from services.core import ipp
from services.core.ipp import Operation, Tag

CHUNK = 256 * 1024
FORMATS = {
    ".pdf": "application/pdf",
    ".ps": "application/postscript",
    ".pcl": "application/vnd.hp-PCL",
    ".pwg": "image/pwg-raster",
    ".urf": "image/urf",
}


class IppRequestFailed(Exception):
    """The printer could not be reached or did not answer IPP."""


def guess_format(path: Path) -> str:
    return FORMATS.get(path.suffix.lower(), "application/octet-stream")


def http_url(printer_uri: str) -> str:
    """ipp://host:port/path -> http://host:port/path (IPP over plain HTTP, RFC 8010)."""
    return "http" + printer_uri[len("ipp") :] if printer_uri.startswith("ipp:") else printer_uri


def print_file(
    printer_uri: str,
    path: Path,
    *,
    user: str,
    document_format: str | None = None,
    timeout: float = 60.0,
) -> ipp.Message:
    """Print-Job with ``path`` as the document; returns the printer's response."""
    request = ipp.request(Operation.PRINT_JOB)
    op = request.operation
    op.add("printer-uri", Tag.URI, printer_uri)
    op.add("requesting-user-name", Tag.NAME, user)
    op.add("job-name", Tag.NAME, path.name)
    op.add("document-format", Tag.MIME_TYPE, document_format or guess_format(path))
    header = ipp.encode(request)
    size = len(header) + path.stat().st_size

    def body() -> Iterator[bytes]:
        yield header
        with path.open("rb") as f:
            while chunk := f.read(CHUNK):
                yield chunk

    try:
        reply = httpx.post(
            http_url(printer_uri),
            content=body(),
            headers={"Content-Type": "application/ipp", "Content-Length": str(size)},
            timeout=timeout,
            # Printers and our spooler are on the local network: never through HTTP(S)_PROXY.
            trust_env=False,
        )
    except httpx.HTTPError as exc:
        raise IppRequestFailed(f"{printer_uri}: {exc}") from None
    if reply.status_code != 200:
        raise IppRequestFailed(f"{printer_uri}: HTTP {reply.status_code}: {reply.text[:200]}")
    try:
        message, _ = ipp.parse(reply.content)
    except (ipp.NeedMore, ipp.IppError) as exc:
        raise IppRequestFailed(f"{printer_uri}: not an IPP response ({exc})") from None
    return message
