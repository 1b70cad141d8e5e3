"""The facade's jobs as the tray and scripts use them: listed, traced and canceled by their one
id, the uuid (``JobInfo.id``), each user only their own; a real api process with the spooler
and sync, called over HTTP."""

from __future__ import annotations

import os
import pwd
import re
from typing import Any

import httpx
import pytest

from protocol.states import JobState
from services.core import users
from services.core.ipp import Group, Operation, Tag
from services.core.store import Job
from support.printers import direct_printer
from support.waiting import wait_for
from tests.integration.test_api import HELD, held_job, run_as, start_api

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def test_jobs_are_named_by_their_uuid_never_by_the_store_row(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    first = held_job(api.client, "root", b"first")
    second = held_job(api.client, "root", b"second")
    rows = {job.uuid: job.id for job in api.client.jobs()}

    listed = api.call("GET", "/jobs").json()

    # id is the uuid the store and the spooler's job-uuid hold; the row number is only there
    # as ipp_job_id, the number lp showed, never as id.
    assert [(job["id"], job["ipp_job_id"]) for job in listed] == [first, second]
    assert all(UUID.match(job["id"]) and rows[job["id"]] == job["ipp_job_id"] for job in listed)
    assert not any(isinstance(job["id"], int) for job in listed)
    trace = api.call("GET", f"/jobs/{first.id}/trace").json()
    assert (trace["job"]["id"], trace["job"]["ipp_job_id"]) == first
    # The row number (or anything else that is not a job's uuid) names no job: a clean 404.
    for wrong in (str(first.ipp_job_id), first.id.upper(), "x" * 300, "not a job!", "-1"):
        for method, path in (("GET", "trace"), ("POST", "cancel")):
            answer = api.admin(method, f"/jobs/{wrong}/{path}")
            assert answer.status_code == 404, (wrong, path, answer.text)
            assert answer.json()["detail"]["code"] == "no-such-job", answer.text
    assert api.client.job_state(first.ipp_job_id) == JobState.PENDING_HELD
    # The facade's own schema says the same: id is a string, ipp_job_id the integer.
    schema = api.call("GET", "/openapi.json").json()["components"]["schemas"]["JobInfo"]
    assert schema["properties"]["id"]["type"] == "string"
    assert schema["properties"]["ipp_job_id"]["type"] == "integer"


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_user_sees_only_own_jobs_and_cannot_cancel_others(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    os.chmod(api.client.root, 0o755)  # nobody must reach run/users/<uid>/ below it
    api.client.wait_printer("hall")
    alices = held_job(api.client, "alice")
    nobodys = held_job(api.client, "nobody")

    def as_nobody() -> dict[str, Any]:
        session = httpx.get(api.base + "/session").json()
        with open(session["token_file"]) as f:
            token = f.read()
        auth = {"Authorization": "Bearer " + token}
        others = httpx.post(f"{api.base}/jobs/{alices.id}/cancel", headers=auth)
        own = httpx.post(f"{api.base}/jobs/{nobodys.id}/cancel", headers=auth)
        return {
            "session": session,
            "token": token,
            "jobs": httpx.get(api.base + "/jobs").json(),
            "others": [others.status_code, others.json()],
            "own": [own.status_code, own.json()],
        }

    result = run_as("nobody", as_nobody)

    nobody = pwd.getpwnam("nobody")
    assert result["session"]["user"] == "nobody"
    assert [job["id"] for job in result["jobs"]] == [nobodys.id]
    assert result["others"] == [
        404,
        {"detail": {"code": "no-such-job", "message": f"no job {alices.id}"}},
    ]
    assert result["own"][0] == 200 and result["own"][1]["state"] == "canceled"
    assert api.client.job_state(alices.ipp_job_id) == JobState.PENDING_HELD
    token_file = os.stat(result["session"]["token_file"])
    token_dir = os.stat(os.path.dirname(result["session"]["token_file"]))
    assert (token_file.st_uid, token_file.st_mode & 0o777) == (nobody.pw_uid, 0o600)
    assert (token_dir.st_uid, token_dir.st_mode & 0o777) == (nobody.pw_uid, 0o700)
    # a user token is good only on that user's connections: root holding it gets nothing
    stolen = api.call("POST", f"/jobs/{alices.id}/cancel", token=result["token"])
    assert stolen.status_code == 401
    assert [job["id"] for job in api.call("GET", "/jobs").json()] == [alices.id, nobodys.id]
    # root asking for its own (as the tray does) gets neither alice's nor nobody's.
    assert api.call("GET", "/jobs?mine=true").json() == []


def test_cancel_own_job_deletes_its_document(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    job = held_job(api.client, "root", b"to be canceled")
    assert len(api.client.spool_files()) == 1

    canceled = api.admin("POST", f"/jobs/{job.id}/cancel")

    assert canceled.status_code == 200, canceled.text
    assert canceled.json()["state"] == "canceled"
    assert (canceled.json()["id"], canceled.json()["ipp_job_id"]) == job
    assert api.client.job_state(job.ipp_job_id) == JobState.CANCELED
    assert api.client.spool_files() == []
    again = api.admin("POST", f"/jobs/{job.id}/cancel")
    assert again.status_code == 409 and again.json()["detail"]["code"] == "job-finished"
    listed = api.call("GET", "/jobs").json()
    assert listed[0]["state_reasons"] and listed[0]["completed_at"] is not None


def test_an_unexpected_error_answers_500_internal_without_a_traceback(make_client):
    api = start_api(make_client)
    with api.client.store.session() as session:  # a row no state keyword can describe
        session.add(
            Job(
                uuid="0" * 36,
                printer="hall",
                owner="root",
                size=1,
                sha256="",
                state=99,
                created_at=0.0,
                updated_at=0.0,
            )
        )
        session.commit()

    broken = api.call("GET", "/jobs")

    assert broken.status_code == 500
    assert broken.json() == {
        "detail": {"code": "internal", "message": "internal error; see the api log"}
    }
    log = api.client.root / "log" / "api.log"
    # The line may land just after the answer: wait for it rather than race the writer.
    wait_for(
        lambda: "request.failed method=GET path=/jobs" in log.read_text(), 30, "the failure logged"
    )
    assert api.call("GET", "/about").status_code == 200  # and the facade carries on


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a client as another user")
def test_a_user_logged_in_as_a_server_user_sees_that_users_jobs(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    held_job(api.client, "alice")
    users.set_user(api.client.store, "nobody", "carol")  # as POST /login would, for nobody
    carols = held_job(api.client, "carol")

    listed = run_as("nobody", lambda: httpx.get(api.base + "/jobs").json())

    assert [(job["id"], job["owner"]) for job in listed] == [(carols.id, "carol")]


def test_each_job_says_the_kind_of_its_port(make_client, raw_printer):
    """A held pull job is released at a printer, a held direct one by its owner: the tray
    tells them apart by ``port_kind`` (ui/notifications.py)."""
    office = direct_printer(raw_printer)
    api = start_api(make_client, "spooler", "sync", printers=[HELD, office])
    api.client.wait_printer("hall")
    api.client.wait_printer("office")
    pulled = held_job(api.client, "root", b"pulled")
    hold = Group(Tag.JOB).add("job-hold-until", Tag.KEYWORD, "indefinite")
    api.client.ipp(Operation.PRINT_JOB, user="root", job=hold, document=b"held direct")

    listed = api.call("GET", "/jobs").json()
    trace = api.call("GET", f"/jobs/{pulled.id}/trace").json()

    assert [(job["printer"], job["state"], job["port_kind"]) for job in listed] == [
        ("hall", "pending-held", "pull"),
        ("office", "pending-held", "direct"),
    ]
    assert trace["job"]["port_kind"] == "pull"
