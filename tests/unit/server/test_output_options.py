"""What Document Output tells a raw printer of a job's options (issue 21): its record decides
what a PJL header may ask; what it cannot do, or what a printer without PJL would not do
anyway, is named for the owner and never told."""

from __future__ import annotations

import struct

from protocol.gateway import Destination
from protocol.job_options import INTEGER, KEYWORD
from server import ipp
from server.output_options import for_raw, parse

A4, A5 = "iso_a4_210x297mm", "iso_a5_148x210mm"
OPTIONS = {
    "copies": (INTEGER, [2]),
    "sides": (KEYWORD, ["two-sided-long-edge"]),
    "media": (KEYWORD, [A5]),
    "print-color-mode": (KEYWORD, ["monochrome"]),
}


def printer(**record: object) -> Destination:
    return Destination(host="10.0.0.9", port=9100, protocol="raw", **record)


def test_a_pjl_printer_is_told_only_what_its_record_says_it_can_do() -> None:
    plan = for_raw(OPTIONS, printer(pjl=True, media=[A4]), "report", "application/pdf")

    assert plan.header == (
        b'\x1b%-12345X@PJL\r\n@PJL JOB NAME="report"\r\n@PJL SET COPIES=2\r\n'
        b"@PJL SET RENDERMODE=GRAYSCALE\r\n@PJL ENTER LANGUAGE=PDF\r\n"
    )
    assert plan.not_honoured == ["sides two-sided-long-edge", f"media {A5}"]


def test_copies_beyond_what_the_record_offers_are_not_told() -> None:
    """The endpoint's spooler checks them; an endpoint that sends more is not believed."""
    for copies in (0, -1, 1000, 2**31 - 1):
        plan = for_raw({"copies": (INTEGER, [copies])}, printer(pjl=True), "r", "text/plain")
        assert b"COPIES" not in plan.header and plan.not_honoured == [f"copies {copies}"]


def test_a_printer_without_pjl_gets_nothing_and_what_it_does_anyway_is_honoured() -> None:
    plan = for_raw(OPTIONS, printer(media=[A5]), "report", "application/pdf")

    assert (plan.header, plan.trailer) == (b"", b"")
    assert plan.not_honoured == ["copies 2", "sides two-sided-long-edge"]


def test_a_job_without_options_goes_unchanged_and_a_bad_row_prints_without() -> None:
    plan = for_raw({}, printer(pjl=True), "report", "application/pdf")
    assert (plan.header, plan.trailer, plan.not_honoured) == (b"", b"", [])
    assert parse(None) == {} and parse('{"copies": "two"}') == {}


def test_what_a_printer_names_unsupported_is_read_and_a_cut_answer_is_no_crash() -> None:
    def attribute(tag: int, name: str, value: bytes) -> bytes:
        encoded = name.encode()
        return (
            struct.pack(">BH", tag, len(encoded)) + encoded + struct.pack(">H", len(value)) + value
        )

    answer = (
        b"\x02\x00\x04\x0b\x00\x00\x00\x01\x01"
        + attribute(0x47, "attributes-charset", b"utf-8")
        + b"\x05"
        + attribute(0x44, "sides", b"two-sided-long-edge")
        + attribute(0x44, "", b"two-sided-short-edge")  # a second value names nothing new
        + attribute(0x21, "copies", b"\x00\x00\x00\x63")
        + b"\x03"
    )

    assert ipp.unsupported(answer) == {"sides", "copies"}
    for cut in range(len(answer)):
        assert ipp.unsupported(answer[:cut]) <= {"sides", "copies"}
