"""schemathesis against the facade's own /openapi.json: generated requests (valid and not) to
every operation, with the admin token, must never meet a 5xx, and every answer must match the
published schema (status codes, content types, bodies, Allow headers, auth not ignored)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from services.core.ipp import Operation
from support import ROOT
from support.waiting import wait_for

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
# Per operation; with ~16 operations and the coverage phase this is a few hundred requests:
# enough to walk every parameter's edges, bounded so the suite stays quick.
MAX_EXAMPLES = 20


@pytest.mark.skipif(not SCHEMATHESIS.exists(), reason="schemathesis not installed (dev extra)")
def test_generated_requests_find_no_server_error_and_no_schema_violation(make_client):
    client = make_client([{"name": "hall", "kind": "pull"}])
    client.start("api", "spooler", "sync")
    client.wait_listening(client.api_port)
    token_file = client.root / "state" / "api.token"
    token = wait_for(lambda: token_file.exists() and token_file.read_text().strip())
    client.wait_printer("hall")
    # a held job, so GET /jobs answers a non-empty list and cancel can meet a real id
    client.ipp(Operation.PRINT_JOB, user="root", printer="hall", document=b"x")

    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            f"http://127.0.0.1:{client.api_port}/openapi.json",
            "--checks=all",
            f"--max-examples={MAX_EXAMPLES}",
            "--phases=examples,coverage,fuzzing",
            "--seed=20261125",  # reproducible: a failure here fails again on rerun
            "--generation-database=none",
            "--workers=1",
            "--header",
            f"Authorization: Bearer {token}",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )

    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
    assert token not in run.stdout  # schemathesis filters it; our answers never echo it
