"""A job printed without an option the printer could not honour (issue 21) is announced with
what was lost, from the job's state message; a plain completion stays "was printed."."""

from __future__ import annotations

from ui.notifications import PRINTED, text_of

LOST = "printed at office without: copies 2 (not offered)"


def test_a_job_completed_with_warnings_says_what_the_printer_did_not_honour():
    job = {
        "name": "report.pdf",
        "state": "completed",
        "state_reasons": ["job-completed-with-warnings"],
        "state_message": LOST,
    }

    assert text_of(job, PRINTED, "") == f"“report.pdf” was printed, with a warning: {LOST}"


def test_a_job_completed_successfully_is_just_printed_whatever_its_message():
    job = {
        "name": "report.pdf",
        "state": "completed",
        "state_reasons": ["job-completed-successfully"],
        "state_message": "printed at office",
    }

    assert text_of(job, PRINTED, "") == "“report.pdf” was printed."
