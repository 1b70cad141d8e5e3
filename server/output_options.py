"""What a job's options (issue 21; the upload carried them, protocol/job_options.py) become at
the printer Document Output sends it to, and which of them it could not honour.

An IPP printer gets them as the Print-Job's job attributes. A raw printer cannot be asked: its
record (kept in the job's target, server/commands.py) says what it can do, and one that reads
PJL gets a job header (protocol/pjl.py, the same words an endpoint's delivery sends); any other
gets the document unchanged. What did not reach the printer as asked is named, for the job's
outcome, which its owner reads (the client's delivery does the same for its own prints).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from protocol import job_options, pjl
from protocol.gateway import Destination
from protocol.job_options import Options

# What the document (or the copies) decides, whatever a raw printer is told.
DOCUMENT_DECIDES = frozenset({"orientation-requested", "multiple-document-handling"})
PAPERS = ("media", "media-col")
# What a raw printer's record offers (the endpoints present copies-supported 1-999 for it):
# an endpoint sending more is not believed, and the paper is not wasted.
COPIES = range(1, 1000)


@dataclass
class RawPlan:
    """What goes around the document, and the options that did not reach the printer."""

    header: bytes = b""
    trailer: bytes = b""
    not_honoured: list[str] = field(default_factory=list)


def parse(text: str | None) -> Options:
    """A job row's options; {} for none. The gateway checked them on the way in, so a row
    that does not parse was written by something else: printed without, not a crash."""
    try:
        return job_options.parse(text) if text else {}
    except job_options.BadOptions:
        return {}


def for_raw(options: Options, dest: Destination, name: str, fmt: str) -> RawPlan:
    """The PJL around a job for the raw printer ``dest``: none when it does not read PJL, or
    when the job asks nothing (a job from an endpoint that predates options goes as it did)."""
    anyway = does_anyway(dest)
    first = {n: values[0] for n, (_tag, values) in options.items()}
    plan = RawPlan()
    told: list[str] = []
    for option, (tag, values) in options.items():
        value = values[0]
        commands = _told(dest, option, value, pjl.collated(first)) if dest.pjl else None
        if commands is not None:
            told += commands
        elif option not in DOCUMENT_DECIDES and (len(values) > 1 or anyway.get(option) != value):
            plan.not_honoured.append(job_options.describe(option, tag, values))
    if dest.pjl and options:
        plan.header, plan.trailer = pjl.wrap(told, name, fmt)
    return plan


def does_anyway(dest: Destination) -> dict[str, Any]:
    """What a raw printer does with nothing said: an option asking for this is honoured."""
    paper = dest.media_default or (dest.media[0] if dest.media else None)
    return {
        "copies": 1,
        "sides": "one-sided",
        "print-color-mode": "color" if dest.color else "monochrome",
        "media": paper,
        "print-quality": 4,  # normal
        "finishings": 3,  # none
    }


def _told(dest: Destination, option: str, value: Any, collated: bool) -> list[str] | None:
    """The PJL for one option, or None when the printer's record says it cannot do it."""
    if option == "sides" and value != "one-sided" and not dest.duplex:
        return None
    if option == "print-color-mode" and value == "color" and not dest.color:
        return None
    if option == "copies" and value not in COPIES:
        return None
    commands = pjl.commands(option, value, collated)
    if option in PAPERS and commands and dest.media:
        papers = {f"PAPER={pjl.PAPER[m]}" for m in dest.media if m in pjl.PAPER}
        return commands if commands[0] in papers else None
    return commands
