"""Job-template attributes at the spooler (issue 21): checked against what the port presents
with RFC 8011's fidelity rules, stored with the job, echoed, and job-hold-until honoured."""

from __future__ import annotations

from protocol.states import JobState
from services.core import capabilities
from services.core.capabilities import A4, decode_attributes
from services.core.ipp import Operation, Status, Tag
from support.printers import direct_printer
from support.waiting import wait_for
from tests.job_options import A5, TWO_SIDED, job_group, start_client, unsupported

# A raw printer that reads PJL: copies, duplex, colour and A5 reach it.
CAPABLE = capabilities.for_raw(color=True, duplex=True, media=[A4, A5], pjl=True)
FIDELITY = {"ipp_attribute_fidelity": (Tag.BOOLEAN, True)}


def client_with(make_client, raw_printer, caps=CAPABLE, services=("spooler",), printers=None):
    printers = printers or [direct_printer(raw_printer)]
    return start_client(make_client, printers, {"office": caps}, services)


def test_unsupported_values_with_fidelity_are_refused_and_nothing_is_stored(
    make_client, raw_printer
):
    client = client_with(make_client, raw_printer, capabilities.for_raw())
    job = job_group(
        copies=(Tag.INTEGER, 0),
        media=(Tag.KEYWORD, A5),
        sides=(Tag.KEYWORD, "bogus"),
        print_color_mode=(Tag.KEYWORD, "monochrome"),
    )

    reply = client.ipp(Operation.PRINT_JOB, job=job, document=b"doc", **FIDELITY)

    assert reply.code == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert unsupported(reply) == {"copies": [0], "media": [A5], "sides": ["bogus"]}
    assert client.jobs() == [] and client.spool_files() == []
    wait_for(lambda: "job.options-unsupported" in client.logs(), 10, "the refusal logged")


def test_without_fidelity_unsupported_values_are_dropped_and_said(make_client, raw_printer):
    client = client_with(make_client, raw_printer, capabilities.for_raw())
    job = job_group(copies=(Tag.KEYWORD, "two"), media=(Tag.KEYWORD, A5))

    reply = client.ipp(Operation.PRINT_JOB, job=job, document=b"doc")

    assert reply.code == Status.OK_IGNORED_OR_SUBSTITUTED
    # A value in the wrong syntax is not a supported value (RFC 8011 4.1.7).
    assert unsupported(reply) == {"copies": ["two"], "media": [A5]}
    assert reply.group(Tag.JOB).get("job-id") == 1
    assert decode_attributes(client.jobs()[0].options) == {}


def test_validate_job_answers_as_print_job_would_and_stores_nothing(make_client, raw_printer):
    client = client_with(make_client, raw_printer, capabilities.for_raw())
    job = job_group(copies=(Tag.INTEGER, 0), sides=(Tag.KEYWORD, "bogus"))

    strict = client.ipp(Operation.VALIDATE_JOB, job=job, **FIDELITY)
    lenient = client.ipp(Operation.VALIDATE_JOB, job=job)
    fine = client.ipp(Operation.VALIDATE_JOB, job=job_group(copies=(Tag.INTEGER, 1)))

    assert strict.code == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert lenient.code == Status.OK_IGNORED_OR_SUBSTITUTED
    assert unsupported(strict) == unsupported(lenient) == {"copies": [0], "sides": ["bogus"]}
    assert fine.code == Status.OK and unsupported(fine) == {}
    assert client.jobs() == []


def test_supported_options_are_stored_and_echoed_by_get_job_attributes(make_client, raw_printer):
    client = client_with(make_client, raw_printer)
    job = job_group(
        copies=(Tag.INTEGER, 2),
        sides=(Tag.KEYWORD, TWO_SIDED),
        media=(Tag.KEYWORD, A5),
        print_color_mode=(Tag.KEYWORD, "color"),
    )

    reply = client.ipp(Operation.PRINT_JOB, job=job, document=b"doc", **FIDELITY)
    echoed = client.ipp(Operation.GET_JOB_ATTRIBUTES, job_id=(Tag.INTEGER, 1)).group(Tag.JOB)
    listed = client.ipp(
        Operation.GET_JOBS,
        which_jobs=(Tag.KEYWORD, "all"),
        requested_attributes=(Tag.KEYWORD, "copies"),
    ).group(Tag.JOB)

    assert reply.code == Status.OK
    assert echoed.get("copies") == 2 and echoed.get("sides") == TWO_SIDED
    assert echoed.get("media") == A5 and echoed.get("print-color-mode") == "color"
    assert echoed.attributes["copies"].tag == Tag.INTEGER
    assert dict(listed.attributes)["copies"].values == [2]


def test_hold_indefinite_on_a_direct_port_waits_for_release_job(make_client, raw_printer):
    plain = capabilities.for_raw()
    client = client_with(make_client, raw_printer, plain, services=("spooler", "delivery"))
    hold = job_group(job_hold_until=(Tag.KEYWORD, "indefinite"))

    reply = client.ipp(Operation.PRINT_JOB, job=hold, document=b"held doc")
    job = client.ipp(Operation.GET_JOB_ATTRIBUTES, job_id=(Tag.INTEGER, 1)).group(Tag.JOB)

    assert reply.code == Status.OK
    assert job.get("job-state") == JobState.PENDING_HELD
    assert job.get("job-state-reasons") == "job-hold-until-specified"
    assert job.get("job-hold-until") == "indefinite"
    # Delivery runs and the printer listens, yet nothing is printed before the release.
    client.ipp(Operation.PRINT_JOB, document=b"not held")
    wait_for(lambda: client.job_state(2) == JobState.COMPLETED, 30, "the other job printed")
    assert [p.read_bytes() for p in raw_printer.jobs()] == [b"not held"]

    released = client.ipp(Operation.RELEASE_JOB, job_id=(Tag.INTEGER, 1))

    assert released.code == Status.OK
    wait_for(lambda: client.job_state(1) == JobState.COMPLETED, 30, "released job printed")
    assert sorted(p.read_bytes() for p in raw_printer.jobs()) == [b"held doc", b"not held"]


def test_no_hold_on_a_pull_port_is_substituted_the_job_is_held(make_client, raw_printer):
    pull = [direct_printer(raw_printer), {"name": "hall", "kind": "pull"}]
    client = start_client(make_client, pull, {}, ("spooler",))
    no_hold = job_group(job_hold_until=(Tag.KEYWORD, "no-hold"))

    reply = client.ipp(Operation.PRINT_JOB, printer="hall", job=no_hold, document=b"d")
    strict = client.ipp(Operation.PRINT_JOB, printer="hall", job=no_hold, document=b"d", **FIDELITY)
    asked = client.ipp(Operation.GET_JOB_ATTRIBUTES, printer="hall", job_id=(Tag.INTEGER, 1))
    job = asked.group(Tag.JOB)

    assert reply.code == Status.OK_IGNORED_OR_SUBSTITUTED
    assert unsupported(reply) == {"job-hold-until": ["no-hold"]}
    assert strict.code == Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
    assert job.get("job-state") == JobState.PENDING_HELD
    assert job.get("job-hold-until") == "indefinite"
    assert len(client.jobs()) == 1


def test_create_job_keeps_its_options_and_hold_for_the_document_that_follows(
    make_client, raw_printer
):
    client = client_with(make_client, raw_printer)
    job = job_group(copies=(Tag.INTEGER, 3), job_hold_until=(Tag.KEYWORD, "indefinite"))

    created = client.ipp(Operation.CREATE_JOB, job=job)
    sent = client.ipp(
        Operation.SEND_DOCUMENT,
        job_id=(Tag.INTEGER, 1),
        last_document=(Tag.BOOLEAN, True),
        document=b"doc",
    )
    echoed = client.ipp(Operation.GET_JOB_ATTRIBUTES, job_id=(Tag.INTEGER, 1)).group(Tag.JOB)

    assert created.code == sent.code == Status.OK
    assert echoed.get("copies") == 3
    assert echoed.get("job-state") == JobState.PENDING_HELD
    assert echoed.get("job-state-reasons") == "job-hold-until-specified"
