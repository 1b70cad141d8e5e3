"""A PJL job header (HP's Printer Job Language): a job's options told to a raw printer that
reads one, before the document, which then goes unchanged. Shared by the client's delivery
(services/delivery/pjl.py) and the server's Document Output, so a job printed either way
reaches the printer with the same words.

PJL wraps the document: Universal Exit Language, ``@PJL JOB``, the ``SET`` commands, ``ENTER
LANGUAGE`` (the document's), the document, then the closing UEL with ``@PJL EOJ``. Only the
header and the trailer are built here; which options a printer can be told is the caller's.
"""

from __future__ import annotations

import re
from typing import Any

from protocol.job_options import media_size

UEL = b"\x1b%-12345X"
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


def collated(values: dict[str, Any]) -> bool:
    """Whether copies are of the whole document (``{name: first value}`` of a job's options)."""
    return values.get(MDH) == COLLATED


def commands(name: str, value: Any, is_collated: bool) -> list[str] | None:
    """The SET commands that tell a printer one option; None when PJL has no words for it."""
    if name == "copies":
        # QTY: copies of the whole document (collated); COPIES: of each page.
        return [f"{'QTY' if is_collated else 'COPIES'}={int(value)}"]
    if name == MDH:
        return []  # said by copies
    if name == "sides":
        return DUPLEX.get(value)
    if name == "print-color-mode":
        mode = RENDERMODE.get(value)
        return [f"RENDERMODE={mode}"] if mode else None
    if name == "media":
        paper = PAPER.get(value)
        return [f"PAPER={paper}"] if paper else None
    if name == "media-col":
        size = media_size(value) if isinstance(value, dict) else None
        paper = SIZES.get(size) if size else None
        return [f"PAPER={paper}"] if paper else None
    if name == "orientation-requested":
        turn = ORIENTATION.get(value)
        return [f"ORIENTATION={turn}"] if turn else None
    return None


def wrap(told: list[str], name: str, fmt: str) -> tuple[bytes, bytes]:
    """The header and trailer around a document of format ``fmt`` telling ``told`` (SET
    commands)."""
    text = label(name)
    lines = ["@PJL", f'@PJL JOB NAME="{text}"'] + [f"@PJL SET {c}" for c in told]
    if fmt in LANGUAGES:
        lines.append(f"@PJL ENTER LANGUAGE={LANGUAGES[fmt]}")
    header = UEL + "".join(f"{line}\r\n" for line in lines).encode("ascii")
    trailer = UEL + f'@PJL EOJ NAME="{text}"\r\n'.encode("ascii") + UEL
    return header, trailer


def label(name: str) -> str:
    """The job's name as PJL may carry it: printable ASCII without quotes, so a job name can
    never end the string and smuggle in commands of its own."""
    return re.sub(r"[^A-Za-z0-9 ._-]", "_", name)[:80]
