"""A job's options (its job-template attributes, RFC 8011 5.2) against what a printer offers.

Two processes ask the same question, so the answer lives here: the spooler, when a job
arrives, checks its options against what the port presents (``NAME-supported``); delivery,
when a job goes to a printer other than the one it was checked for (a pull job released at
some printer), checks them again against that printer, so what it cannot do is said rather
than silently lost.

A value in the wrong syntax (``copies`` as a keyword) is not one of the supported values, so it
is treated as an unsupported value (RFC 8011 4.1.7: returned as supplied in the
unsupported-attributes group), like ippeveprinter does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# How an option reads and a media-col's size are the wire's too: the server says them alike.
from protocol.job_options import first_member, media_size, show
from services.core.ipp import Attribute, Tag

_NAMES = (Tag.KEYWORD, Tag.NAME, Tag.NAME_LANG)
# The syntaxes RFC 8011 and PWG 5100.x give each attribute a job may carry.
SYNTAX: dict[str, tuple[int, ...]] = {
    "copies": (Tag.INTEGER,),
    "finishings": (Tag.ENUM,),
    "job-hold-until": _NAMES,
    "job-priority": (Tag.INTEGER,),
    "job-sheets": _NAMES,
    "media": _NAMES,
    "media-col": (Tag.BEGIN_COLLECTION,),
    "multiple-document-handling": (Tag.KEYWORD,),
    "number-up": (Tag.INTEGER,),
    "orientation-requested": (Tag.ENUM,),
    "output-bin": _NAMES,
    "page-ranges": (Tag.RANGE,),
    "print-color-mode": (Tag.KEYWORD,),
    "print-quality": (Tag.ENUM,),
    "printer-resolution": (Tag.RESOLUTION,),
    "sides": (Tag.KEYWORD,),
}
# The only ones that may carry more than one value (1setOf).
MULTI = frozenset({"finishings", "page-ranges"})


# Paper names older clients send (RFC 2911 keywords, PPD and lp names: CUPS's ipp backend
# passes ``lp -o media=A5`` on as "A5" to a printer without media-col), and the PWG 5101.1 name
# of the same paper, which is what printers list.
LEGACY_MEDIA = {
    "a3": "iso_a3_297x420mm",
    "a4": "iso_a4_210x297mm",
    "a5": "iso_a5_148x210mm",
    "a6": "iso_a6_105x148mm",
    "dl": "iso_dl_110x220mm",
    "env10": "na_number-10_4.125x9.5in",
    "executive": "na_executive_7.25x10.5in",
    "ledger": "na_ledger_11x17in",
    "legal": "na_legal_8.5x14in",
    "letter": "na_letter_8.5x11in",
    "tabloid": "na_ledger_11x17in",
}
LEGACY_MEDIA |= {f"iso-{k}": v for k, v in LEGACY_MEDIA.items() if k.startswith("a")}
LEGACY_MEDIA |= {"na-letter": LEGACY_MEDIA["letter"], "na-legal": LEGACY_MEDIA["legal"]}


def pwg_media(attr: Attribute, offered: Mapping[str, Attribute]) -> Attribute:
    """``media`` named the old way, as the PWG name of the same paper when the printer lists
    that one: the same sheet, so nothing is substituted. Anything else stays as it came."""
    supported = offered.get("media-supported")
    if attr.name != "media" or supported is None or len(attr.values) != 1:
        return attr
    value = str(attr.value)
    pwg = LEGACY_MEDIA.get(value.lower())
    if value in supported.values or pwg not in supported.values:
        return attr
    return Attribute(attr.name, Tag.KEYWORD, [pwg])


def fits(attr: Attribute, offered: Mapping[str, Attribute]) -> bool:
    """Whether a job attribute has its syntax and a value ``offered`` (a printer's
    attributes: its ``NAME-supported``) allows."""
    if attr.tag not in SYNTAX.get(attr.name, ()) or not attr.values:
        return False
    if len(attr.values) > 1 and attr.name not in MULTI:
        return False
    if attr.name == "job-priority":  # job-priority-supported counts levels, 1..100 map on them
        return all(1 <= v <= 100 for v in attr.values)
    supported = offered.get(f"{attr.name}-supported")
    if supported is None or not supported.values:
        return False
    if attr.name == "media-col":
        return all(_media_col_fits(col, offered) for col in attr.values)
    if attr.name == "page-ranges":
        return supported.value is True and _ascending(attr.values)
    return all(_among(value, supported) for value in attr.values)


def split(
    options: Mapping[str, Attribute], offered: Mapping[str, Attribute]
) -> tuple[dict[str, Attribute], dict[str, Attribute]]:
    """(those that fit, those that do not)."""
    good = {n: a for n, a in options.items() if fits(a, offered)}
    return good, {n: a for n, a in options.items() if n not in good}


def describe(attr: Attribute) -> str:
    """One option as a person reads it in a trace: ``copies 2``, ``media iso_a5_148x210mm``."""
    return f"{attr.name} {', '.join(show(attr.tag, v) for v in attr.values)}"


def describe_all(attributes: Iterable[Attribute]) -> str:
    return "; ".join(describe(a) for a in attributes)


def _among(value: Any, supported: Attribute) -> bool:
    if supported.tag == Tag.RANGE:
        return isinstance(value, int) and any(lo <= value <= hi for lo, hi in supported.values)
    return value in supported.values


def _ascending(ranges: list[Any]) -> bool:
    """RFC 8011 5.2.7: each range 1 or more, lower <= upper, in ascending non-overlapping
    order."""
    last = 0
    for lower, upper in ranges:
        if lower <= last or upper < lower:
            return False
        last = upper
    return True


def _media_col_fits(col: Any, offered: Mapping[str, Attribute]) -> bool:
    members = offered.get("media-col-supported")
    if not isinstance(col, dict) or members is None:
        return False
    for name, (_tag, values) in col.items():
        if name not in members.values:
            return False
        if name == "media-size" and not _size_offered(media_size(col), offered):
            return False
        if name in ("media-source", "media-type"):
            supported = offered.get(f"{name}-supported")
            if supported is None or not values or values[0] not in supported.values:
                return False
    return True


def _size_offered(size: tuple[int, int] | None, offered: Mapping[str, Attribute]) -> bool:
    """A size the printer lists in media-size-supported (exact, or within a custom range)."""
    if size is None:
        return False
    listed = offered.get("media-size-supported")
    for entry in listed.values if listed else []:
        if not isinstance(entry, dict):
            continue
        x, y = first_member(entry, "x-dimension"), first_member(entry, "y-dimension")
        if _dimension(size[0], x) and _dimension(size[1], y):
            return True
    return False


def _dimension(value: int, offered: Any) -> bool:
    if isinstance(offered, tuple) and len(offered) == 2:  # rangeOfInteger: custom sizes
        return bool(offered[0] <= value <= offered[1])
    return value == offered
