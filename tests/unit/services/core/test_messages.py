from __future__ import annotations

import msgpack
import pytest

from services.core import messages
from services.core.messages import JobStored, MessageError, PrintersChanged


def test_round_trip_keeps_type_body_and_source():
    frames = messages.encode(JobStored(7, "u", "office", 3), src="spooler")
    assert frames[0] == b"job.stored"
    envelope = messages.decode(frames)
    assert envelope.message == JobStored(7, "u", "office", 3) and envelope.src == "spooler"


@pytest.mark.parametrize(
    "frames",
    [
        [b"x"],
        [b"job.stored", b"\xc1garbage"],
        [b"job.stored", msgpack.packb({"v": 2, "type": "job.stored", "body": {}})],
        [
            b"nope",
            msgpack.packb({"v": 1, "type": "nope", "body": {}, "id": "1", "ts": 0, "src": "a"}),
        ],
        [b"job.stored", msgpack.packb({"v": 1, "type": "job.stored", "body": {"job_id": "7"}})],
    ],
)
def test_malformed_frames_raise_message_error(frames):
    with pytest.raises(MessageError):
        messages.decode(frames)


def test_replies_have_one_shape():
    assert messages.decode_reply(messages.ok({"a": 1})) == {"ok": True, "body": {"a": 1}}
    reply = messages.decode_reply(messages.error("bad", "why"))
    assert reply == {"ok": False, "error": {"code": "bad", "message": "why"}}
    assert PrintersChanged(2).body() == {"count": 2}
