"""requested-attributes groups are exact (RFC 8011 4.2.5.1, 4.3.4.1; issue 21): a printer's
'printer-description' carries no job template attribute, its 'job-template' carries them all."""

from __future__ import annotations

import time

from protocol.states import JobState
from services.core import capabilities
from services.core.store import Job
from services.spooler import job as job_attrs
from services.spooler.groups import select_job, select_printer
from services.spooler.printer import PrinterObject

PRINTER = PrinterObject(
    "office", "direct", 8631, capabilities=capabilities.for_raw(color=True, duplex=True, pjl=True)
)


def names(requested: list[str] | None) -> set[str]:
    return set(select_printer(PRINTER.attributes(0), requested).attributes)


def test_printer_description_has_no_job_template_attribute_and_job_template_has_them():
    everything = names(["all"])
    description = names(["printer-description"])
    template = names(["job-template"])

    assert {"copies-supported", "media-ready", "sides-default", "print-color-mode-supported"} <= (
        template
    )
    assert {"printer-name", "printer-uuid", "operations-supported", "printer-state"} <= description
    assert not description & template
    assert description | template == everything == names(None)


def test_names_and_groups_combine_and_unknown_names_are_ignored():
    assert names(["printer-name", "copies-default", "no-such-attribute"]) == {
        "printer-name",
        "copies-default",
    }
    assert names(["job-template", "printer-uuid"]) == names(["job-template"]) | {"printer-uuid"}
    assert names(["printer-status"]) == {
        "printer-state",
        "printer-state-reasons",
        "printer-is-accepting-jobs",
        "queued-job-count",
        "printer-up-time",
        "printer-current-time",
        "printer-state-change-time",
        "printer-state-change-date-time",
    }
    assert names(["no-such-group"]) == set()


def test_job_groups_split_template_from_description():
    now = time.time()
    job = Job(
        id=7, uuid="00000000-0000-0000-0000-000000000007", printer="office", owner="alice",
        name="report", format="application/pdf", size=10, sha256="", state=int(JobState.PENDING),
        state_reasons="none", created_at=now, updated_at=now, attempts=0,
    )  # fmt: skip
    group = job_attrs.attributes(job, 8631)

    template = set(select_job(group, ["job-template"]).attributes)
    description = set(select_job(group, ["job-description"]).attributes)

    assert "job-hold-until" in template and "job-id" not in template
    assert {"job-id", "job-state", "job-name"} <= description and not template & description
    assert set(select_job(group, None, ("job-id", "job-uri")).attributes) == {"job-id", "job-uri"}
    assert set(select_job(group, ["all"]).attributes) == set(group.attributes)
