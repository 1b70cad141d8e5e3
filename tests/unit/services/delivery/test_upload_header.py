"""What this client tells the server's gateway about where a job prints (issue 19, finding 2):
a job released at a printer names it by the server's id, which the channel's release carried;
no upload names an address."""

from __future__ import annotations

import json
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from protocol.channel import PrinterInfo, Release
from protocol.gateway import decode_header, encode_header
from protocol.states import JobState
from services.channel import commands
from services.core import endpoint
from services.core.config import Settings
from services.core.store import Job, Printer, Store
from services.delivery import attempt, destination
from services.delivery.gateway import GatewayTransport
from services.delivery.router import Route

FLOOR2 = PrinterInfo(id=42, name="floor2", host="10.0.0.9", port=9100, protocol="raw")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    state = tmp_path / "state"
    state.mkdir()
    endpoint.save_token(state, "access-token")
    return Settings(state_dir=state, gateway="127.0.0.1:7300")


@pytest.fixture
def store(settings: Settings) -> Iterator[Store]:
    s = Store(settings.state_dir / "pullprint.db")
    yield s
    s.dispose()


def held_job(store: Store, port: Printer) -> str:
    now = time.time()
    with store.session() as session:
        session.add(port)
        job = Job(
            uuid=str(uuid.uuid4()),
            printer=port.name,
            owner="alice",
            size=1,
            sha256="0" * 64,
            state=int(JobState.PENDING_HELD),
            state_reasons="job-hold-until-specified",
            created_at=now,
            updated_at=now,
        )
        session.add(job)
        session.commit()
        return job.uuid


def upload_header(settings: Settings, store: Store, job_uuid: str, route: Route) -> dict:
    """The header as it goes on the wire, decoded as the server decodes it."""
    with store.session() as session:
        job = session.query(Job).filter_by(uuid=job_uuid).one()
        port = session.get(Printer, job.printer)
        assert port is not None
        where = destination.destination(job, port)
        sent = destination.transport(
            settings, ssl.create_default_context(), route, job, port, where
        )
    assert isinstance(sent, GatewayTransport)
    frame = encode_header(sent._header)
    return decode_header(frame[4:]).model_dump()


@pytest.mark.parametrize("route", [Route.GATEWAY, Route.VIA_SERVER])
def test_a_released_job_names_its_printer_by_the_servers_id(
    settings: Settings, store: Store, route: Route
) -> None:
    port = Printer(name="secure", kind="pull", host="", port=0, source="server", server_id=5)
    job_uuid = held_job(store, port)
    assert commands.release(store, Release(job_ids=[job_uuid], printer=FLOOR2)) == [job_uuid]

    header = upload_header(settings, store, job_uuid, route)
    assert (header["port_id"], header["deliver_to"]) == (5, 42)
    assert FLOOR2.host not in json.dumps(header)  # the address stays on this side


def test_a_direct_ports_job_sent_via_the_server_names_no_printer(
    settings: Settings, store: Store
) -> None:
    # The server prints it at the port's own target: there is nothing for us to choose.
    port = Printer(name="front", kind="direct", host="10.0.0.7", port=9100, server_id=6)
    job_uuid = held_job(store, port)
    with store.session() as session:
        job = session.query(Job).filter_by(uuid=job_uuid).one()
        job.state = int(JobState.PENDING)
        session.commit()
    header = upload_header(settings, store, job_uuid, Route.VIA_SERVER)
    assert (header["port_id"], header["deliver_to"]) == (6, None)
    assert "10.0.0.7" not in json.dumps(header)
    # And the trace says the server prints it (issue 20: it said "holds it until its release",
    # in gateway mode too, where a direct port's job prints at once as well).
    with store.session() as session:
        job = session.query(Job).filter_by(uuid=job_uuid).one()
        where = destination.destination(job, port)
    for route in (Route.VIA_SERVER, Route.GATEWAY):
        line = attempt.delivered(route, where, 1, destination.printed_at_once(port, where))
        assert line == "uploaded to the server, which prints it at front; attempt 1"


def test_a_job_released_before_targets_kept_the_id_is_held_on_the_server(
    settings: Settings, store: Store
) -> None:
    """Its target has an address and no id: the address is not sent, the server holds the job
    for another release, and the trace says so rather than that it prints."""
    port = Printer(name="secure", kind="pull", host="", port=0, source="server", server_id=5)
    job_uuid = held_job(store, port)
    old_target = {k: v for k, v in FLOOR2.model_dump().items() if k != "id"}
    with store.session() as session:
        job = session.query(Job).filter_by(uuid=job_uuid).one()
        job.state, job.target = int(JobState.PENDING), json.dumps(old_target)
        session.commit()
    header = upload_header(settings, store, job_uuid, Route.GATEWAY)
    assert (header["port_id"], header["deliver_to"]) == (5, None)
    with store.session() as session:
        job = session.query(Job).filter_by(uuid=job_uuid).one()
        assert not destination.printed_at_once(port, destination.destination(job, port))


def test_an_upload_carries_the_jobs_options_but_its_hold(settings: Settings, store: Store) -> None:
    """Issue 21: the server prints with them; job-hold-until was honoured here already. A job
    without options goes as version 2, which a server from before options still takes."""
    port = Printer(name="secure", kind="pull", host="", port=0, source="server", server_id=5)
    job_uuid = held_job(store, port)
    assert upload_header(settings, store, job_uuid, Route.GATEWAY)["v"] == 2
    stored = {"copies": [0x21, [2]], "job-hold-until": [0x44, ["indefinite"]]}
    with store.session() as session:
        session.query(Job).filter_by(uuid=job_uuid).one().options = json.dumps(stored)
        session.commit()

    header = upload_header(settings, store, job_uuid, Route.GATEWAY)

    assert header["v"] == 3 and json.loads(header["options"]) == {"copies": [0x21, [2]]}
