"""A PJL job header for a raw printer that reads one: a job's options (copies, duplex,
colour, paper, orientation) told before the document, which then goes unchanged.

HP's PJL (Printer Job Language) wraps the document: Universal Exit Language, ``@PJL JOB``, the
``SET`` commands, ``ENTER LANGUAGE`` (the document's), the document, then the closing UEL with
``@PJL EOJ``. Only the header and the trailer are ours, so delivery still streams the spooled
document as it is and checks its sha256 before sending.

A printer without PJL cannot be told anything: the document passes through and every option
that is not what the printer does anyway is named as not honoured, for the trace.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from services.core import options
from services.core.capabilities import Capabilities
from services.core.ipp import Attribute

UEL = b"\x1b%-12345X"
# The options we honour ourselves before delivery: never to be told to a printer.
OURS = frozenset({"job-hold-until"})
LANGUAGES = {
    "application/pdf": "PDF",
    "application/postscript": "POSTSCRIPT",
    "application/vnd.hp-PCL": "PCL",
}
PAPER = {
    "iso_a3_297x420mm": "A3",
    "iso_a4_210x297mm": "A4",
    "iso_a5_148x210mm": "A5",
    "iso_b5_176x250mm": "B5",
    "na_letter_8.5x11in": "LETTER",
    "na_legal_8.5x14in": "LEGAL",
    "na_executive_7.25x10.5in": "EXECUTIVE",
}
# media-col sizes (hundredths of mm) of the same papers.
SIZES = {
    (29700, 42000): "A3",
    (21000, 29700): "A4",
    (14800, 21000): "A5",
    (17600, 25000): "B5",
    (21590, 27940): "LETTER",
    (21590, 35560): "LEGAL",
    (18415, 26670): "EXECUTIVE",
}
DUPLEX = {
    "one-sided": ["DUPLEX=OFF"],
    "two-sided-long-edge": ["DUPLEX=ON", "BINDING=LONGEDGE"],
    "two-sided-short-edge": ["DUPLEX=ON", "BINDING=SHORTEDGE"],
}
MDH, COLLATED = "multiple-document-handling", "separate-documents-collated-copies"
RENDERMODE = {"color": "COLOR", "monochrome": "GRAYSCALE"}
ORIENTATION = {3: "PORTRAIT", 4: "LANDSCAPE"}


@dataclass
class Plan:
    """What goes around the document, and what could not be told to the printer."""

    header: bytes = b""
    trailer: bytes = b""
    not_honoured: list[Attribute] = field(default_factory=list)


def plan(
    job_options: Mapping[str, Attribute], caps: Capabilities | None, name: str, fmt: str
) -> Plan:
    """The PJL around a job for a raw printer with ``caps`` (None: unknown, taken as one
    without PJL)."""
    wanted = [a for n, a in job_options.items() if n not in OURS]
    offered = caps.attributes if caps else {}
    # What the printer is known not to offer cannot be honoured; of what we know nothing
    # about (no NAME-supported), the document decides.
    refused = [a for a in wanted if _known(a, offered) and not options.fits(a, offered)]
    if caps is None or not caps.pjl:
        # Nothing reaches it but the document: what it does anyway is what it offers.
        return Plan(not_honoured=refused)
    commands: list[str] = []
    result = Plan(not_honoured=refused)
    collated = _collated(wanted) and not any(a.name == MDH for a in refused)
    for attr in wanted:
        if attr in refused:
            continue
        told = _commands(attr, collated)
        if told is not None:
            commands += told
        elif _known(attr, offered) and attr.value != _default(attr.name, offered):
            result.not_honoured.append(attr)  # offered, but PJL has no words for it
    label = _label(name)
    lines = ["@PJL", f'@PJL JOB NAME="{label}"'] + [f"@PJL SET {c}" for c in commands]
    if fmt in LANGUAGES:
        lines.append(f"@PJL ENTER LANGUAGE={LANGUAGES[fmt]}")
    result.header = UEL + "".join(f"{line}\r\n" for line in lines).encode("ascii")
    result.trailer = UEL + f'@PJL EOJ NAME="{label}"\r\n'.encode("ascii") + UEL
    return result


def _known(attr: Attribute, offered: Mapping[str, Attribute]) -> bool:
    return f"{attr.name}-supported" in offered


def _default(name: str, offered: Mapping[str, Attribute]) -> object:
    attr = offered.get(f"{name}-default")
    return attr.value if attr else None


def _collated(wanted: list[Attribute]) -> bool:
    return any(a.name == MDH and a.value == COLLATED for a in wanted)


def _commands(attr: Attribute, collated: bool) -> list[str] | None:
    """The SET commands that tell a printer one option; None when PJL has no words for it."""
    value = attr.value
    if attr.name == "copies":
        # QTY: copies of the whole document (collated); COPIES: of each page.
        return [f"{'QTY' if collated else 'COPIES'}={int(value)}"]
    if attr.name == MDH:
        return []  # said by copies
    if attr.name == "sides":
        return DUPLEX.get(value)
    if attr.name == "print-color-mode":
        mode = RENDERMODE.get(value)
        return [f"RENDERMODE={mode}"] if mode else None
    if attr.name == "media":
        paper = PAPER.get(value)
        return [f"PAPER={paper}"] if paper else None
    if attr.name == "media-col":
        size = options.media_size(value)
        paper = SIZES.get(size) if size else None
        return [f"PAPER={paper}"] if paper else None
    if attr.name == "orientation-requested":
        turn = ORIENTATION.get(value)
        return [f"ORIENTATION={turn}"] if turn else None
    return None


def _label(name: str) -> str:
    """The job's name as PJL may carry it: printable ASCII without quotes, so a job name can
    never end the string and smuggle in commands of its own."""
    return re.sub(r"[^A-Za-z0-9 ._-]", "_", name)[:80]
