"""What a port's printer object says it takes in a job (services/spooler/printer.py): the
job-creation-attributes-supported list (PWG 5100.11) names every job-template attribute the
spooler checks and keeps (services/spooler/template.py) where the port presents what values
it accepts, and nothing else, whatever the printer behind it lists of its own."""

from __future__ import annotations

from services.core import capabilities, options
from services.core.capabilities import A4, Capabilities
from services.core.ipp import Attribute, Tag
from services.spooler.printer import PrinterObject

A5 = "iso_a5_148x210mm"


def creation_attributes(port: PrinterObject) -> list[str]:
    return port.attributes(0).attributes["job-creation-attributes-supported"].values


def test_a_raw_port_lists_each_option_the_spooler_takes():
    port = PrinterObject("office", "direct", 8631)

    listed = creation_attributes(port)

    taken = {n for n in options.SYNTAX if n != "media-col"}  # no sizes offered: not taken
    assert set(listed) == taken | {"ipp-attribute-fidelity", "job-name"}
    for name in ("print-color-mode", "print-quality", "page-ranges", "finishings"):
        assert name in listed
    for name in ("printer-resolution", "orientation-requested", "output-bin"):
        assert name in listed


def test_an_ipp_printers_own_list_is_not_presented_as_ours():
    theirs = Attribute(
        "job-creation-attributes-supported", Tag.KEYWORD, ["copies", "job-account-id", "media-col"]
    )
    col = Attribute("media-col-supported", Tag.KEYWORD, ["media-size"])
    raw = capabilities.for_raw(media=[A4, A5], pjl=True).attributes
    caps = Capabilities({**raw, theirs.name: theirs, col.name: col})
    port = PrinterObject("desk", "direct", 8631, capabilities=caps)

    listed = creation_attributes(port)

    assert "job-account-id" not in listed  # the spooler would drop it
    assert {"media-col", "print-color-mode", "sides", "job-hold-until"} <= set(listed)
