"""My jobs: the caller's own print jobs from ``GET /jobs``, kept current while the window is open,
with Cancel for the jobs that can still be canceled (``POST /jobs/{id}/cancel``), and the selected
job's trace (``GET /jobs/{id}/trace``) in the details.

The list is the facade's: this window adds no state of its own. When the facade stops answering
the rows stay for reference, greyed out and marked as not current, and no Cancel is offered.
The first listing is read before the window shows (like the other dialogs, on the GUI thread);
the refreshes after it run in the background so a hung service cannot freeze the window.
"""

from __future__ import annotations

import html

from PySide6.QtCore import QDateTime, Qt, QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QGroupBox,
    QHeaderView,
    QLabel,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from ui.background import Background
from ui.dialogs import busy, message_label, show_error, show_info
from ui.facade import Facade, Result
from ui.i18n import _
from ui.jobs import (
    Job,
    cancelable,
    reasons,
    route_name,
    size_text,
    state_name,
    time_text,
    title,
)

# Often enough that a release at the printer shows while the person looks; the facade answers
# from its own store, so this costs one small query.
REFRESH_MS = 2000

NAME, STATE, PRINTER, ROUTE, SUBMITTED, SIZE, ACTION = range(7)


class JobsDialog(QDialog):
    """The table of jobs, newest first, and the details of the selected one."""

    def __init__(self, facade: Facade, refresh_ms: int = REFRESH_MS) -> None:
        super().__init__()
        self.facade = facade
        self.jobs: list[Job] = []
        self.current = True  # False while the list shown is the last one the facade gave
        self.error = ""
        self.outcome: tuple[str, bool] | None = None  # the last cancel's message, and failed?
        self._open = True
        self._listing = False  # a refresh is on its way
        self._tracing = False  # the selected job's trace is on its way
        self.trace_job: Job | None = None  # the job (as listed) whose trace is shown or asked
        self.trace_events: list[dict] | None = None  # None: not read yet
        self.trace_error = ""
        # Not parented to the window: an answer that lands after it closed finds the pool still
        # there, and ``_loaded`` drops it.
        self.background = Background()

        self.intro = QLabel()
        self.intro.setWordWrap(True)
        self.table = QTableWidget(0, 7)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.verticalHeader().hide()
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(NAME, QHeaderView.ResizeMode.Stretch)
        self.table.currentCellChanged.connect(lambda *_args: self._show_details())
        self.message = message_label()

        # The selected job's facts, from its row, and below them its trace, read from the facade
        # in the background whenever the selection or the job's row changes.
        self.details = QGroupBox()
        self.facts = _rich_label()
        self.trace = _rich_label()
        details_layout = QVBoxLayout(self.details)
        details_layout.addWidget(self.facts)
        details_layout.addWidget(self.trace)

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.intro)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.message)
        layout.addWidget(self.details)
        layout.addWidget(self.buttons)
        self.setMinimumSize(780, 460)  # every column readable without scrolling sideways

        with busy():
            self._loaded(facade.jobs())
        self.retranslate()
        self.timer = QTimer(self)
        self.timer.setInterval(refresh_ms)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def retranslate(self) -> None:
        self.setWindowTitle(_("My jobs"))
        self.intro.setText(
            _(
                "Your print jobs on this computer, newest first. Held jobs print when you "
                "release them at a printer."
            )
        )
        self.table.setHorizontalHeaderLabels(
            [_("Document"), _("State"), _("Printer"), _("Route"), _("Submitted"), _("Size"), ""]
        )
        self.details.setTitle(_("Details"))
        self.buttons.button(QDialogButtonBox.StandardButton.Close).setText(_("Close"))
        self._fill()
        self._show_problem()

    # -- the list ------------------------------------------------------------------------------

    @property
    def loading(self) -> bool:
        """A question to the facade (the list, or a trace) has not been answered yet. Counted
        by the pool, so a call the closing window dropped before it started is not waited for."""
        return self.background.pending > 0

    def refresh(self) -> None:
        """Ask for the list again in the background, unless the last question is still open
        or nobody can see the answer."""
        if self._listing or not self._open or not self.isVisible():
            return
        self._listing = True
        self.background.run(self.facade.jobs, self._loaded)

    def _loaded(self, result: Result) -> None:
        self._listing = False
        if not self._open:
            return  # answered after the window closed
        if result.ok and isinstance(result.data, list):
            self.current, self.error = True, ""
            self.show_jobs([job for job in result.data if isinstance(job, dict)])
        else:
            self.current, self.error = False, result.message or result.code
            self._fill()  # the same rows, now without Cancel
        self._show_problem()

    def show_jobs(self, jobs: list[Job]) -> None:
        """Show this listing; nothing is redrawn when it is the one already shown, so a
        refresh does not take the selection or a hovered button away."""
        # The IPP job-id counts up: the newest has the highest (the uuid says nothing of age).
        jobs = sorted(jobs, key=lambda job: job.get("ipp_job_id") or 0, reverse=True)
        if jobs == self.jobs and self.table.isEnabled():
            return
        self.jobs = jobs
        self._fill()

    def _fill(self) -> None:
        selected = self.selected_job()
        self.table.setEnabled(self.current)
        self.table.setRowCount(len(self.jobs))
        for row, job in enumerate(self.jobs):
            self._fill_row(row, job)
        row = next(
            (i for i, job in enumerate(self.jobs) if selected and job["id"] == selected["id"]), -1
        )
        if row < 0 and self.jobs:
            row = 0
        if row >= 0:
            self.table.selectRow(row)
        self._show_details()

    def _fill_row(self, row: int, job: Job) -> None:
        state = QTableWidgetItem(state_name(job))
        # The facade's own words, for the curious and for support: keyword, reasons, message.
        state.setToolTip(_state_detail(job))
        cells = {
            NAME: QTableWidgetItem(title(job)),
            STATE: state,
            PRINTER: QTableWidgetItem(str(job.get("printer") or "")),
            ROUTE: QTableWidgetItem(route_name(job.get("route"))),
            SUBMITTED: QTableWidgetItem(time_text(job.get("created_at"))),
            SIZE: QTableWidgetItem(size_text(job.get("size"))),
        }
        cells[SIZE].setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for column, item in cells.items():
            self.table.setItem(row, column, item)
        button = self.table.cellWidget(row, ACTION)
        if not (cancelable(job) and self.current):
            self.table.removeCellWidget(row, ACTION)
            return
        # The row's button is kept while it is for the same job: a new one on every refresh
        # would flicker under the pointer.
        if not (isinstance(button, QPushButton) and button.property("job_id") == job["id"]):
            button = QPushButton()
            button.setProperty("job_id", job["id"])
            button.clicked.connect(lambda _checked=False, i=job["id"]: self.cancel(i))
            self.table.setCellWidget(row, ACTION, button)
        button.setText(_("Cancel"))
        button.setToolTip(_("Cancel this job; its document is deleted."))

    def cancel_button(self, job_id: str) -> QPushButton | None:
        """The Cancel button in this job's row, None when the row offers none."""
        for row, job in enumerate(self.jobs):
            if job["id"] == job_id:
                widget = self.table.cellWidget(row, ACTION)
                return widget if isinstance(widget, QPushButton) else None
        return None

    def selected_job(self) -> Job | None:
        row = self.table.currentRow()
        return self.jobs[row] if 0 <= row < len(self.jobs) else None

    def _show_problem(self) -> None:
        """One line under the table: the list is stale, the last cancel's outcome, or empty."""
        if not self.current:
            text = _("Not up to date: the job list could not be read ({reason}).")
            show_error(self.message, text.format(reason=self.error))
        elif self.outcome is not None:
            text, failed = self.outcome
            (show_error if failed else show_info)(self.message, text)
        elif not self.jobs:
            show_info(self.message, _("You have no print jobs."))
        else:
            self.message.hide()

    # -- details -------------------------------------------------------------------------------

    def _show_details(self) -> None:
        job = self.selected_job()
        if job is None:
            self.facts.setText("")
            self.trace_job = None
            self._show_trace()
            return
        rows = [
            (_("Document"), title(job)),
            # The number lp showed, and the id the logs and the server know the job by.
            (_("Job"), f"{job.get('ipp_job_id', '?')} ({job.get('id', '?')})"),
            (_("State"), _state_detail(job)),
            (_("Printer"), str(job.get("printer") or "")),
            (_("Route"), route_name(job.get("route"))),
            (_("Owner"), str(job.get("owner") or "")),
            (_("Submitted"), time_text(job.get("created_at"))),
            (_("Ended"), time_text(job.get("completed_at"))),
            (_("Size"), size_text(job.get("size"))),
        ]
        cells = "".join(
            f"<tr><td><b>{html.escape(label)}</b>&nbsp;&nbsp;</td>"
            f"<td>{html.escape(value)}</td></tr>"
            for label, value in rows
        )
        self.facts.setText(f"<table>{cells}</table>")
        if job != self.trace_job:  # another job, or this one changed: its trace grew
            self._load_trace(job)
        self._show_trace()

    def _load_trace(self, job: Job) -> None:
        if self.trace_job is None or job.get("id") != self.trace_job.get("id"):
            self.trace_events, self.trace_error = None, ""
        self.trace_job = job
        if self._tracing or not self._open:
            return  # the answer on its way asks again for the job selected by then
        self._tracing = True
        job_id = job.get("id")
        self.background.run(
            lambda: self.facade.job_trace(str(job_id)),
            lambda result: self._trace_loaded(job, result),
        )

    def _trace_loaded(self, job: Job, result: Result) -> None:
        self._tracing = False
        if not self._open:
            return  # answered after the window closed
        if self.trace_job is not None and self.trace_job.get("id") == job.get("id"):
            if result.ok and isinstance(result.data, dict):
                events = result.data.get("events")
                self.trace_events = [e for e in events or [] if isinstance(e, dict)]
                self.trace_error = ""
            else:
                self.trace_error = result.message or result.code
        if self.trace_job is not None and self.trace_job != job:
            self._load_trace(self.trace_job)  # the selection or the job changed meanwhile
        self._show_trace()

    def _show_trace(self) -> None:
        if self.trace_job is None:
            self.trace.setText("")
            return
        heading = "<b>" + html.escape(_("Trace")) + "</b>"
        if self.trace_error:
            text = _("The trace could not be read ({reason}).").format(reason=self.trace_error)
        elif self.trace_events is None:
            text = _("Reading the trace…")
        elif not self.trace_events:
            text = _("No trace was recorded for this job.")
        else:
            # The detail is the service's own words (printer, route, error) as it logged them.
            text = ""
        body = f"<p>{html.escape(text)}</p>" if text else ""
        if self.trace_events and not self.trace_error:
            body = "<table>" + "".join(_trace_row(e) for e in self.trace_events) + "</table>"
        self.trace.setText(heading + body)

    # -- cancel --------------------------------------------------------------------------------

    def cancel(self, job_id: str) -> None:
        """Cancel one job; the row shows the state the facade answers with, or why not."""
        job = next((j for j in self.jobs if j["id"] == job_id), {"id": job_id})
        with busy():
            result = self.facade.cancel_job(str(job_id))
        if result.ok:
            if isinstance(result.data, dict) and result.data.get("id") == job_id:
                self.jobs = [result.data if j["id"] == job_id else j for j in self.jobs]
                self._fill()
            self.outcome = (_("“{name}” is canceled.").format(name=title(job)), False)
        else:
            text = _("Could not cancel “{name}”: {reason}")
            self.outcome = (text.format(name=title(job), reason=result.message), True)
        self._show_problem()
        self.refresh()

    def done(self, result: int) -> None:
        self._open = False
        self.timer.stop()
        self.background.shutdown()
        super().done(result)


def event_name(keyword: str) -> str:
    """A trace event for display; an event this tray does not know is shown as it came."""
    names = {
        "captured": _("Captured"),
        "stored": _("Stored"),
        "held": _("Held for release"),
        "reported": _("Reported to the server"),
        "released": _("Released"),
        "queued": _("Queued"),
        "attempt": _("Attempt"),
        "route": _("Route"),
        "attempt-failed": _("Attempt failed"),
        "requeued": _("Sent again"),
        "reset": _("Printer reset"),
        "woke": _("After sleep"),
        "delivered": _("Delivered"),
        "aborted": _("Aborted"),
        "canceled": _("Canceled"),
    }
    return names.get(keyword, keyword)


def _trace_row(event: dict) -> str:
    when = html.escape(_moment(event.get("at")))
    what = html.escape(event_name(str(event.get("event") or "")))
    detail = html.escape(str(event.get("detail") or ""))
    gap = "&nbsp;&nbsp;"
    return f"<tr><td>{when}{gap}</td><td><b>{what}</b>{gap}</td><td>{detail}</td></tr>"


def _moment(seconds: object) -> str:
    """Date and time to the second, the same in every language (the locales' short formats
    drop the seconds, and a trace's steps are often seconds apart)."""
    if not isinstance(seconds, int | float) or not seconds:
        return "–"
    return QDateTime.fromMSecsSinceEpoch(int(seconds * 1000)).toString("yyyy-MM-dd HH:mm:ss")


def _rich_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
    return label


def _state_detail(job: Job) -> str:
    """ "Held (pending-held: job-hold-until-specified) – held by owner" and the like."""
    keyword = str(job.get("state") or "?")
    why = reasons(job)
    detail = f"{keyword}: {', '.join(why)}" if why else keyword
    text = f"{state_name(job)} ({detail})"
    message = str(job.get("state_message") or "").strip()
    return f"{text} – {message}" if message else text
