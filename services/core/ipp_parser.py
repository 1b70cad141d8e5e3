"""The IPP attribute parser (RFC 8010 3.1), incremental: ``feed`` it chunks as they arrive.

Why incremental: the spooler used to parse the whole buffer again on every chunk, so a request
whose attributes trickled in cost time quadratic in their size, all of it on the event loop
every other client waits on (issue 19, finding 4). Here every item (tag, name, value) is decoded
once, when its last byte is in; only the few header bytes of an item still incomplete are looked
at again when the next chunk comes. ``offset`` only ever grows: it is how many bytes have been
parsed for good. Limits on the bytes and on the number of values make a hostile request cost a
bounded amount, and are answered with client-error-request-entity-too-large.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Any

from services.core.ipp import (
    GROUP_TAGS,
    MAX_COLLECTION_DEPTH,
    MAX_HEADER_BYTES,
    Attribute,
    Group,
    IppError,
    Message,
    NeedMore,
    Status,
    Tag,
    decode_value,
    text,
)

EXTENSION_TAG = 0x7F
_PREAMBLE = 8  # version-number (2), operation-id or status-code (2), request-id (4)


@dataclass
class _Collection:
    """A collection value being filled: its members, each ``(tag, values)`` as ``ipp.encode``
    takes them (the tag of a member's first value), and the member taking values now."""

    members: dict[str, tuple[int, list[Any]]] = field(default_factory=dict)
    current: str | None = None


class Parser:
    """Parse one message's attributes from chunks; ``feed`` returns it once complete."""

    def __init__(self, max_bytes: int = MAX_HEADER_BYTES, max_values: int | None = None) -> None:
        self.max_bytes = max_bytes
        self.max_values = max_values
        self.offset = 0  # bytes parsed for good, from the start of the message
        self.values = 0  # attribute values decoded (every item but the delimiters)
        self.message: Message | None = None
        self.done = False
        self._pending = bytearray()  # bytes after ``offset``: an item not complete yet
        self._group: Group | None = None
        self._last: Attribute | None = None
        self._open: list[_Collection] = []

    def feed(self, data: bytes | bytearray | memoryview) -> Message | None:
        """Take the next chunk; the message when its end-of-attributes tag has arrived.

        What follows the end tag (the start of the document) is ``rest`` and is not parsed.
        """
        if self.done:
            raise ValueError("the attributes are complete; the rest is document data")
        self._pending += data
        view = memoryview(self._pending)
        try:
            used = self._consume(view)
        finally:
            view.release()
        del self._pending[:used]
        return self.message if self.done else None

    @property
    def rest(self) -> bytes:
        """The bytes fed after the end of the attributes: the document's first bytes."""
        return bytes(self._pending) if self.done else b""

    def _consume(self, view: memoryview) -> int:
        """Parse every complete item in ``view``; how many bytes they took."""
        pos = 0
        if self.message is None:
            if len(view) < _PREAMBLE:
                self._check_size(_PREAMBLE)
                return 0
            major, minor, code, request_id = struct.unpack(">BBhi", view[:_PREAMBLE])
            self.message = Message((major, minor), code & 0xFFFF, request_id)
            pos = self._advance(_PREAMBLE)
        while not self.done:
            size = self._item_size(view, pos)
            if size is None:
                break
            self._item(view[pos : pos + size])
            pos += self._advance(size)
        return pos

    def _item_size(self, view: memoryview, pos: int) -> int | None:
        """The length of the item starting at ``pos``, or None while it is incomplete."""
        left = len(view) - pos
        if left < 1:
            return None
        if view[pos] in GROUP_TAGS:
            return 1
        size = 3
        if left >= size:
            size += 2 + _short(view, pos + 1)
            if left >= size:
                size += _short(view, pos + size - 2)
                if left >= size:
                    return size
        self._check_size(size)
        return None

    def _check_size(self, needed: int) -> None:
        if self.offset + needed > self.max_bytes:
            raise IppError(
                Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
                f"request attributes larger than {self.max_bytes} bytes",
            )

    def _advance(self, size: int) -> int:
        self._check_size(size)
        self.offset += size
        return size

    def _item(self, item: memoryview) -> None:
        tag = item[0]
        if tag in GROUP_TAGS:
            self._delimiter(tag)
            return
        if tag == EXTENSION_TAG:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "extension tags are not supported")
        if tag > EXTENSION_TAG:  # RFC 8010 3.5: tags are 0x00-0x7f; nothing could echo it
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, f"{tag:#x} is not a value tag")
        self.values += 1
        if self.max_values is not None and self.values > self.max_values:
            raise IppError(
                Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE,
                f"more than {self.max_values} attribute values in one request",
            )
        name_length = _short(item, 1)
        name = text(bytes(item[3 : 3 + name_length]))
        raw = bytes(item[5 + name_length :])
        if self._open:
            self._member(tag, raw)
        elif self._group is None:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "attribute before any group")
        else:
            self._attribute(tag, name, raw)

    def _delimiter(self, tag: int) -> None:
        if self._open:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "collection not terminated")
        if tag == Tag.END:
            self.done = True
            return
        assert self.message is not None
        self._group = Group(tag)
        self.message.groups.append(self._group)
        self._last = None

    def _attribute(self, tag: int, name: str, raw: bytes) -> None:
        """A value outside collections: a new attribute when named, else one more value."""
        assert self._group is not None
        value = self._value(tag, raw)
        if name:
            self._last = Attribute(name, tag, [value])
            self._group.attributes[name] = self._last
        elif self._last is None:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "additional value without attribute")
        else:
            self._last.values.append(value)

    def _member(self, tag: int, raw: bytes) -> None:
        """RFC 8010 3.1.6: memberAttrName values, each followed by that member's values."""
        collection = self._open[-1]
        if tag == Tag.END_COLLECTION:
            self._open.pop()
        elif tag == Tag.MEMBER_NAME:
            collection.current = text(raw)
        elif collection.current is None:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "collection value without member")
        else:
            value = self._value(tag, raw)
            collection.members.setdefault(collection.current, (tag, []))[1].append(value)

    def _value(self, tag: int, raw: bytes) -> Any:
        """A decoded value; a collection's is its members, filled by the items that follow."""
        if tag != Tag.BEGIN_COLLECTION:
            return decode_value(tag, raw)
        if len(self._open) >= MAX_COLLECTION_DEPTH:
            raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "collections nested too deep")
        collection = _Collection()
        self._open.append(collection)
        return collection.members


def _short(view: memoryview, at: int) -> int:
    n: int = struct.unpack_from(">h", view, at)[0]
    if n < 0:
        raise IppError(Status.CLIENT_ERROR_REQUEST_VALUE_TOO_LONG, "negative length")
    return n


def parse(buffer: bytes | bytearray | memoryview) -> tuple[Message, int]:
    """Parse the attributes at the start of ``buffer``; the message and its length in bytes.

    For a buffer holding the whole message (a response read in full); ``NeedMore`` when the
    buffer ends inside the attributes.
    """
    parser = Parser()
    message = parser.feed(buffer)
    if message is None:
        raise NeedMore
    return message, parser.offset
