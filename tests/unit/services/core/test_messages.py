from __future__ import annotations

import msgpack
import pytest

from services.core import messages
from services.core.messages import JobStateChanged, JobStored, MessageError, PrintersChanged

JOB_UUID = "0b4e7c9a-3f1d-4c55-9a0e-5d2f8e6b1a77"


def test_round_trip_keeps_type_body_and_source():
    frames = messages.encode(JobStored(JOB_UUID, "office", 3), src="spooler")
    assert frames[0] == b"job.stored"
    envelope = messages.decode(frames)
    assert envelope.message == JobStored(JOB_UUID, "office", 3) and envelope.src == "spooler"


def test_job_messages_name_the_job_by_its_uuid_and_refuse_a_row_id():
    """One id per job on every wire: the uuid, never the store's integer row id."""
    stored = JobStored(JOB_UUID, "office", 3)
    changed = JobStateChanged(JOB_UUID, 7, "job-canceled-by-user")
    assert stored.body() == {"job_id": JOB_UUID, "printer": "office", "state": 3}
    assert changed.body() == {"job_id": JOB_UUID, "state": 7, "reasons": "job-canceled-by-user"}
    for message in (stored, changed):
        assert messages.decode(messages.encode(message, src="spooler")).message == message
    # A body from a build that still sent the row id is refused, not taken for some uuid.
    for body in (
        {"job_id": 7, "printer": "office", "state": 3},
        {"job_id": 7, "uuid": JOB_UUID, "printer": "office", "state": 3},
    ):
        envelope = {"v": 1, "id": "1", "ts": 0.0, "src": "old", "type": "job.stored", "body": body}
        with pytest.raises(MessageError, match="job_id is not str"):
            messages.decode([b"job.stored", msgpack.packb(envelope)])


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
