"""A job's options on the wire (issue 21): the job-template attributes a gateway upload carries,
so the server's Document Output prints the job as its owner asked, as a local print would.

The form is the JSON the client's store keeps them in (``jobs.options``): ``{name: [tag,
[values]]}``, every value as IPP has it (a collection ``{member: [tag, [values]]}``, a range
``[low, high]``, a resolution ``[x, y, units]``). The server reads it here, without importing
the client, refuses anything else before it reads a byte of the document, and encodes it into
a Print-Job's job group (``job_group``) or tells a raw printer (``protocol/pjl.py``).
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable, Mapping
from typing import Any

# The options that travel. job-hold-until does not: the client honours it before uploading.
NAMES = frozenset(
    {
        "copies",
        "finishings",
        "media",
        "media-col",
        "multiple-document-handling",
        "orientation-requested",
        "output-bin",
        "page-ranges",
        "print-color-mode",
        "print-quality",
        "printer-resolution",
        "sides",
    }
)
# IPP value tags (RFC 8010 3.5.2) an option may have; spelled here because protocol/ imports
# nothing of ours (services/core/ipp.py has the same numbers).
INTEGER, BOOLEAN, ENUM = 0x21, 0x22, 0x23
RESOLUTION, RANGE, COLLECTION, END_COLLECTION = 0x32, 0x33, 0x34, 0x37
TEXT, NAME, KEYWORD, MEMBER_NAME = 0x41, 0x42, 0x44, 0x4A
STRINGS = frozenset({TEXT, NAME, KEYWORD})
JOB_GROUP = 0x02
# Bounds: a real job's options are a few hundred bytes; media-col nests two levels.
MAX_JSON = 16 * 1024
MAX_VALUES = 64
MAX_STRING = 255
MAX_DEPTH = 4
INT32 = (-(2**31), 2**31 - 1)

Value = Any
Options = dict[str, tuple[int, list[Value]]]


class BadOptions(ValueError):
    """Options that are not the wire form: the gateway answers ``bad-header``."""


def parse(text: str) -> Options:
    """The options of ``text`` checked (names, tags, types, bounds); raises BadOptions."""
    if len(text) > MAX_JSON:
        raise BadOptions(f"options longer than {MAX_JSON} characters")
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise BadOptions("options are not JSON") from exc
    if not isinstance(data, dict):
        raise BadOptions("options are not a map")
    unknown = sorted(set(data) - NAMES)
    if unknown:
        raise BadOptions(f"options not taken: {', '.join(unknown)[:200]}")
    return {name: _attribute(name, raw, 0) for name, raw in data.items()}


def for_upload(text: str | None) -> tuple[str | None, list[str]]:
    """A job's stored options as an upload carries them, and the names it leaves behind
    (job-hold-until, honoured before the upload, is not left behind but done)."""
    stored: dict[str, Any] = json.loads(text) if text else {}
    left = sorted(n for n in stored if n not in NAMES and n != "job-hold-until")
    kept = {n: raw for n, raw in stored.items() if n in NAMES}
    return (json.dumps(kept) if kept else None), left


def _attribute(name: str, raw: Any, depth: int) -> tuple[int, list[Value]]:
    if depth > MAX_DEPTH:
        raise BadOptions(f"{name}: collections nested too deep")
    if not (isinstance(raw, list) and len(raw) == 2 and isinstance(raw[1], list)):
        raise BadOptions(f"{name}: not [tag, [values]]")
    tag, values = raw
    if not values or len(values) > MAX_VALUES:
        raise BadOptions(f"{name}: 1 to {MAX_VALUES} values")
    return tag, [_value(name, tag, v, depth) for v in values]


def _value(name: str, tag: Any, value: Any, depth: int) -> Value:
    if tag in (INTEGER, ENUM) and _is_int(value):
        return value
    if tag == BOOLEAN and isinstance(value, bool):
        return value
    if tag in STRINGS and isinstance(value, str) and len(value.encode()) <= MAX_STRING:
        if tag == KEYWORD and not value.isprintable():
            raise BadOptions(f"{name}: a keyword with control characters")
        return value
    if tag == RANGE and _ints(value, 2):
        return tuple(value)
    if tag == RESOLUTION and _ints(value, 3) and value[2] in (3, 4):
        return tuple(value)
    if tag == COLLECTION and isinstance(value, dict) and len(value) <= MAX_VALUES:
        return {
            str(m)[:MAX_STRING]: _attribute(f"{name}.{m}", raw, depth + 1)
            for m, raw in value.items()
        }
    raise BadOptions(f"{name}: a value that is not its tag's ({tag!r})")


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and INT32[0] <= value <= INT32[1]


def _ints(value: Any, count: int) -> bool:
    return isinstance(value, list) and len(value) == count and all(_is_int(v) for v in value)


# --- what a person reads ---------------------------------------------------------------------


def describe(name: str, tag: int, values: Iterable[Value]) -> str:
    """One option as a trace says it: ``copies 2``, ``media-col 148x210 mm``."""
    return f"{name} {', '.join(show(tag, v) for v in values)}"


def describe_all(options: Options) -> str:
    return "; ".join(describe(n, tag, values) for n, (tag, values) in options.items())


def show(tag: int, value: Value) -> str:
    if tag == COLLECTION:
        size = media_size(value)
        if size:
            return f"{size[0] / 100:g}x{size[1] / 100:g} mm"
        return "{" + " ".join(sorted(value)) + "}"
    if tag == RANGE:
        return f"{value[0]}-{value[1]}"
    if tag == RESOLUTION:
        return f"{value[0]}x{value[1]}{'dpi' if value[2] == 3 else 'dpcm'}"
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def media_size(col: Mapping[str, tuple[int, list[Value]]]) -> tuple[int, int] | None:
    """The (x, y) of a media-col's media-size in hundredths of mm, when it has one."""
    member = col.get("media-size")
    if not member or not member[1] or not isinstance(member[1][0], dict):
        return None
    x, y = first_member(member[1][0], "x-dimension"), first_member(member[1][0], "y-dimension")
    if not isinstance(x, int) or not isinstance(y, int):  # a client's range is no size
        return None
    return x, y


def first_member(col: Mapping[str, tuple[int, list[Value]]], member: str) -> Value:
    """A collection member's first value; None when it is absent or has none."""
    found = col.get(member)
    return found[1][0] if found and found[1] else None


# --- IPP encoding (RFC 8010 3.1) -------------------------------------------------------------


def job_group(options: Options) -> bytes:
    """The options as a Print-Job request's job attributes group; b"" when there are none."""
    if not options:
        return b""
    out = bytearray([JOB_GROUP])
    for name, (tag, values) in options.items():
        for i, value in enumerate(values):
            _put(out, tag, name if i == 0 else "", value)
    return bytes(out)


def _put(out: bytearray, tag: int, name: str, value: Value) -> None:
    if tag == COLLECTION:
        _raw(out, COLLECTION, name, b"")
        for member, (member_tag, values) in value.items():
            _raw(out, MEMBER_NAME, "", member.encode())
            for item in values:
                _put(out, member_tag, "", item)
        _raw(out, END_COLLECTION, "", b"")
        return
    _raw(out, tag, name, _octets(tag, value))


def _octets(tag: int, value: Value) -> bytes:
    if tag in (INTEGER, ENUM):
        return struct.pack(">i", value)
    if tag == BOOLEAN:
        return b"\x01" if value else b"\x00"
    if tag == RANGE:
        return struct.pack(">ii", *value)
    if tag == RESOLUTION:
        return struct.pack(">iib", *value)
    return str(value).encode()


def _raw(out: bytearray, tag: int, name: str, value: bytes) -> None:
    encoded = name.encode()
    out += struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value
