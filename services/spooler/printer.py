"""Printer objects: one per input port, named as in the store, with the attributes IPP clients
ask for in Get-Printer-Attributes.

Attributes are truthful: we pass documents through unchanged, so we list the formats we accept
rather than what some printer behind us may render.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass

from services.core.ipp import Group, Operation, Tag

DOCUMENT_FORMATS = (
    "application/octet-stream",
    "application/pdf",
    "application/postscript",
    "application/vnd.hp-PCL",
    "image/pwg-raster",
    "image/urf",
)
OPERATIONS = (
    Operation.PRINT_JOB,
    Operation.VALIDATE_JOB,
    Operation.GET_PRINTER_ATTRIBUTES,
)
STARTED_AT = time.time()


@dataclass(frozen=True)
class PrinterObject:
    name: str
    kind: str  # direct | pull
    port: int  # the spooler's TCP port, for printer-uri-supported

    @property
    def uri(self) -> str:
        return f"ipp://127.0.0.1:{self.port}/printers/{self.name}"

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
        g.add("operations-supported", Tag.ENUM, *[int(op) for op in OPERATIONS])
        g.add("charset-configured", Tag.CHARSET, "utf-8")
        g.add("charset-supported", Tag.CHARSET, "utf-8")
        g.add("natural-language-configured", Tag.LANGUAGE, "en")
        g.add("generated-natural-language-supported", Tag.LANGUAGE, "en")
        g.add("document-format-default", Tag.MIME_TYPE, "application/octet-stream")
        g.add("document-format-supported", Tag.MIME_TYPE, *DOCUMENT_FORMATS)
        g.add("pdl-override-supported", Tag.KEYWORD, "not-attempted")
        g.add("compression-supported", Tag.KEYWORD, "none")
        g.add("job-hold-until-default", Tag.KEYWORD, "indefinite" if self.held else "no-hold")
        hold = ("indefinite", "no-hold") if self.held else ("no-hold",)
        g.add("job-hold-until-supported", Tag.KEYWORD, *hold)
        return g

    @property
    def held(self) -> bool:
        """Pull ports keep every job until the user releases it at a printer."""
        return self.kind == "pull"


def select_attributes(group: Group, requested: list[str] | None) -> Group:
    """Apply ``requested-attributes``: 'all' and the group names mean everything."""
    if not requested or {"all", "printer-description", "printer-status"} & set(requested):
        return group
    wanted = set(requested)
    out = Group(group.tag)
    for name, attr in group.attributes.items():
        if name in wanted:
            out.attributes[name] = attr
    return out
