"""The shared wire format: what one side encodes, the other decodes; garbage is a clean error."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocol.gateway import (
    LENGTH_PREFIX,
    ProtocolError,
    UploadHeader,
    decode_header,
    decode_reply,
    encode_header,
    encode_reply,
)

headers = st.builds(
    UploadHeader,
    v=st.just(1),
    token=st.text(min_size=1, max_size=64),
    job_id=st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z"),
    owner=st.text(min_size=1, max_size=64),
    port_id=st.integers(min_value=1, max_value=2**31),
    name=st.text(max_size=100),
    format=st.sampled_from(["application/pdf", "application/octet-stream"]),
    size=st.integers(min_value=0, max_value=2**40),
    sha256=st.from_regex(r"\A[0-9a-f]{64}\Z"),
)


@settings(deadline=None)  # generation time varies on loaded CI machines
@given(headers)
def test_header_round_trips(header: UploadHeader) -> None:
    frame = encode_header(header)
    (length,) = LENGTH_PREFIX.unpack(frame[:4])
    assert length == len(frame) - 4
    assert decode_header(frame[4:]) == header


@settings(deadline=None)
@given(st.binary(max_size=512))
def test_garbage_header_is_a_protocol_error(payload: bytes) -> None:
    try:
        decode_header(payload)
    except ProtocolError as exc:
        assert exc.code in ("bad-header", "unsupported-version")


def test_reply_round_trips() -> None:
    reply = decode_reply(encode_reply("error", "sha256-mismatch", "nope")[4:])
    assert (reply.status, reply.code, reply.message) == ("error", "sha256-mismatch", "nope")


def test_job_ids_cannot_name_other_files() -> None:
    for bad in ("../x", "a/b", ".hidden", "", "x" * 65):
        with pytest.raises(ValueError):
            UploadHeader(v=1, token="t", job_id=bad, owner="o", port_id=1, size=0, sha256="0" * 64)
