"""My jobs: the caller's own print jobs from ``GET /jobs``, kept current while the window is open,
with Cancel for the jobs that can still be canceled (``POST /jobs/{id}/cancel``).

The list is the facade's: this window adds no state of its own. When the facade stops answering
the rows stay for reference, greyed out and marked as not current, and no Cancel is offered.
The first listing is read before the window shows (like the other dialogs, on the GUI thread);
the refreshes after it run in the background so a hung service cannot freeze the window.
"""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer
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
        self.loading = False  # a refresh is on its way
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

        # The selected job's facts, from its row. Another engineer adds GET /jobs/{id}/trace to
        # the facade; the trace of the selected job belongs in this box, below the facts. Until
        # the facade has it, the box shows only what GET /jobs says.
        self.details = QGroupBox()
        self.facts = QLabel()
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.facts.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        details_layout = QVBoxLayout(self.details)
        details_layout.addWidget(self.facts)

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

    def refresh(self) -> None:
        """Ask for the list again in the background, unless the last question is still open
        or nobody can see the answer."""
        if self.loading or not self._open or not self.isVisible():
            return
        self.loading = True
        self.background.run(self.facade.jobs, self._loaded)

    def _loaded(self, result: Result) -> None:
        self.loading = False
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
        jobs = sorted(jobs, key=lambda job: job.get("id", 0), reverse=True)
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

    def cancel_button(self, job_id: int) -> QPushButton | None:
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
            return
        rows = [
            (_("Document"), title(job)),
            (_("Job"), str(job.get("id", "?"))),
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

    # -- cancel --------------------------------------------------------------------------------

    def cancel(self, job_id: int) -> None:
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


def _state_detail(job: Job) -> str:
    """ "Held (pending-held: job-hold-until-specified) – held by owner" and the like."""
    keyword = str(job.get("state") or "?")
    why = reasons(job)
    detail = f"{keyword}: {', '.join(why)}" if why else keyword
    text = f"{state_name(job)} ({detail})"
    message = str(job.get("state_message") or "").strip()
    return f"{text} – {message}" if message else text
