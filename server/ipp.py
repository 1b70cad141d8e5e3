"""The little IPP the server needs: encode a Print-Job request, read a response status.

Kept inside server/ on purpose (the server imports nothing from services/ but the protocol).
Encoding per RFC 8010: version, operation-id, request-id, attribute groups, end tag.
"""

from __future__ import annotations

import struct

PRINT_JOB = 0x0002
TAG_OPERATION = 0x01
TAG_END = 0x03
TAG_UNSUPPORTED = 0x05
TAG_URI = 0x45
TAG_CHARSET = 0x47
TAG_LANGUAGE = 0x48
TAG_NAME = 0x42
TAG_MIME = 0x49
SUCCESSFUL_MAX = 0x00FF  # successful-ok .. successful-ok-* are 0x0000-0x00FF
CLIENT_ERROR_MIN = 0x0400
CLIENT_ERROR_MAX = 0x04FF
# The printer took the job but not every attribute as asked (RFC 8011 13.1.2.2).
SUCCESSFUL_OK_IGNORED_OR_SUBSTITUTED = 0x0001
# It refused the job for an attribute or value it does not support (RFC 8011 13.1.4.14).
CLIENT_ERROR_ATTRIBUTES_OR_VALUES = 0x040B


def _attribute(tag: int, name: str, value: str) -> bytes:
    name_bytes, value_bytes = name.encode(), value.encode()
    return (
        struct.pack(">BH", tag, len(name_bytes))
        + name_bytes
        + struct.pack(">H", len(value_bytes))
        + value_bytes
    )


def print_job(
    printer_uri: str,
    user: str,
    job_name: str,
    document_format: str,
    request_id: int = 1,
    job_group: bytes = b"",
) -> bytes:
    """The request header of a Print-Job; the document bytes follow it in the HTTP body.
    ``job_group``: the job's options, encoded (protocol/job_options.py ``job_group``)."""
    attributes = [
        (TAG_CHARSET, "attributes-charset", "utf-8"),
        (TAG_LANGUAGE, "attributes-natural-language", "en"),
        (TAG_URI, "printer-uri", printer_uri),
        (TAG_NAME, "requesting-user-name", user[:255] or "anonymous"),
        (TAG_NAME, "job-name", job_name[:255] or "untitled"),
        (TAG_MIME, "document-format", document_format or "application/octet-stream"),
    ]
    body = struct.pack(">BBHI", 1, 1, PRINT_JOB, request_id) + bytes([TAG_OPERATION])
    body += b"".join(_attribute(*a) for a in attributes)
    return body + job_group + bytes([TAG_END])


def response_status(data: bytes) -> int:
    """The status-code of an IPP response (bytes 2-3); raises ValueError when too short."""
    if len(data) < 8:
        raise ValueError("IPP response shorter than its fixed header")
    return struct.unpack(">H", data[2:4])[0]


def unsupported(data: bytes) -> set[str]:
    """The names in a response's unsupported-attributes group: what the printer refused,
    ignored or substituted of a request's attributes. A truncated response names what it
    got to."""
    names: set[str] = set()
    group, at = 0, 8
    while at < len(data):
        tag = data[at]
        at += 1
        if tag == TAG_END:
            break
        if tag < 0x10:  # a group delimiter
            group = tag
            continue
        if at + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[at : at + 2])
        name = data[at + 2 : at + 2 + length]
        at += 2 + length
        if at + 2 > len(data):
            break
        (length,) = struct.unpack(">H", data[at : at + 2])
        at += 2 + length
        if group == TAG_UNSUPPORTED and name:
            names.add(name.decode(errors="replace"))
    return names


def is_success(status: int) -> bool:
    return status <= SUCCESSFUL_MAX


def is_permanent_failure(status: int) -> bool:
    """Client errors (bad format, not authorized...) will not get better by retrying."""
    return CLIENT_ERROR_MIN <= status <= CLIENT_ERROR_MAX
