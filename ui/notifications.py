"""Which changes of the user's own jobs the tray announces, and in what words.

Owner-only by construction: the tray runs as the logged-in user and ``GET /jobs`` answers only
that user's jobs (the facade takes the caller from the kernel, services/api/jobs.py), so another
user's job never reaches this module.

A job is announced at most once per kind: held (waiting for release), waiting (stopped, or held
while the server that would release it is unreachable, with the reason), printed, failed,
canceled. A job that moves back and forth (delivery retrying: processing, stopped, processing,
...) is therefore announced once, not on every retry. What the tray finds at start-up (at
login) is history, not news: a job is announced only for a state it reached after the tray
started, so logging in does not replay yesterday's printed jobs; their later changes are news.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from protocol.states import TERMINAL, JobState
from ui.i18n import _
from ui.jobs import INCOMING, Job, reasons, state_of, title

HELD = "held"
WAITING = "waiting"
PRINTED = "printed"
FAILED = "failed"
CANCELED = "canceled"


@dataclass(frozen=True)
class Notice:
    job_id: str  # the facade's id for the job (its uuid)
    kind: str
    text: str
    error: bool = False


def kind_of(job: Job, server_problem: str) -> str | None:
    """What there is to say about the job now; None for states that need no word (pending,
    processing: the user waits for the next step anyway)."""
    state = state_of(job)
    why = reasons(job)
    if state is JobState.PENDING_HELD:
        if INCOMING in why:
            return None  # Create-Job still receiving its document
        # Held jobs are released through the server: while it is away they cannot be.
        return WAITING if server_problem else HELD
    if state is JobState.PROCESSING_STOPPED:
        return WAITING
    if state is JobState.COMPLETED:
        return PRINTED
    if state is JobState.ABORTED:
        return FAILED
    if state is JobState.CANCELED:
        # The owner canceled it (here, with lprm or the CLI): they know already.
        return None if "job-canceled-by-user" in why else CANCELED
    return None


def server_problem(status: dict[str, Any] | None) -> str:
    """Why the server cannot be reached now, from ``GET /status``'s channel; "" when it can (or
    when there is no server, where held jobs are released on this machine)."""
    channel = (status or {}).get("channel") or {}
    state, server, reason = channel.get("state"), channel.get("server") or "", channel.get("reason")
    if state == "offline":
        text = (
            _("the server {server} is not reachable").format(server=server)
            if server
            else _("the server is not reachable")
        )
        return f"{text} ({reason})" if reason else text
    if state == "waiting-authorization":
        return _("this computer is waiting for an administrator's authorization")
    return ""


def text_of(job: Job, kind: str, problem: str) -> str:
    name, message = title(job), str(job.get("state_message") or "").strip()
    if kind == HELD:
        return _("“{name}” is held. Release it at a printer.").format(name=name)
    if kind == WAITING:
        if state_of(job) is JobState.PENDING_HELD:
            text = _("“{name}” is held, but cannot be released now: {reason}.")
            return text.format(name=name, reason=problem)
        if "service-off-line" in reasons(job):
            text = _("“{name}” is waiting: the server is not reachable ({reason}).")
        elif "printer-stopped" in reasons(job):
            text = _("“{name}” is waiting: the printer does not answer ({reason}).")
        else:
            text = _("“{name}” is waiting ({reason}).")
        return text.format(name=name, reason=message or ", ".join(reasons(job)) or "?")
    if kind == PRINTED:
        if message and "job-completed-with-warnings" in reasons(job):
            # An option the printer could not honour (RFC 8011 job-completed-with-warnings).
            text = _("“{name}” was printed, with a warning: {reason}")
            return text.format(name=name, reason=message)
        return _("“{name}” was printed.").format(name=name)
    if kind == FAILED:
        text = _("“{name}” could not be printed: {reason}")
        return text.format(name=name, reason=message or ", ".join(reasons(job)) or "?")
    text = _("“{name}” was canceled: {reason}")
    return text.format(name=name, reason=message or ", ".join(reasons(job)) or "?")


class JobNotices:
    """Remembers what was announced, across polls, and says what is new in each listing."""

    def __init__(self, started_at: float | None = None) -> None:
        # The facade stamps jobs with this machine's clock, so the two compare.
        self.started_at = time.time() if started_at is None else started_at
        self._announced: dict[str, set[str]] = {}

    def update(self, jobs: list[Job], status: dict[str, Any] | None) -> list[Notice]:
        """The notices due for this listing, each remembered so it is never due again."""
        problem = server_problem(status)
        due = []
        for job in jobs:
            job_id = job.get("id")
            if not isinstance(job_id, str) or not job_id:
                continue
            kind = kind_of(job, problem)
            first_sight = job_id not in self._announced
            announced = self._announced.setdefault(job_id, set())
            if kind is None or kind in announced:
                continue
            announced.add(kind)
            if first_sight and self._reached_before_start(job):
                continue
            error = kind in (WAITING, FAILED)
            due.append(Notice(job_id, kind, text_of(job, kind, problem), error))
        return due

    def _reached_before_start(self, job: Job) -> bool:
        """Whether the job was already in its present state when the tray started: ended jobs
        by when they ended, others by when they were submitted (the facade gives no time of
        the last change; a job older than the tray but stopped since is the one case this
        keeps quiet about, and My jobs shows it)."""
        state = state_of(job)
        when = job.get("completed_at") if state in TERMINAL else job.get("created_at")
        return isinstance(when, int | float) and when < self.started_at


def message_for(notices: list[Notice]) -> tuple[str, bool]:
    """One tray message for a poll's notices: desktops show one at a time, and a burst of
    balloons would hide all but the last."""
    text = "\n".join(n.text for n in notices)
    return text, any(n.error for n in notices)
