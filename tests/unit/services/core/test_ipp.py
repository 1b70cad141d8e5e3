"""The IPP encoding module: round trips, truncation, and random input that must never raise
anything but our two exceptions."""

from __future__ import annotations

import contextlib

from hypothesis import given, settings
from hypothesis import strategies as st

from services.core import ipp
from services.core.ipp import Group, IppError, NeedMore, Operation, Status, Tag


def sample_request() -> ipp.Message:
    request = ipp.request(Operation.PRINT_JOB, request_id=42)
    op = request.operation
    op.add("printer-uri", Tag.URI, "ipp://127.0.0.1:8631/printers/office")
    op.add("requesting-user-name", Tag.NAME, "zoë")
    op.add("requested-attributes", Tag.KEYWORD, "printer-name", "printer-state")
    job = Group(Tag.JOB)
    job.add("copies", Tag.INTEGER, 2)
    job.add("job-impressions", Tag.INTEGER, 12)
    job.add("printer-resolution", Tag.RESOLUTION, (600, 600, 3))
    job.add("page-ranges", Tag.RANGE, (1, 5))
    job.add("ipp-attribute-fidelity", Tag.BOOLEAN, True)
    job.add("media-col", Tag.BEGIN_COLLECTION,
            {"media-size": (Tag.BEGIN_COLLECTION, [{"x-dimension": (Tag.INTEGER, [21000])}]),
             "media-type": (Tag.KEYWORD, ["stationery"])})  # fmt: skip
    request.groups.append(job)
    return request


def test_round_trip_and_document_offset():
    data = ipp.encode(sample_request())
    message, used = ipp.parse(data + b"%PDF-1.7 document")
    assert used == len(data)
    assert (message.version, message.code, message.request_id) == ((2, 0), 2, 42)
    op, job = message.groups
    assert op.get("requesting-user-name") == "zoë"
    assert op.attributes["requested-attributes"].values == ["printer-name", "printer-state"]
    assert job.get("copies") == 2 and job.get("printer-resolution") == (600, 600, 3)
    assert job.get("page-ranges") == (1, 5) and job.get("ipp-attribute-fidelity") is True
    # Members keep their tags, so a collection can be stored and sent on as it came.
    assert job.get("media-col") == {
        "media-size": (Tag.BEGIN_COLLECTION, [{"x-dimension": (Tag.INTEGER, [21000])}]),
        "media-type": (Tag.KEYWORD, ["stationery"]),
    }


def test_every_truncation_asks_for_more():
    data = ipp.encode(sample_request())
    for cut in range(len(data)):
        try:
            ipp.parse(data[:cut])
        except NeedMore:
            continue
        raise AssertionError(f"parsed a request cut at {cut} of {len(data)} bytes")


def test_attributes_past_the_cap_are_refused_not_buffered():
    big = bytearray(ipp.encode(sample_request())[:9])
    while len(big) < ipp.MAX_HEADER_BYTES + 100:
        big += b"\x41\x00\x01a\x7f\xff" + b"v" * 0x7FFF
    try:
        ipp.parse(big[: ipp.MAX_HEADER_BYTES + 50])
    except IppError as exc:
        assert exc.status == Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    else:
        raise AssertionError("no error for attributes over the cap")


def test_response_echoes_request_id_and_status_message():
    response = ipp.response(sample_request(), Status.CLIENT_ERROR_NOT_FOUND, "no such printer")
    message, _ = ipp.parse(ipp.encode(response))
    assert message.code == Status.CLIENT_ERROR_NOT_FOUND and message.request_id == 42
    assert message.operation.get("status-message") == "no such printer"


@settings(max_examples=2000, deadline=None)
@given(st.binary(max_size=300))
def test_random_bytes_raise_only_need_more_or_ipp_error(data):
    with contextlib.suppress(NeedMore, IppError):
        ipp.parse(data)


@settings(max_examples=2000, deadline=None)
@given(st.data())
def test_mutated_requests_raise_only_need_more_or_ipp_error(data):
    raw = bytearray(ipp.encode(sample_request()))
    for _ in range(data.draw(st.integers(1, 8))):
        position = data.draw(st.integers(0, len(raw) - 1))
        raw[position] = data.draw(st.integers(0, 255))
    with contextlib.suppress(NeedMore, IppError):
        ipp.parse(bytes(raw))
