"""The server's log lines: one event per line whatever a client names its job (issue 19,
finding 11: a newline in a job name forged a line)."""

from __future__ import annotations

import logging

import pytest

from server import logs


def test_a_job_name_cannot_forge_a_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="pullprint.server"):
        logs.event("job.stored", job="j1", title="a\nfake.event user=root", owner="\x1b[31meve")
    [record] = caplog.records
    message = record.getMessage()
    assert message.isprintable()
    assert message == 'job.stored job=j1 title="a\\nfake.event user=root" owner="\\x1b[31meve"'
