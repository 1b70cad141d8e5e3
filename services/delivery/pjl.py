"""A PJL job header for a raw printer that reads one: a job's options (copies, duplex,
colour, paper, orientation) told before the document, which then goes unchanged.

HP's PJL (Printer Job Language) wraps the document: Universal Exit Language, ``@PJL JOB``, the
``SET`` commands, ``ENTER LANGUAGE`` (the document's), the document, then the closing UEL with
``@PJL EOJ``. Only the header and the trailer are ours (built by ``protocol/pjl.py``, which the
server's Document Output uses too), so delivery still streams the spooled document as it is and
checks its sha256 before sending.

A printer without PJL cannot be told anything: the document passes through and every option
that is not what the printer does anyway is named as not honoured, for the trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from protocol import pjl as protocol_pjl
from protocol.pjl import MDH, UEL
from services.core import options
from services.core.capabilities import Capabilities
from services.core.ipp import Attribute

__all__ = ["OURS", "UEL", "Plan", "plan"]

# The options we honour ourselves before delivery: never to be told to a printer.
OURS = frozenset({"job-hold-until"})


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
    told: list[str] = []
    result = Plan(not_honoured=refused)
    is_collated = _collated(wanted) and not any(a.name == MDH for a in refused)
    for attr in wanted:
        if attr in refused:
            continue
        commands = protocol_pjl.commands(attr.name, attr.value, is_collated)
        if commands is not None:
            told += commands
        elif _known(attr, offered) and attr.value != _default(attr.name, offered):
            result.not_honoured.append(attr)  # offered, but PJL has no words for it
    result.header, result.trailer = protocol_pjl.wrap(told, name, fmt)
    return result


def _known(attr: Attribute, offered: Mapping[str, Attribute]) -> bool:
    return f"{attr.name}-supported" in offered


def _default(name: str, offered: Mapping[str, Attribute]) -> object:
    attr = offered.get(f"{name}-default")
    return attr.value if attr else None


def _collated(wanted: list[Attribute]) -> bool:
    return protocol_pjl.collated({a.name: a.value for a in wanted})
