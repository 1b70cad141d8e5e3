"""A job's options on the wire (issue 21): the client's stored form is what an upload carries,
the server encodes them into a Print-Job byte for byte as the client's own IPP encoder does,
and a header whose options are not that form is refused before any document byte is read."""

from __future__ import annotations

import json

import pytest

from protocol import job_options
from protocol.gateway import ProtocolError, UploadHeader, decode_header, encode_frame, version_for
from services.core import ipp
from services.core.capabilities import decode_attributes, encode_attributes
from services.core.ipp import Attribute, Group, Operation, Tag

A5_SIZE = {
    "x-dimension": (Tag.INTEGER, [14800]),
    "y-dimension": (Tag.INTEGER, [21000]),
}
STORED = {
    "copies": Attribute("copies", Tag.INTEGER, [2]),
    "sides": Attribute("sides", Tag.KEYWORD, ["two-sided-long-edge"]),
    "media-col": Attribute(
        "media-col", Tag.BEGIN_COLLECTION, [{"media-size": (Tag.BEGIN_COLLECTION, [A5_SIZE])}]
    ),
    "page-ranges": Attribute("page-ranges", Tag.RANGE, [(1, 3), (5, 5)]),
    "printer-resolution": Attribute("printer-resolution", Tag.RESOLUTION, [(600, 600, 3)]),
    "finishings": Attribute("finishings", Tag.ENUM, [3, 4]),
    "job-hold-until": Attribute("job-hold-until", Tag.KEYWORD, ["indefinite"]),
}
HEADER = {"token": "t", "job_id": "j1", "owner": "alice", "port_id": 1, "size": 0}
HEADER["sha256"] = "0" * 64


def wire() -> str:
    text, left = job_options.for_upload(encode_attributes(STORED))
    assert left == [] and text is not None
    return text


def test_an_upload_carries_the_stored_options_but_the_hold_done_before_it() -> None:
    carried = job_options.parse(wire())

    assert list(carried) == [n for n in STORED if n != "job-hold-until"]
    assert carried["media-col"] == (Tag.BEGIN_COLLECTION, [STORED["media-col"].values[0]])
    assert job_options.describe_all({"media-col": carried["media-col"]}) == "media-col 148x210 mm"
    assert job_options.for_upload(None) == (None, [])
    only_hold = encode_attributes({"job-hold-until": STORED["job-hold-until"]})
    assert job_options.for_upload(only_hold) == (None, [])


def test_the_servers_job_group_is_the_clients_encoding_byte_for_byte() -> None:
    carried = decode_attributes(wire())
    without = ipp.request(Operation.PRINT_JOB)
    with_group = ipp.request(Operation.PRINT_JOB)
    with_group.groups.append(Group(Tag.JOB, carried))
    plain = ipp.encode(without)

    ours = plain[:-1] + job_options.job_group(job_options.parse(wire())) + plain[-1:]

    assert ours == ipp.encode(with_group)
    parsed, _ = ipp.parse(ours)
    job = parsed.group(Tag.JOB)
    assert job is not None and job.attributes == carried
    assert job_options.job_group({}) == b""


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        "[]",
        json.dumps({"job-hold-until": [Tag.KEYWORD, ["indefinite"]]}),  # done by the client
        json.dumps({"printer-uri": [Tag.URI, ["ipp://10.0.0.9/"]]}),  # not an option
        json.dumps({"copies": [Tag.INTEGER, []]}),
        json.dumps({"copies": [Tag.INTEGER, ["2"]]}),
        json.dumps({"copies": [Tag.INTEGER, [2**31]]}),
        json.dumps({"copies": [Tag.BOOLEAN, [2]]}),
        json.dumps({"copies": [Tag.OCTET_STRING, [{"hex": "00"}]]}),
        json.dumps({"copies": 2}),
        json.dumps({"sides": [Tag.KEYWORD, ["one-sided\r\n@PJL SET COPIES=99"]]}),
        json.dumps({"sides": [Tag.KEYWORD, ["x" * 256]]}),
        json.dumps({"page-ranges": [Tag.RANGE, [[1]]]}),
        json.dumps({"printer-resolution": [Tag.RESOLUTION, [[600, 600, 9]]]}),
        json.dumps({"finishings": [Tag.ENUM, list(range(65))]}),
        json.dumps({"media-col": [Tag.BEGIN_COLLECTION, [{"m": [Tag.INTEGER, [True]]}]]}),
        json.dumps({"copies": [Tag.INTEGER, [1] * 64], "media": [Tag.KEYWORD, ["a" * 255] * 64]}),
    ],
)
def test_options_not_in_the_wire_form_are_refused(text: str) -> None:
    with pytest.raises(job_options.BadOptions):
        job_options.parse(text)
    head = {**HEADER, "v": 3, "options": text}
    with pytest.raises(ProtocolError) as refused:
        decode_header(encode_frame(head)[4:])
    assert refused.value.code == "bad-header"


def test_a_collection_nested_deeper_than_media_col_is_refused() -> None:
    value: list = [Tag.INTEGER, [1]]
    for _ in range(job_options.MAX_DEPTH + 1):
        value = [Tag.BEGIN_COLLECTION, [{"m": value}]]
    with pytest.raises(job_options.BadOptions, match="too deep"):
        job_options.parse(json.dumps({"media-col": value}))


def test_options_travel_from_version_3_and_a_job_without_goes_as_version_2() -> None:
    text = wire()
    header = decode_header(encode_frame({**HEADER, "v": version_for(text), "options": text})[4:])
    assert header == UploadHeader(**HEADER, v=3, options=text)
    assert version_for(None) == 2  # a server that predates options still takes it
    for old in (1, 2):
        with pytest.raises(ProtocolError) as refused:
            decode_header(encode_frame({**HEADER, "v": old, "options": text})[4:])
        assert refused.value.code == "unsupported-version"
    assert decode_header(encode_frame({**HEADER, "v": 2})[4:]).options is None
