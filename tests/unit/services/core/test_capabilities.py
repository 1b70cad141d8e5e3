"""Capabilities keep what a printer said, tags and all, through the store's JSON."""

from __future__ import annotations

from services.core import capabilities, ipp
from services.core.ipp import Group, Operation, Tag


def printer_answer() -> Group:
    """A Get-Printer-Attributes answer with a nested collection, as a real printer sends."""
    size = {"x-dimension": (Tag.INTEGER, [14800]), "y-dimension": (Tag.INTEGER, [21000])}
    media_col = {
        "media-size": (Tag.BEGIN_COLLECTION, [size]),
        "media-source": (Tag.KEYWORD, ["main"]),
    }
    g = Group(Tag.PRINTER)
    g.add("printer-name", Tag.NAME, "the printer's own name")
    g.add("copies-supported", Tag.RANGE, (1, 999))
    g.add("sides-supported", Tag.KEYWORD, "one-sided", "two-sided-long-edge")
    g.add("media-col-database", Tag.BEGIN_COLLECTION, media_col)
    g.add("printer-resolution-default", Tag.RESOLUTION, (600, 600, 3))
    g.add("printer-icons", Tag.URI, "http://printer/icon.png")
    return g


def test_a_parsed_answer_survives_the_store_unchanged() -> None:
    message = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    message.groups.append(printer_answer())
    parsed, _ = ipp.parse(ipp.encode(message))

    caps = capabilities.from_printer(parsed.groups[1])
    again = capabilities.Capabilities.from_json(caps.to_json())

    assert "printer-name" not in again.attributes  # the port's identity stays its own
    assert again.supported("copies") == [(1, 999)]
    assert again.default("printer-resolution") == (600, 600, 3)
    out = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    out.groups.append(again.group())
    expected = ipp.request(Operation.GET_PRINTER_ATTRIBUTES)
    expected.groups.append(capabilities.from_printer(printer_answer()).group())
    assert ipp.encode(out) == ipp.encode(expected)


def test_a_raw_printer_without_pjl_offers_only_what_it_does_anyway() -> None:
    plain = capabilities.for_raw(color=True, duplex=True)
    assert plain.supported("copies") == [(1, 1)]
    assert plain.supported("sides") == ["one-sided"]
    assert plain.supported("print-color-mode") == ["color"]

    pjl = capabilities.for_raw(color=True, duplex=True, pjl=True)
    assert pjl.supported("copies") == [(1, 999)]
    assert "two-sided-long-edge" in pjl.supported("sides")
    assert pjl.supported("print-color-mode") == ["color", "monochrome"]
    assert capabilities.Capabilities.from_json(pjl.to_json()) == pjl
