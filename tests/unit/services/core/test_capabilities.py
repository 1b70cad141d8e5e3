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
    # A PJL printer without a duplex unit prints one side, and says so (not an empty list).
    assert capabilities.for_raw(pjl=True).supported("sides") == ["one-sided"]


def printer(**attrs: tuple[int, list[object]]) -> capabilities.Capabilities:
    """Capabilities from ``name=(tag, values)``, ``_`` for ``-``."""
    g = Group(Tag.PRINTER)
    for name, (tag, values) in attrs.items():
        g.add(name.replace("_", "-"), tag, *values)
    return capabilities.Capabilities(g.attributes)


def test_a_pull_port_offers_what_any_of_its_printers_offers() -> None:
    mono = capabilities.for_raw(pjl=True)  # copies 1-999, one-sided, A4 and Letter
    colour = printer(
        copies_supported=(Tag.RANGE, [(1, 50)]),
        color_supported=(Tag.BOOLEAN, [True]),
        sides_default=(Tag.KEYWORD, ["one-sided"]),
        sides_supported=(Tag.KEYWORD, ["one-sided", "two-sided-long-edge"]),
        media_supported=(Tag.KEYWORD, ["iso_a4_210x297mm", "iso_a5_148x210mm"]),
        marker_levels=(Tag.INTEGER, [40]),
        document_format_supported=(Tag.MIME_TYPE, ["application/pdf"]),
    )

    both = capabilities.union([mono, colour])

    assert both.supported("copies") == [(1, 999)]
    assert both.supported("sides") == ["one-sided", "two-sided-long-edge"]
    assert both.supported("media") == [capabilities.A4, capabilities.LETTER, "iso_a5_148x210mm"]
    assert both.attributes["color-supported"].values == [True]
    assert both.default("media") == capabilities.A4  # the first printer's
    assert "marker-levels" not in both.attributes  # one printer's toner is not the port's
    assert "document-format-supported" not in both.attributes  # nor the formats it renders
    assert both.pjl


def test_a_pull_port_takes_the_admins_defaults_it_can_honour() -> None:
    colour = printer(
        sides_default=(Tag.KEYWORD, ["one-sided"]),
        sides_supported=(Tag.KEYWORD, ["one-sided", "two-sided-long-edge"]),
        media_default=(Tag.KEYWORD, ["iso_a4_210x297mm"]),
        media_supported=(Tag.KEYWORD, ["iso_a4_210x297mm", "iso_a5_148x210mm"]),
        print_color_mode_default=(Tag.KEYWORD, ["monochrome"]),
        print_color_mode_supported=(Tag.KEYWORD, ["monochrome"]),
    )
    defaults = {
        "sides-default": "two-sided-long-edge",
        "media-default": "a5",
        "print-color-mode-default": "color",  # no printer of the port has colour
    }

    port = capabilities.union([colour], defaults)

    assert port.default("sides") == "two-sided-long-edge"
    assert port.default("media") == "iso_a5_148x210mm"
    assert port.default("print-color-mode") == "monochrome"
    assert capabilities.union([]) == capabilities.union([capabilities.for_raw()])


def test_a_printer_that_chooses_colour_itself_is_presented_as_colour() -> None:
    auto = printer(
        print_color_mode_default=(Tag.KEYWORD, ["auto"]),
        print_color_mode_supported=(Tag.KEYWORD, ["auto", "color", "monochrome"]),
    )
    mono_auto = printer(
        print_color_mode_default=(Tag.KEYWORD, ["auto"]),
        print_color_mode_supported=(Tag.KEYWORD, ["auto", "monochrome"]),
    )
    assert capabilities.prefer_color(auto).default("print-color-mode") == "color"
    assert capabilities.prefer_color(mono_auto) == mono_auto
