"""The caller's print jobs as ``GET /jobs`` gives them, in words a person reads.

States are the facade's RFC 8011 keywords, only translated for display: a keyword we do not
know is shown as it came, never mapped to a neighbour, so a held job can never look done.
Whether a job can still be canceled comes from the same table the service checks
(``protocol/states.py``, stdlib only so that the tray can import it); the facade has the
last word and answers 409 when a job finished meanwhile.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QDateTime, QLocale

from protocol.states import TRANSITIONS, JobState
from ui import i18n
from ui.i18n import _

# One JobInfo of the facade's OpenAPI schema. Its "id" (the uuid) is what the tray asks the
# facade about; "ipp_job_id" is the number lp showed, the one people are shown.
Job = dict[str, Any]

# The reason the spooler gives a Create-Job job until its document has arrived: not yet a job
# anyone should be told about (services/core/jobs.py INCOMING).
INCOMING = "job-incoming"


def state_of(job: Job) -> JobState | None:
    """The job's state, or None for a keyword this tray does not know."""
    keyword = job.get("state")
    for state in JobState:
        if state.keyword == keyword:
            return state
    return None


def state_name(job: Job) -> str:
    """The state in the current language (the facade's keyword itself when it is unknown)."""
    names = {
        JobState.PENDING: _("Pending"),
        JobState.PENDING_HELD: _("Held"),
        JobState.PROCESSING: _("Processing"),
        JobState.PROCESSING_STOPPED: _("Stopped"),
        JobState.CANCELED: _("Canceled"),
        JobState.ABORTED: _("Aborted"),
        JobState.COMPLETED: _("Completed"),
    }
    state = state_of(job)
    return names[state] if state is not None else str(job.get("state") or "?")


def cancelable(job: Job) -> bool:
    state = state_of(job)
    return state is not None and JobState.CANCELED in TRANSITIONS[state]


def reasons(job: Job) -> list[str]:
    return [r for r in job.get("state_reasons") or [] if r and r != "none"]


def title(job: Job) -> str:
    """The job's name, or its number (the IPP job-id lp showed) when the application sent none."""
    name = str(job.get("name") or "").strip()
    return name or _("Job {id}").format(id=job.get("ipp_job_id", "?"))


def route_name(route: str | None) -> str:
    """Delivery's route keyword (services/delivery/router.py) in words; unknown ones as they are."""
    if not route:
        return "–"  # not yet delivered: no route chosen
    names = {
        "direct": _("direct to the printer"),
        "via-server": _("through the server"),
        "gateway": _("via the gateway"),
        "wait": _("waiting for a route"),
    }
    return names.get(route, route)


def locale() -> QLocale:
    """Dates and sizes formatted for the tray's language, not the process's."""
    return QLocale(i18n.current_language())


def time_text(seconds: float | None) -> str:
    if not seconds:
        return "–"
    moment = QDateTime.fromMSecsSinceEpoch(int(seconds * 1000))
    return locale().toString(moment, QLocale.FormatType.ShortFormat)


def size_text(size: int | None) -> str:
    if size is None:
        return "–"
    return locale().formattedDataSize(int(size), 1, QLocale.DataSizeFormat.DataSizeSIFormat)
