"""`pullprint jobs` shows what users named their jobs without letting a name drive the terminal
or fake a row (issue 19, finding 11): characters that are not printable are shown escaped."""

from __future__ import annotations

from services.core.ipp import Operation, Status, Tag
from support.printers import direct_printer


def test_a_job_name_with_control_characters_is_listed_escaped(make_client, raw_printer):
    client = make_client([direct_printer(raw_printer)])
    client.start("sync", "spooler")
    client.wait_printer()
    name = "report\n    9  fake-row\x1b[2J"
    reply = client.ipp(Operation.PRINT_JOB, user="alice", document=b"x", job_name=(Tag.NAME, name))
    assert reply.code == Status.OK

    listed = client.run_cli("jobs", "--all")

    assert listed.returncode == 0, listed.stderr
    rows = listed.stdout.splitlines()
    assert len(rows) == 2  # the header and one job: the name's newline made no row
    assert rows[1].isprintable()
    assert rows[1].endswith("report\\n    9  fake-row\\x1b[2J")
