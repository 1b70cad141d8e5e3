"""Printer objects: one per input port, named as in the store, with the attributes IPP clients
ask for in Get-Printer-Attributes.

Attributes are truthful: we pass documents through unchanged, so a direct port to an IPP
printer lists the formats that printer takes (any other would be refused at delivery), and
other ports the formats we accept, rather than what some printer behind us may render.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field

from services.core import capabilities, ipp, options
from services.core.capabilities import Capabilities
from services.core.ipp import Group, Operation, Tag
from services.spooler import compression

ANY_FORMAT = "application/octet-stream"  # the sender does not say; the printer tells
DOCUMENT_FORMATS = (
    ANY_FORMAT,
    "application/pdf",
    "application/postscript",
    "application/vnd.hp-PCL",
    "image/pwg-raster",
    "image/urf",
    "image/jpeg",
)
OPERATIONS = tuple(Operation)
# The schemes of printers we can pass Identify-Printer on to (PWG 5100.13); a raw port cannot
# be asked to identify itself, and a pull port has no one printer.
IDENTIFIABLE = ("ipp://", "ipps://")
IDENTIFY_ATTRIBUTES = ("identify-actions-default", "identify-actions-supported")
# What describes a raster format, said only while the port takes that format.
RASTER_ATTRIBUTES = {
    "image/pwg-raster": (
        "pwg-raster-document-resolution-supported",
        "pwg-raster-document-sheet-back",
        "pwg-raster-document-type-supported",
    ),
    "image/urf": ("urf-supported",),
}
STARTED_AT = time.time()
# How long a Create-Job waits for its Send-Document before the job is aborted.
MULTIPLE_OPERATION_TIMEOUT = 120
MEDIA = ("iso_a4_210x297mm", "na_letter_8.5x11in", "iso_a3_297x420mm", "na_legal_8.5x14in")


def printer_uri(port: int, name: str) -> str:
    return f"ipp://127.0.0.1:{port}/printers/{name}"


@dataclass(frozen=True)
class PrinterObject:
    name: str
    kind: str  # direct | pull
    port: int  # the spooler's TCP port, for printer-uri-supported
    mode: str = "local"  # local | gateway | hybrid
    switch: str = "local"  # the tray's route switch (local mode): local | gateway
    # What the printer behind the port can do (sync reads it; core/capabilities.py); until
    # sync has, what any raw printer does.
    capabilities: Capabilities = field(default_factory=capabilities.for_raw)
    # The printer a direct port delivers to (ipp://host:port/path or socket://host:port).
    device_uri: str = ""

    @property
    def identifiable(self) -> bool:
        """An IPP printer is behind this port: Identify-Printer can be passed on to it."""
        return self.kind == "direct" and self.device_uri.startswith(IDENTIFIABLE)

    @property
    def operations(self) -> tuple[Operation, ...]:
        """The operations this port answers, as operations-supported lists them."""
        if self.identifiable:
            return OPERATIONS
        return tuple(op for op in OPERATIONS if op != Operation.IDENTIFY_PRINTER)

    @property
    def uri(self) -> str:
        return printer_uri(self.port, self.name)

    @property
    def document_formats(self) -> tuple[str, ...]:
        """The formats this port takes, as document-format-supported says: its IPP printer's
        where sync has read them (a printer that takes only PDF is sent no JPEG to refuse at
        delivery), else every format we pass through (a raw printer, a pull port). A value
        that is not text (a printer's encoding error) names no format."""
        printers = self.capabilities.supported("document-format")
        return tuple(f for f in printers if isinstance(f, str)) or DOCUMENT_FORMATS

    @property
    def document_format_default(self) -> str:
        """What a job without document-format is taken to be (RFC 8011 5.4.21): "any
        format" where the port takes it, else the first format it does take."""
        formats = self.document_formats
        return ANY_FORMAT if ANY_FORMAT in formats else formats[0]

    def takes(self, document_format: str) -> bool:
        """A document of this format may be printed here (MIME types ignore case)."""
        return document_format.lower() in (f.lower() for f in self.document_formats)

    @property
    def uuid(self) -> str:
        # Stable across restarts: derived from the name, never stored.
        return "urn:uuid:" + str(uuid.uuid5(uuid.NAMESPACE_URL, self.uri))

    def attributes(self, queued_jobs: int) -> Group:
        g = Group(Tag.PRINTER)
        g.add("printer-uri-supported", Tag.URI, self.uri)
        g.add("uri-security-supported", Tag.KEYWORD, "none")
        g.add("uri-authentication-supported", Tag.KEYWORD, "requesting-user-name")
        g.add("printer-name", Tag.NAME, self.name)
        g.add("printer-info", Tag.TEXT, f"pullprint {self.kind} port {self.name}")
        g.add("printer-make-and-model", Tag.TEXT, "pullprint spooler")
        g.add("printer-uuid", Tag.URI, self.uuid)
        g.add("printer-state", Tag.ENUM, 3)  # idle: we always accept, delivery is separate
        g.add("printer-state-reasons", Tag.KEYWORD, "none")
        g.add("printer-is-accepting-jobs", Tag.BOOLEAN, True)
        g.add("queued-job-count", Tag.INTEGER, queued_jobs)
        g.add("printer-up-time", Tag.INTEGER, max(1, int(time.time() - STARTED_AT)))
        g.add("ipp-versions-supported", Tag.KEYWORD, "1.1", "2.0")
        g.add("operations-supported", Tag.ENUM, *[int(op) for op in self.operations])
        g.add("charset-configured", Tag.CHARSET, "utf-8")
        g.add("charset-supported", Tag.CHARSET, "utf-8")
        g.add("natural-language-configured", Tag.LANGUAGE, "en")
        g.add("generated-natural-language-supported", Tag.LANGUAGE, "en")
        g.add("document-format-default", Tag.MIME_TYPE, self.document_format_default)
        g.add("document-format-supported", Tag.MIME_TYPE, *self.document_formats)
        g.add("pdl-override-supported", Tag.KEYWORD, "not-attempted")
        g.add("compression-supported", Tag.KEYWORD, *compression.SUPPORTED)
        g.add("job-hold-until-default", Tag.KEYWORD, "indefinite" if self.held else "no-hold")
        g.add("job-hold-until-supported", Tag.KEYWORD, "no-hold", "indefinite")
        g.add("printer-location", Tag.TEXT, "")
        g.add("printer-more-info", Tag.URI, "http" + self.uri[3:])
        g.add("multiple-document-jobs-supported", Tag.BOOLEAN, False)
        g.add("multiple-operation-time-out", Tag.INTEGER, MULTIPLE_OPERATION_TIMEOUT)
        g.add("which-jobs-supported", Tag.KEYWORD, "completed", "not-completed", "all")
        g.add("job-ids-supported", Tag.BOOLEAN, True)  # Get-Jobs, Cancel-My-Jobs
        _add_description(g, self.document_formats)
        _add_job_template_defaults(g)
        g.attributes.update(self.capabilities.attributes)
        # Ours, not the printer's: the spooler drops what it does not check (template.py).
        g.add("job-creation-attributes-supported", Tag.KEYWORD, *creation_attributes(g))
        _drop_untrue(g, self.identifiable)
        return g

    @property
    def held(self) -> bool:
        """In local storage mode pull ports keep every job here until the user releases it at
        a printer; in gateway and hybrid modes, and in local mode switched to the gateway, the
        server holds them, so they go out at once (DESIGN.md 7)."""
        return self.kind == "pull" and self.mode == "local" and self.switch == "local"


def _drop_untrue(g: Group, identifiable: bool) -> None:
    """What the printer's capabilities, laid over our defaults, make untrue."""
    if not g.get("color-supported"):
        g.attributes.pop("pages-per-minute-color", None)  # PWG 5100.12: colour only
    if not identifiable:
        for name in IDENTIFY_ATTRIBUTES:  # nothing here can flash or beep on request
            g.attributes.pop(name, None)
    formats = set(g.attributes["document-format-supported"].values)
    for raster, names in RASTER_ATTRIBUTES.items():
        if raster not in formats:  # clients would render to a format the port does not take
            for name in names:
                g.attributes.pop(name, None)


# IEEE 1284 device ID command set names (what CUPS and desktops read) of the formats we take.
COMMAND_SET = {
    "application/pdf": "PDF",
    "application/postscript": "PS",
    "application/vnd.hp-pcl": "PCL",
    "image/pwg-raster": "PWG",
    "image/urf": "URF",
    "image/jpeg": "JPEG",
}


def device_id(formats: tuple[str, ...]) -> str:
    """printer-device-id: its CMD names only the formats the port takes (a port whose printer
    takes PDF only must not tell a desktop it speaks PCL)."""
    names = [COMMAND_SET[f.lower()] for f in formats if f.lower() in COMMAND_SET]
    return f"MFG:pullprint;MDL:spooler;CMD:{','.join(dict.fromkeys(names))};"


def _add_description(g: Group, formats: tuple[str, ...]) -> None:
    """Printer description attributes PWG 5100.14 (IPP Everywhere) requires that a spooler can
    say truthfully; what only the printer behind us knows (supplies, icons, media-col-*,
    margins) comes with its capabilities."""
    started = ipp.date_time(STARTED_AT)
    # The port's configuration and state are as they were when the spooler started: it is
    # always idle and accepting (delivery is separate), and up-time counts from 1.
    g.add("printer-config-change-date-time", Tag.DATETIME, started)
    g.add("printer-config-change-time", Tag.INTEGER, 1)
    g.add("printer-state-change-date-time", Tag.DATETIME, started)
    g.add("printer-state-change-time", Tag.INTEGER, 1)
    g.add("printer-current-time", Tag.DATETIME, ipp.date_time(time.time()))
    g.add("printer-device-id", Tag.TEXT, device_id(formats))
    g.add("printer-geo-location", Tag.UNKNOWN)
    g.add("printer-organization", Tag.TEXT, "")
    g.add("printer-organizational-unit", Tag.TEXT, "")
    g.add("printer-message-from-operator", Tag.TEXT, "")  # a port has no operator
    # document-format is accepted and changes nothing: every format gets the same answer.
    g.add("printer-get-attributes-supported", Tag.KEYWORD, "document-format")
    g.add("multiple-operation-time-out-action", Tag.KEYWORD, "abort-job")  # abort_abandoned
    g.add("preferred-attributes-supported", Tag.BOOLEAN, False)


def _add_job_template_defaults(g: Group) -> None:
    """Job template attributes IPP/2.0 requires. We pass documents through unchanged, so
    these describe the one way we handle every job: the printer behind us does the rest."""
    g.add("copies-default", Tag.INTEGER, 1)
    g.add("copies-supported", Tag.RANGE, (1, 1))
    g.add("finishings-default", Tag.ENUM, 3)  # none
    g.add("finishings-supported", Tag.ENUM, 3)
    g.add("media-default", Tag.KEYWORD, MEDIA[0])
    g.add("media-supported", Tag.KEYWORD, *MEDIA)
    g.add("media-ready", Tag.KEYWORD, MEDIA[0])
    g.add("orientation-requested-default", Tag.ENUM, 3)  # portrait
    g.add("orientation-requested-supported", Tag.ENUM, 3, 4, 5, 6)
    g.add("output-bin-default", Tag.KEYWORD, "auto")
    g.add("output-bin-supported", Tag.KEYWORD, "auto")
    g.add("print-quality-default", Tag.ENUM, 4)  # normal
    g.add("print-quality-supported", Tag.ENUM, 4)
    g.add("printer-resolution-default", Tag.RESOLUTION, (600, 600, 3))
    g.add("printer-resolution-supported", Tag.RESOLUTION, (600, 600, 3))
    # CUPS' "-m everywhere" builds its PPD from these when we list the raster formats.
    g.add("pwg-raster-document-resolution-supported", Tag.RESOLUTION, (600, 600, 3))
    g.add("pwg-raster-document-type-supported", Tag.KEYWORD, "sgray_8", "srgb_8")
    g.add("urf-supported", Tag.KEYWORD, "V1.4", "CP1", "W8", "SRGB24", "RS600", "DM1")
    g.add("sides-default", Tag.KEYWORD, "one-sided")
    g.add(
        "sides-supported", Tag.KEYWORD, "one-sided", "two-sided-long-edge", "two-sided-short-edge"
    )
    g.add("color-supported", Tag.BOOLEAN, True)
    # A spooler has no engine speed; 1 is the smallest value the attribute allows.
    g.add("pages-per-minute", Tag.INTEGER, 1)
    g.add("pages-per-minute-color", Tag.INTEGER, 1)
    g.add("job-priority-default", Tag.INTEGER, 50)
    g.add("job-priority-supported", Tag.INTEGER, 1)
    g.add("job-sheets-default", Tag.KEYWORD, "none")
    g.add("job-sheets-supported", Tag.KEYWORD, "none")
    g.add("multiple-document-handling-default", Tag.KEYWORD, "separate-documents-uncollated-copies")
    g.add(
        "multiple-document-handling-supported", Tag.KEYWORD, "separate-documents-uncollated-copies"
    )
    g.add("number-up-default", Tag.INTEGER, 1)
    g.add("number-up-supported", Tag.INTEGER, 1)
    g.add("page-ranges-supported", Tag.BOOLEAN, False)


def creation_attributes(g: Group) -> list[str]:
    """What a Print-Job or Create-Job may carry on this port (PWG 5100.11): the job-template
    attributes the spooler checks and keeps (services/core/options.py) wherever the port says
    which values it accepts (no media-col on a port without media sizes), the fidelity flag,
    and the job's name. Listing more would promise what the spooler drops, fewer would hide
    options it takes."""
    taken = [name for name in options.SYNTAX if f"{name}-supported" in g.attributes]
    return sorted([*taken, "ipp-attribute-fidelity", "job-name"])
