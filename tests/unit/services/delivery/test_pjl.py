"""The PJL around a job for a raw printer (services/delivery/pjl.py)."""

from __future__ import annotations

from services.core import capabilities
from services.core.capabilities import A4
from services.core.ipp import Attribute, Tag
from services.delivery import pjl

A5 = "iso_a5_148x210mm"
PJL = capabilities.for_raw(color=True, duplex=True, media=[A4, A5], pjl=True)


def opts(**values: tuple[int, object]) -> dict[str, Attribute]:
    return {
        n.replace("_", "-"): Attribute(n.replace("_", "-"), tag, [v])
        for n, (tag, v) in values.items()
    }


def lines(header: bytes) -> list[str]:
    return header.removeprefix(pjl.UEL).decode().split("\r\n")[:-1]


def test_a_media_col_size_becomes_its_paper_and_the_hold_is_never_told():
    col = {
        "media-size": (
            Tag.BEGIN_COLLECTION,
            [{"x-dimension": (Tag.INTEGER, [14800]), "y-dimension": (Tag.INTEGER, [21000])}],
        )
    }
    job = opts(job_hold_until=(Tag.KEYWORD, "indefinite"), orientation_requested=(Tag.ENUM, 4))
    job["media-col"] = Attribute("media-col", Tag.BEGIN_COLLECTION, [col])
    offered = capabilities.Capabilities(
        {
            **PJL.attributes,
            "media-col-supported": Attribute("media-col-supported", Tag.KEYWORD, ["media-size"]),
            "media-size-supported": Attribute(
                "media-size-supported", Tag.BEGIN_COLLECTION, [col["media-size"][1][0]]
            ),
        },
        pjl=True,
    )

    plan = pjl.plan(job, offered, "memo", "application/postscript")

    assert lines(plan.header) == [
        "@PJL",
        '@PJL JOB NAME="memo"',
        "@PJL SET ORIENTATION=LANDSCAPE",
        "@PJL SET PAPER=A5",
        "@PJL ENTER LANGUAGE=POSTSCRIPT",
    ]
    assert plan.not_honoured == []


def test_what_the_printer_does_not_offer_is_not_told_but_named():
    simplex = capabilities.for_raw(color=True, media=[A4, A5], pjl=True)
    job = opts(sides=(Tag.KEYWORD, "two-sided-long-edge"), copies=(Tag.INTEGER, 3))

    plan = pjl.plan(job, simplex, "x", "application/octet-stream")

    assert lines(plan.header) == ["@PJL", '@PJL JOB NAME="x"', "@PJL SET COPIES=3"]
    assert [a.name for a in plan.not_honoured] == ["sides"]


def test_without_pjl_nothing_goes_around_the_document():
    plain = capabilities.for_raw(color=True, duplex=True)
    job = opts(copies=(Tag.INTEGER, 2), print_color_mode=(Tag.KEYWORD, "color"))

    plan = pjl.plan(job, plain, "x", "application/pdf")

    assert (plan.header, plan.trailer) == (b"", b"")
    assert [a.name for a in plan.not_honoured] == ["copies"]
    assert pjl.plan(job, None, "x", "application/pdf").not_honoured == []  # nothing known


def test_collated_copies_are_a_quantity_of_documents():
    collating = capabilities.Capabilities(
        {
            **PJL.attributes,
            "multiple-document-handling-supported": Attribute(
                "multiple-document-handling-supported",
                Tag.KEYWORD,
                ["separate-documents-uncollated-copies", "separate-documents-collated-copies"],
            ),
        },
        pjl=True,
    )
    job = opts(
        copies=(Tag.INTEGER, 2),
        multiple_document_handling=(Tag.KEYWORD, "separate-documents-collated-copies"),
    )

    plan = pjl.plan(job, collating, "x", "application/octet-stream")

    assert lines(plan.header) == ["@PJL", '@PJL JOB NAME="x"', "@PJL SET QTY=2"]
    assert plan.not_honoured == []
