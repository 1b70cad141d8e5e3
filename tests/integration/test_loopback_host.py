"""DNS rebinding (issue 19): a web page whose name now points at 127.0.0.1 reaches our loopback
ports with its own name as Host. The facade and the spooler refuse it before any route runs;
the tray, the CLI, CUPS and ipptool name 127.0.0.1 or localhost and keep working."""

from __future__ import annotations

import httpx

from cli import ipp_client
from services.core import ipp
from services.core.ipp import Operation, Status
from tests.integration.test_api import HELD, held_job, start_api


def test_facade_refuses_a_foreign_host_and_changes_nothing(make_client):
    api = start_api(make_client, "spooler", "sync", printers=[HELD])
    api.client.wait_printer("hall")
    held_job(api.client, "alice")
    config_before = api.client.config.read_text()
    foreign = {"Host": "evil.example"}

    answers = [
        api.call("GET", "/jobs", headers=foreign),
        api.call("GET", "/config", headers=foreign),
        api.admin("PUT", "/config", json={"sync_interval": 120}, headers=foreign),
        api.admin("POST", "/jobs/1/cancel", headers=foreign),
        api.call("GET", "/openapi.json", headers={"Host": "evil.example:80"}),
    ]

    for answer in answers:
        assert answer.status_code == 403, answer.text
        assert answer.json()["detail"]["code"] == "bad-host"
    assert api.client.config.read_text() == config_before
    [job] = api.admin("GET", "/jobs").json()
    assert job["state"] == "pending-held"


def test_facade_answers_loopback_hosts(make_client):
    api = start_api(make_client, "sync")
    port = api.client.api_port

    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"LOCALHOST:{port}", "[::1]"):
        answer = api.call("GET", "/config", headers={"Host": host})
        assert answer.status_code == 200, (host, answer.text)
    changed = api.admin("PUT", "/config", json={"sync_interval": 120},
                        headers={"Host": f"localhost:{port}"})  # fmt: skip
    assert changed.status_code == 200, changed.text


def test_a_forged_x_forwarded_for_does_not_change_the_caller(make_client):
    api = start_api(make_client, "sync")

    plain = api.call("GET", "/session")
    forged = api.call("GET", "/session", headers={"X-Forwarded-For": "10.9.8.7"})

    # Believed, the header would make the client 10.9.8.7: no socket the kernel can name.
    assert plain.status_code == forged.status_code == 200, forged.text
    assert forged.json()["user"] == plain.json()["user"]
    assert forged.json()["uid"] == plain.json()["uid"]


def _get_jobs(port: int, host: str) -> httpx.Response:
    uri = f"ipp://127.0.0.1:{port}/printers/hall"
    request = ipp.request(Operation.GET_JOBS)
    request.operation.add("printer-uri", ipp.Tag.URI, uri)
    request.operation.add("requesting-user-name", ipp.Tag.NAME, "alice")
    request.operation.add("which-jobs", ipp.Tag.KEYWORD, "all")
    return httpx.post(
        ipp_client.http_url(uri),
        content=ipp.encode(request),
        headers={"Content-Type": "application/ipp", "Host": host},
        timeout=30,
    )


def test_spooler_refuses_ipp_with_a_foreign_host_and_answers_loopback(make_client):
    client = make_client([HELD])
    client.start("sync", "spooler")
    client.wait_printer("hall")
    held_job(client, "alice")
    port = client.spooler_port

    refused = _get_jobs(port, "evil.example")
    describe = httpx.get(f"http://127.0.0.1:{port}/printers/hall", headers={"Host": "evil.example"})

    # Plain HTTP 403: the request never reached IPP, so there is no IPP status to answer.
    assert refused.status_code == describe.status_code == 403
    assert refused.headers["content-type"].startswith("text/plain")
    assert b"alice" not in refused.content
    for host in (f"127.0.0.1:{port}", f"localhost:{port}"):
        answer = _get_jobs(port, host)
        assert answer.status_code == 200, host
        reply = ipp.parse(answer.content)[0]
        jobs = [group for group in reply.groups if group.tag == ipp.Tag.JOB]
        assert reply.code == Status.OK and len(jobs) == 1
