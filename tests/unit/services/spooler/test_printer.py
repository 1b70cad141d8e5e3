"""What a port's printer object says once its printer's capabilities are laid over our own
defaults: nothing they make untrue (issue 21)."""

from __future__ import annotations

from services.core.capabilities import Capabilities
from services.core.ipp import Attribute, Operation, Tag
from services.spooler.printer import PrinterObject

RASTER = {
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-type-supported",
    "urf-supported",
}


def test_raster_attributes_are_said_only_while_the_port_takes_raster():
    """CUPS renders PWG raster or URF to a printer that lists their resolutions; a port whose
    printer takes PDF only must not invite documents it would refuse."""
    pdf_only = Capabilities(
        {"document-format-supported": Attribute("document-format-supported", Tag.MIME_TYPE,
                                                ["application/pdf"])}
    )  # fmt: skip
    ours = PrinterObject("office", "direct", 8631).attributes(0).attributes
    printers = PrinterObject("office", "direct", 8631, capabilities=pdf_only).attributes(0)

    assert set(ours) >= RASTER
    assert not RASTER & set(printers.attributes)
    assert printers.attributes["document-format-supported"].values == ["application/pdf"]


def test_only_a_port_with_an_ipp_printer_offers_identify_printer():
    ipp = PrinterObject("office", "direct", 8631, device_uri="ipp://10.0.0.5:631/ipp/print")
    raw = PrinterObject("office", "direct", 8631, device_uri="socket://10.0.0.5:9100")
    pull = PrinterObject("hall", "pull", 8631)

    assert Operation.IDENTIFY_PRINTER in ipp.operations
    for port in (raw, pull):
        assert Operation.IDENTIFY_PRINTER not in port.operations
        ops = port.attributes(0).attributes["operations-supported"].values
        assert Operation.CANCEL_MY_JOBS in ops and Operation.IDENTIFY_PRINTER not in ops
