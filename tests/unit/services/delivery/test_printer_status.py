"""Reading a printer's Get-Printer-Attributes answer: what counts as stopped, what it says."""

from __future__ import annotations

from services.core import ipp
from services.core.ipp import Group, Operation, Status, Tag
from services.delivery.printer_status import PrinterState, PrinterStatus, parse


def answer(status: Status = Status.OK, **attributes: tuple[int, list[object]]) -> bytes:
    reply = ipp.response(ipp.request(Operation.GET_PRINTER_ATTRIBUTES), status)
    if attributes:
        printer = Group(Tag.PRINTER)
        for name, (tag, values) in attributes.items():
            printer.add(name.replace("_", "-"), tag, *values)
        reply.groups.append(printer)
    return ipp.encode(reply)


def test_a_jammed_printer_is_stopped_with_its_reason_and_message():
    status = parse(
        answer(
            printer_state=(Tag.ENUM, [5]),
            printer_state_reasons=(Tag.KEYWORD, ["media-jam-error", "cover-open-warning"]),
            printer_state_message=(Tag.TEXT, ["Paper jam in tray 2"]),
        )
    )
    assert status is not None and status.stopped
    assert status.describe() == (
        "stopped (media-jam-error, cover-open-warning: Paper jam in tray 2)"
    )


def test_an_idle_printer_that_refuses_jobs_counts_as_stopped():
    status = parse(
        answer(
            printer_state=(Tag.ENUM, [3]),
            printer_state_reasons=(Tag.KEYWORD, ["none"]),
            printer_is_accepting_jobs=(Tag.BOOLEAN, [False]),
        )
    )
    assert status == PrinterStatus(PrinterState.IDLE, ("none",), "", accepting=False)
    assert status.stopped
    assert status.describe() == "idle, not accepting jobs"


def test_a_busy_printer_is_not_stopped():
    status = parse(answer(printer_state=(Tag.ENUM, [4])))
    assert status is not None and not status.stopped
    assert status.describe() == "processing"


def test_a_printer_that_does_not_say_is_not_taken_for_stopped():
    assert parse(answer(Status.SERVER_ERROR_OPERATION_NOT_SUPPORTED)) is None
    assert parse(answer()) is None  # no printer group
    assert parse(answer(printer_state=(Tag.ENUM, [9]))) is None  # not an RFC 8011 state
    assert parse(b"<html>not IPP</html>") is None


def test_a_printer_that_lists_an_ipps_uri_offers_ipps():
    status = parse(
        answer(
            printer_state=(Tag.ENUM, [3]),
            printer_uri_supported=(
                Tag.URI,
                ["ipp://printer.local:631/ipp/print", "ipps://printer.local:443/ipp/print"],
            ),
        )
    )
    assert status is not None and status.ipps == ("ipps://printer.local:443/ipp/print",)
    plain = parse(
        answer(
            printer_state=(Tag.ENUM, [3]),
            printer_uri_supported=(Tag.URI, ["ipp://printer.local:631/ipp/print"]),
        )
    )
    assert plain is not None and plain.ipps == ()
