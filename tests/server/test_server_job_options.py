"""A job's options on the server (issue 21): migration 0011 gives the jobs table the column
that keeps them (jobs from before it have none), and the gateway refuses an upload whose
options are not the wire form before it reads a byte of the document, storing nothing."""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from alembic import command

from server.models import Job
from server.store import Store, alembic_config, default_url
from support.server import ServerProcess
from tests.server.clients import header, unique, upload
from tests.server.test_server_gateway import assert_nothing_stored, endpoint  # noqa: F401

COPIES_2 = json.dumps({"copies": [0x21, [2]]})


def job_columns(database: Store) -> set[str]:
    return {c["name"] for c in sa.inspect(database.engine).get_columns("jobs")}


def test_migration_gives_jobs_their_options_and_takes_them_back(store: Store) -> None:
    command.upgrade(alembic_config(store.engine), "0010")
    with store.engine.begin() as connection:
        connection.execute(
            sa.text(
                "INSERT INTO jobs (id, owner, location, name, format, size, sha256, state, "
                "reasons, attempts, created_at, updated_at) VALUES ('old', 'alice', 'server', "
                "'', 'application/pdf', 1, '', 'pending-held', 'none', 0, 0, 0)"
            )
        )

    store.migrate()

    with store.session() as session:
        assert session.get(Job, "old").options is None  # printed as it always was
    command.downgrade(alembic_config(store.engine), "0010")
    assert "options" not in job_columns(store)
    store.migrate()
    assert "options" in job_columns(store)


@pytest.mark.parametrize(
    ("extra", "code"),
    [
        ({"options": "{not json"}, "bad-header"),
        ({"options": json.dumps({"job-hold-until": [0x44, ["indefinite"]]})}, "bad-header"),
        ({"options": json.dumps({"sides": [0x44, ["one-sided\r\n@PJL"]]})}, "bad-header"),
        ({"options": COPIES_2, "v": 2}, "unsupported-version"),
    ],
)
def test_an_upload_with_options_not_in_the_wire_form_is_refused(
    server: ServerProcess,
    endpoint: tuple[str, int],  # noqa: F811
    extra: dict,
    code: str,
) -> None:
    token, port_id = endpoint
    job_id = unique("badopts")

    reply = upload(
        server.gateway_port, server.ca, header(token, job_id, port_id, b"x", **extra), b"x"
    )

    assert reply is not None and (reply.status, reply.code) == ("error", code)
    assert_nothing_stored(server, job_id)


def test_an_upload_with_options_is_stored_with_them(
    server: ServerProcess,
    endpoint: tuple[str, int],  # noqa: F811
) -> None:
    token, port_id = endpoint
    job_id = unique("opts")
    head = header(token, job_id, port_id, b"x", options=COPIES_2)

    reply = upload(server.gateway_port, server.ca, head, b"x")

    assert reply is not None and reply.code == "stored"
    stored = Store(server.db_url or default_url(server.data_dir))
    try:
        with stored.session() as session:
            job = session.get(Job, job_id)
            assert job is not None and job.options == COPIES_2
    finally:
        stored.close()
