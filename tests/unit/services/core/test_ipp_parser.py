"""The incremental IPP parser: whatever the chunks, the same message as one whole buffer, each
byte parsed once, and hostile sizes and counts refused with the right status."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from services.core import ipp, ipp_parser
from services.core.ipp import Group, IppError, Operation, Status, Tag
from services.core.ipp_parser import Parser


def sample(values: int = 3) -> bytes:
    request = ipp.request(Operation.PRINT_JOB, request_id=7)
    op = request.operation
    op.add("printer-uri", Tag.URI, "ipp://127.0.0.1:8631/printers/office")
    op.add("requested-attributes", Tag.KEYWORD, *(f"attr-{n}" for n in range(values)))
    job = Group(Tag.JOB)
    job.add("copies", Tag.INTEGER, 2)
    job.add("media-col", Tag.BEGIN_COLLECTION,
            {"media-size": (Tag.BEGIN_COLLECTION, [{"x-dimension": (Tag.INTEGER, [21000])}]),
             "media-type": (Tag.KEYWORD, ["stationery"])})  # fmt: skip
    request.groups.append(job)
    return ipp.encode(request)


def feed_in_pieces(parser: Parser, data: bytes, size: int) -> ipp.Message | None:
    for start in range(0, len(data), size):
        if (message := parser.feed(data[start : start + size])) is not None:
            return message
    return None


def test_one_byte_at_a_time_gives_the_message_of_the_whole_buffer():
    data = sample()
    whole, used = ipp.parse(data + b"%PDF")
    parser = Parser()
    message = feed_in_pieces(parser, data + b"%PDF", 1)
    assert message == whole
    assert parser.offset == used == len(data)


@pytest.mark.parametrize("cut", range(1, 120, 7))
def test_document_bytes_in_the_last_chunk_are_handed_back_unparsed(cut: int):
    data = sample()
    parser = Parser()
    assert parser.feed(data[:cut]) is None
    message = parser.feed(data[cut:] + b"%PDF-1.7")
    assert message is not None and message.request_id == 7
    assert parser.rest == b"%PDF-1.7"


def test_each_byte_is_parsed_once_however_slowly_it_comes(monkeypatch: pytest.MonkeyPatch):
    """The finding: a request trickled in was parsed again from its start on every chunk."""
    decoded = counting(monkeypatch, "decode_value")
    data = sample(values=500)
    parser = Parser()
    for fed in range(1, len(data) + 1):
        before = parser.offset
        parser.feed(data[fed - 1 : fed])
        # What is parsed for good only grows; the rest waits, not parsed yet, and is no more
        # than one item (a tag, two lengths, a name and a value).
        assert before <= parser.offset <= fed
        assert fed - parser.offset <= 5 + 32767 * 2
    assert parser.done and parser.offset == len(data)
    # One decoding per value, none twice (the items of a collection's structure are not
    # decoded as values: media-col's begin, member, begin, member, end, member, end).
    assert decoded.calls == parser.values - 7


def counting(monkeypatch: pytest.MonkeyPatch, name: str) -> Any:
    original: Callable[..., Any] = getattr(ipp_parser, name)

    class Counter:
        calls = 0

        def __call__(self, *args: Any) -> Any:
            Counter.calls += 1
            return original(*args)

    counter = Counter()
    monkeypatch.setattr(ipp_parser, name, counter)
    return counter


def test_more_values_than_the_cap_are_refused_as_too_large():
    data = sample(values=100)
    parser = Parser(max_values=50)
    with pytest.raises(IppError) as refused:
        feed_in_pieces(parser, data, 64)
    assert refused.value.status == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert parser.values == 51  # refused at the first value past the cap, not at the end


def test_a_request_within_the_caps_parses():
    data = sample(values=10)
    parser = Parser(max_bytes=len(data), max_values=30)
    assert feed_in_pieces(parser, data, 3) is not None


def test_attributes_past_the_byte_cap_are_refused_before_they_arrive():
    data = sample(values=100)
    parser = Parser(max_bytes=200)
    with pytest.raises(IppError) as refused:
        feed_in_pieces(parser, data, 50)
    assert refused.value.status == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    assert parser.offset <= 200


def test_feeding_after_the_end_is_a_programming_error():
    parser = Parser()
    parser.feed(sample())
    with pytest.raises(ValueError):
        parser.feed(b"more")


@pytest.mark.parametrize("member", [False, True])
def test_a_tag_above_0x7f_is_refused_since_no_answer_could_carry_it(member: bool):
    """The fuzz test found one in a media-col member: echoed in an answer, it could not be
    encoded, and the client got a dropped connection instead of an IPP error."""
    data = bytearray(sample())
    # A member value: tag, empty name (2), value length (2); an attribute: tag, name length.
    tag_at = data.index(b"stationery") - 5 if member else data.index(b"copies") - 3
    assert data[tag_at] == (Tag.KEYWORD if member else Tag.INTEGER)
    data[tag_at] = 0x84

    with pytest.raises(IppError) as refused:
        ipp.parse(bytes(data))

    assert refused.value.status == Status.CLIENT_ERROR_BAD_REQUEST
    assert refused.value.message == "0x84 is not a value tag"
