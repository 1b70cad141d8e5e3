"""IPP/1.1 and IPP/2.0 message encoding (RFC 8010), and nothing else.

Sans-IO: ``ipp_parser.Parser`` takes the attributes chunk by chunk as they arrive and returns the
message once they are complete (the document data starts right after); ``parse(buffer)`` does
the same for a buffer read whole, or raises ``NeedMore``. The spooler (server side),
``pullprint print`` and delivery (client side) all use this one module. We looked at
pyipp/aioipp first: both parse whole bodies held in memory and only responses, so they cannot
serve a streamed request body.
"""

from __future__ import annotations

import struct
import time
from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any

# Attributes of one request are small; a client sending more than this is broken or hostile.
MAX_HEADER_BYTES = 1024 * 1024
# RFC 8010 3.1.6: value-length is a SIGNED-SHORT, so no value is longer than this.
MAX_VALUE_LENGTH = 32767
# Real clients nest media-col two levels deep; a limit keeps hostile input off the C stack.
MAX_COLLECTION_DEPTH = 8


class Tag(IntEnum):
    # delimiter tags (groups)
    OPERATION = 0x01
    JOB = 0x02
    END = 0x03
    PRINTER = 0x04
    UNSUPPORTED_GROUP = 0x05
    # out-of-band values
    UNSUPPORTED = 0x10
    UNKNOWN = 0x12
    NO_VALUE = 0x13
    # integer values
    INTEGER = 0x21
    BOOLEAN = 0x22
    ENUM = 0x23
    # octet-string values
    OCTET_STRING = 0x30
    DATETIME = 0x31
    RESOLUTION = 0x32
    RANGE = 0x33
    BEGIN_COLLECTION = 0x34
    TEXT_LANG = 0x35
    NAME_LANG = 0x36
    END_COLLECTION = 0x37
    # character-string values
    TEXT = 0x41
    NAME = 0x42
    KEYWORD = 0x44
    URI = 0x45
    URI_SCHEME = 0x46
    CHARSET = 0x47
    LANGUAGE = 0x48
    MIME_TYPE = 0x49
    MEMBER_NAME = 0x4A


GROUP_TAGS = frozenset(range(0x00, 0x10))
STRING_TAGS = frozenset(
    {
        Tag.TEXT,
        Tag.NAME,
        Tag.KEYWORD,
        Tag.URI,
        Tag.URI_SCHEME,
        Tag.CHARSET,
        Tag.LANGUAGE,
        Tag.MIME_TYPE,
        Tag.MEMBER_NAME,
    }
)
OUT_OF_BAND_TAGS = frozenset(range(0x10, 0x20))


class Operation(IntEnum):
    PRINT_JOB = 0x0002
    VALIDATE_JOB = 0x0004
    CREATE_JOB = 0x0005
    SEND_DOCUMENT = 0x0006
    CANCEL_JOB = 0x0008
    GET_JOB_ATTRIBUTES = 0x0009
    GET_JOBS = 0x000A
    GET_PRINTER_ATTRIBUTES = 0x000B
    HOLD_JOB = 0x000C
    RELEASE_JOB = 0x000D
    # PWG 5100.11 (Cancel-My-Jobs, Close-Job) and 5100.13 (Identify-Printer)
    CANCEL_MY_JOBS = 0x0039
    CLOSE_JOB = 0x003B
    IDENTIFY_PRINTER = 0x003C


class Status(IntEnum):
    """status-code values, RFC 8011 section 13.1."""

    OK = 0x0000
    OK_IGNORED_OR_SUBSTITUTED = 0x0001
    CLIENT_ERROR_BAD_REQUEST = 0x0400
    CLIENT_ERROR_FORBIDDEN = 0x0401
    CLIENT_ERROR_NOT_AUTHORIZED = 0x0403
    CLIENT_ERROR_NOT_POSSIBLE = 0x0404
    CLIENT_ERROR_NOT_FOUND = 0x0406
    CLIENT_ERROR_TIMEOUT = 0x0407
    CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE = 0x0408
    CLIENT_ERROR_REQUEST_VALUE_TOO_LONG = 0x0409
    CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED = 0x040A
    CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED = 0x040B
    CLIENT_ERROR_CHARSET_NOT_SUPPORTED = 0x040D
    CLIENT_ERROR_COMPRESSION_NOT_SUPPORTED = 0x040F
    CLIENT_ERROR_COMPRESSION_ERROR = 0x0410
    SERVER_ERROR_INTERNAL_ERROR = 0x0500
    SERVER_ERROR_OPERATION_NOT_SUPPORTED = 0x0501
    SERVER_ERROR_VERSION_NOT_SUPPORTED = 0x0503
    SERVER_ERROR_TEMPORARY_ERROR = 0x0505
    SERVER_ERROR_BUSY = 0x0507
    SERVER_ERROR_JOB_CANCELED = 0x0508
    SERVER_ERROR_MULTIPLE_DOCUMENT_JOBS_NOT_SUPPORTED = 0x0509

    @property
    def keyword(self) -> str:
        return self.name.lower().replace("_", "-")


class NeedMore(Exception):
    """The buffer ends inside the attributes: read more and parse again."""


class IppError(Exception):
    """A request we must refuse, with the IPP status that says why."""

    def __init__(self, status: Status, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Attribute:
    name: str
    tag: int
    values: list[Any]

    @property
    def value(self) -> Any:
        return self.values[0] if self.values else None


@dataclass
class Group:
    tag: int
    attributes: dict[str, Attribute] = field(default_factory=dict)

    def add(self, name: str, tag: int, *values: Any) -> Group:
        self.attributes[name] = Attribute(name, tag, list(values))
        return self

    def get(self, name: str, default: Any = None) -> Any:
        attr = self.attributes.get(name)
        return default if attr is None or not attr.values else attr.values[0]


@dataclass
class Message:
    """A request (``code`` is the operation-id) or a response (``code`` is the status-code)."""

    version: tuple[int, int]
    code: int
    request_id: int
    groups: list[Group] = field(default_factory=list)

    def group(self, tag: int) -> Group | None:
        return next((g for g in self.groups if g.tag == tag), None)

    @property
    def operation(self) -> Group:
        return self.group(Tag.OPERATION) or Group(Tag.OPERATION)


# --- parsing (the parser itself is ipp_parser.py) --------------------------------------------


def parse(buffer: bytes | bytearray | memoryview) -> tuple[Message, int]:
    """Parse the attributes at the start of ``buffer``; returns the message and its length."""
    # Imported here: the parser builds this module's types, so it imports this module.
    from services.core import ipp_parser

    return ipp_parser.parse(buffer)


def decode_value(tag: int, raw: bytes) -> Any:
    try:
        if tag in (Tag.INTEGER, Tag.ENUM):
            return struct.unpack(">i", raw)[0]
        if tag == Tag.BOOLEAN:
            return struct.unpack(">?", raw)[0]
        if tag in STRING_TAGS:
            return text(raw)
        if tag == Tag.RESOLUTION:
            return struct.unpack(">iib", raw)
        if tag == Tag.RANGE:
            return struct.unpack(">ii", raw)
        if tag in (Tag.TEXT_LANG, Tag.NAME_LANG):
            n = struct.unpack(">h", raw[:2])[0]
            m = struct.unpack(">h", raw[2 + n : 4 + n])[0]
            return text(raw[4 + n : 4 + n + m])
    except struct.error:
        raise IppError(
            Status.CLIENT_ERROR_BAD_REQUEST, f"bad value length for tag {tag:#x}"
        ) from None
    return raw  # octetString, dateTime, out-of-band and unknown tags stay raw


def text(raw: bytes) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "text is not UTF-8") from None


# --- encoding ---------------------------------------------------------------------------------


def encode(message: Message) -> bytes:
    out = bytearray(struct.pack(">BBHi", *message.version, message.code, message.request_id))
    for group in message.groups:
        out.append(group.tag)
        for attr in group.attributes.values():
            _encode_attribute(out, attr.name, attr.tag, attr.values)
    out.append(Tag.END)
    return bytes(out)


def _encode_attribute(out: bytearray, name: str, tag: int, values: list[Any]) -> None:
    for i, value in enumerate(values or [b""]):
        _put(out, tag, name if i == 0 else "", value)


def _put(out: bytearray, tag: int, name: str, value: Any) -> None:
    if tag == Tag.BEGIN_COLLECTION:
        _put_raw(out, tag, name, b"")
        for member, member_values in value.items():
            member_tag, items = member_values
            _put_raw(out, Tag.MEMBER_NAME, "", member.encode())
            for item in items:
                _put(out, member_tag, "", item)
        _put_raw(out, Tag.END_COLLECTION, "", b"")
        return
    _put_raw(out, tag, name, encode_value(tag, value))


def _put_raw(out: bytearray, tag: int, name: str, raw: bytes) -> None:
    encoded_name = name.encode()
    out += struct.pack(">bh", tag, len(encoded_name)) + encoded_name
    out += struct.pack(">h", len(raw)) + raw


def encode_value(tag: int, value: Any) -> bytes:
    if tag in OUT_OF_BAND_TAGS:
        return b""
    if tag in (Tag.INTEGER, Tag.ENUM):
        return struct.pack(">i", value)
    if tag == Tag.BOOLEAN:
        return struct.pack(">?", value)
    if tag == Tag.RESOLUTION:
        return struct.pack(">iib", *value)
    if tag == Tag.RANGE:
        return struct.pack(">ii", *value)
    if isinstance(value, str):
        return value.encode()[:MAX_VALUE_LENGTH]
    return bytes(value)


def date_time(at: float) -> bytes:
    """A dateTime value (RFC 8010 3.9: RFC 2579 DateAndTime), in UTC."""
    t = time.gmtime(at)
    fields = (t.tm_year, t.tm_mon, t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec)
    return struct.pack(">HBBBBBBcBB", *fields, 0, b"+", 0, 0)


def response(request: Message, status: Status, message: str = "") -> Message:
    """A response carrying the operation attributes every response starts with."""
    op = Group(Tag.OPERATION)
    op.add("attributes-charset", Tag.CHARSET, "utf-8")
    op.add("attributes-natural-language", Tag.LANGUAGE, "en")
    if message:
        op.add("status-message", Tag.TEXT, message[:255])
    version = request.version if request.version[0] in (1, 2) else (2, 0)
    return Message(version, int(status), request.request_id, [op])


def request(
    operation: Operation, request_id: int = 1, version: tuple[int, int] = (2, 0)
) -> Message:
    """A request with the required charset/language operation attributes."""
    op = Group(Tag.OPERATION)
    op.add("attributes-charset", Tag.CHARSET, "utf-8")
    op.add("attributes-natural-language", Tag.LANGUAGE, "en")
    return Message(version, int(operation), request_id, [op])
