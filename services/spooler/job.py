"""Job objects as IPP sees them: the Job Description attributes of one stored job."""

from __future__ import annotations

from protocol.states import JobState
from services.core.capabilities import decode_attributes
from services.core.ipp import Group, Tag
from services.core.store import Job
from services.spooler import groups
from services.spooler.printer import STARTED_AT, printer_uri

DEFAULT_GET_JOBS = groups.DEFAULT_GET_JOBS


def job_uri(port: int, job_id: int) -> str:
    return f"ipp://127.0.0.1:{port}/jobs/{job_id}"


def up_time(at: float | None) -> int | None:
    """Seconds since the spooler started, as ``time-at-*`` attributes count them."""
    return None if at is None else max(0, int(at - STARTED_AT))


def attributes(job: Job, port: int) -> Group:
    g = Group(Tag.JOB)
    g.add("job-id", Tag.INTEGER, job.id)
    g.add("job-uri", Tag.URI, job_uri(port, job.id))
    g.add("job-uuid", Tag.URI, f"urn:uuid:{job.uuid}")
    g.add("job-printer-uri", Tag.URI, printer_uri(port, job.printer))
    g.add("job-name", Tag.NAME, job.name)
    g.add("job-originating-user-name", Tag.NAME, job.owner)
    g.add("job-state", Tag.ENUM, job.state)
    g.add("job-state-reasons", Tag.KEYWORD, *job.state_reasons.split(","))
    if job.state_message:
        g.add("job-state-message", Tag.TEXT, job.state_message[:1023])
    g.add("document-format", Tag.MIME_TYPE, job.format)
    g.add("job-k-octets", Tag.INTEGER, (job.size + 1023) // 1024)
    if job.impressions is not None:
        g.add("job-impressions", Tag.INTEGER, job.impressions)
    g.add("number-of-documents", Tag.INTEGER, 0 if _incoming(job) else 1)
    g.add("job-printer-up-time", Tag.INTEGER, max(1, up_time(job.updated_at) or 1))
    g.add("time-at-creation", Tag.INTEGER, up_time(job.created_at) or 0)
    _time(g, "time-at-processing", job.attempts and job.updated_at)
    _time(g, "time-at-completed", job.completed_at)
    # The options it was accepted with, as they arrived (RFC 8011 5.2: a job's template
    # attributes are job attributes); job-hold-until says what the job does now.
    g.attributes.update(decode_attributes(job.options))
    hold = "indefinite" if job.state == JobState.PENDING_HELD else "no-hold"
    g.add("job-hold-until", Tag.KEYWORD, hold)
    if job.route:
        g.add("output-device-assigned", Tag.NAME, job.route)
    return g


def _time(g: Group, name: str, at: float | None) -> None:
    value = up_time(at) if at else None
    if value is None:
        g.add(name, Tag.NO_VALUE)
    else:
        g.add(name, Tag.INTEGER, value)


def _incoming(job: Job) -> bool:
    return "job-incoming" in job.state_reasons


def select(group: Group, requested: list[str] | None, default: tuple[str, ...] = ()) -> Group:
    """``requested-attributes`` for jobs (groups.py says what each group holds)."""
    return groups.select_job(group, requested, default)
