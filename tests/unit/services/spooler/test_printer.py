"""What a port's printer object says once its printer's capabilities are laid over our own
defaults: nothing they make untrue (issue 21)."""

from __future__ import annotations

from services.core.capabilities import Capabilities
from services.core.ipp import Attribute, Operation, Tag
from services.spooler.printer import ANY_FORMAT, DOCUMENT_FORMATS, PrinterObject

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


def test_a_port_takes_the_formats_its_printer_takes_and_presents_a_default_among_them():
    """A job without document-format is taken to be the port's default (RFC 8011), so the
    default must be a format the port takes: not "any format" where the printer lists only
    PDF."""
    pdf_only = PrinterObject("office", "direct", 8631, capabilities=formats("application/pdf"))
    any_too = PrinterObject(
        "office", "direct", 8631, capabilities=formats("application/pdf", ANY_FORMAT)
    )
    raw = PrinterObject("office", "direct", 8631, device_uri="socket://10.0.0.5:9100")

    assert pdf_only.document_formats == ("application/pdf",)
    assert pdf_only.takes("Application/PDF") and not pdf_only.takes("image/jpeg")
    assert not pdf_only.takes(ANY_FORMAT)
    default = pdf_only.attributes(0).attributes["document-format-default"].values
    assert default == ["application/pdf"]
    assert any_too.document_format_default == ANY_FORMAT
    assert raw.document_formats == DOCUMENT_FORMATS and raw.takes("image/jpeg")
    assert raw.document_format_default == ANY_FORMAT
    garbled = PrinterObject("office", "direct", 8631, capabilities=formats(7, "application/pdf"))
    assert garbled.document_formats == ("application/pdf",) and not garbled.takes("7")


def test_the_device_id_names_only_the_formats_the_port_takes():
    pdf_only = PrinterObject("office", "direct", 8631, capabilities=formats("application/pdf"))
    raw = PrinterObject("office", "direct", 8631, device_uri="socket://10.0.0.5:9100")

    assert pdf_only.attributes(0).get("printer-device-id") == "MFG:pullprint;MDL:spooler;CMD:PDF;"
    assert raw.attributes(0).get("printer-device-id") == (
        "MFG:pullprint;MDL:spooler;CMD:PDF,PS,PCL,PWG,URF,JPEG;"
    )


def formats(*names: object) -> Capabilities:
    return Capabilities(
        {"document-format-supported": Attribute("document-format-supported", Tag.MIME_TYPE,
                                                list(names))}
    )  # fmt: skip
