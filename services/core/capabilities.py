"""What a printer can do, in the words IPP uses for it (RFC 8011 5.2, PWG 5100.14).

Shared by three processes: sync reads them (an IPP printer's Get-Printer-Attributes answer, a
raw printer's record from the server or the config file) and caches them in the store, the
spooler presents them on the port's printer object and checks job-template attributes against
them, and delivery applies a job's options as the printer understands them.

A ``Capabilities`` is a set of printer attributes (name -> ``ipp.Attribute``) limited to the
job-template and description attributes a port passes on (``KEPT``); the identity of the port
(name, URIs, state, uuid) stays the spooler's own. It is stored as JSON (``to_json``), which keeps
every value's IPP tag, so what a client reads back is what the printer said.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from protocol import job_options
from services.core.ipp import Attribute, Group, Tag

# Job template attributes (RFC 8011 5.2, PWG 5100.14 5.3) a job may carry, with the tag each
# value has on the wire. ``*-default`` and ``*-supported`` of these are what a port presents.
# Those an upload carries (protocol/job_options.py) and job-hold-until, which the client
# honours itself. (multiple-document-handling is among them: CUPS sends copies only to a
# printer that lists separate-documents-collated-copies here.)
JOB_TEMPLATE = tuple(sorted(job_options.NAMES | {"job-hold-until"}))
# A printer's toner and ink levels (PWG 5100.13 / RFC 3805 markers): taken from the printer,
# and in the 'printer-status' group (spooler/groups.py).
MARKERS = (
    "marker-colors",
    "marker-high-levels",
    "marker-levels",
    "marker-low-levels",
    "marker-names",
    "marker-types",
)
# Printer description attributes taken from the printer as it answers them.
DESCRIPTION = (
    "color-supported",
    "document-format-supported",
    "identify-actions-default",
    "identify-actions-supported",
    "job-creation-attributes-supported",
    *MARKERS,
    "media-bottom-margin-supported",
    "media-col-database",
    "media-col-ready",
    "media-left-margin-supported",
    "media-ready",
    "media-right-margin-supported",
    "media-size-supported",
    "media-source-supported",
    "media-top-margin-supported",
    "media-type-supported",
    "pages-per-minute",
    "pages-per-minute-color",
    "printer-icons",
    "printer-supply",
    "printer-supply-description",
    "pwg-raster-document-resolution-supported",
    "pwg-raster-document-sheet-back",
    "pwg-raster-document-type-supported",
    "urf-supported",
)
KEPT = frozenset(
    [f"{name}-default" for name in JOB_TEMPLATE]
    + [f"{name}-supported" for name in JOB_TEMPLATE]
    + list(DESCRIPTION)
)

A4, LETTER = "iso_a4_210x297mm", "na_letter_8.5x11in"


@dataclass(frozen=True)
class Capabilities:
    """A printer's attributes as a port presents them, and how it takes job options."""

    attributes: dict[str, Attribute] = field(default_factory=dict)
    # A raw printer that reads a PJL job header (copies, duplex, colour, paper) before the
    # document; where it does not, options cannot reach it and delivery says so.
    pjl: bool = False

    def supported(self, name: str) -> list[Any]:
        """The ``NAME-supported`` values (e.g. ``supported("sides")``); [] when absent."""
        attr = self.attributes.get(f"{name}-supported")
        return list(attr.values) if attr else []

    def default(self, name: str) -> Any:
        attr = self.attributes.get(f"{name}-default")
        return attr.value if attr else None

    def group(self) -> Group:
        """The attributes as a printer group, to be merged into a port's own attributes."""
        return Group(Tag.PRINTER, dict(self.attributes))

    def to_json(self) -> str:
        return json.dumps(
            {
                "attributes": {n: _encode_attr(a) for n, a in self.attributes.items()},
                "pjl": self.pjl,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> Capabilities:
        data = json.loads(text)
        attributes = {n: _decode_attr(n, raw) for n, raw in data["attributes"].items()}
        return cls(attributes, bool(data.get("pjl", False)))


def from_printer(group: Group) -> Capabilities:
    """The ``KEPT`` attributes of a printer's Get-Printer-Attributes answer."""
    return Capabilities({n: a for n, a in group.attributes.items() if n in KEPT})


def for_raw(
    *,
    color: bool = False,
    duplex: bool = False,
    media: Iterable[str] = (A4, LETTER),
    media_default: str | None = None,
    resolution: int = 600,
    pjl: bool = False,
) -> Capabilities:
    """What a raw (port 9100) printer offers, from what an admin says of it: a raw printer
    cannot be asked. Without PJL it cannot be told copies, sides or colour per job, so only
    what it does anyway is offered (one copy, its default sides and colour)."""
    media = list(media) or [A4]
    g = Group(Tag.PRINTER)
    g.add("copies-default", Tag.INTEGER, 1)
    g.add("copies-supported", Tag.RANGE, (1, 999 if pjl else 1))
    sides = ["one-sided", "two-sided-long-edge", "two-sided-short-edge"] if duplex and pjl else []
    g.add("sides-default", Tag.KEYWORD, "one-sided")
    g.add("sides-supported", Tag.KEYWORD, *(sides or ["one-sided"]))
    modes = (["color", "monochrome"] if pjl else ["color"]) if color else ["monochrome"]
    g.add("print-color-mode-default", Tag.KEYWORD, modes[0])
    g.add("print-color-mode-supported", Tag.KEYWORD, *modes)
    g.add("color-supported", Tag.BOOLEAN, color)
    default = media_default if media_default in media else media[0]
    g.add("media-default", Tag.KEYWORD, default)
    g.add("media-supported", Tag.KEYWORD, *(media if pjl else [default]))
    g.add("media-ready", Tag.KEYWORD, default)
    g.add("print-quality-default", Tag.ENUM, 4)  # normal
    g.add("print-quality-supported", Tag.ENUM, 4)
    g.add("printer-resolution-default", Tag.RESOLUTION, (resolution, resolution, 3))
    g.add("printer-resolution-supported", Tag.RESOLUTION, (resolution, resolution, 3))
    g.add("finishings-default", Tag.ENUM, 3)  # none
    g.add("finishings-supported", Tag.ENUM, 3)
    g.add("page-ranges-supported", Tag.BOOLEAN, False)
    return Capabilities(g.attributes, pjl)


# What one printer says of itself alone: a port that may release to several presents none of
# it. Nor the formats one renders: the union would claim formats some of them cannot print,
# so such a port lists the formats we accept, as before (spooler/printer.py).
ONE_PRINTER = frozenset(
    [n for n in DESCRIPTION if n.startswith(("marker-", "printer-supply", "pages-per-minute"))]
    + ["printer-icons", "identify-actions-default", "identify-actions-supported"]
    + ["document-format-supported", "urf-supported"]
    + [n for n in DESCRIPTION if n.startswith("pwg-raster-")]
)


def union(members: Iterable[Capabilities], defaults: dict[str, str] | None = None) -> Capabilities:
    """What a pull port presents: everything any of its printers offers (a job goes to the one
    it is released at), with each ``*-default`` the first printer's unless ``defaults`` (the
    admin's: ``{"sides-default": "two-sided-long-edge"}``) names one the union supports."""
    members = list(members) or [for_raw()]
    out: dict[str, Attribute] = {}
    for caps in members:
        for name, attr in caps.attributes.items():
            if name in ONE_PRINTER:
                continue
            have = out.get(name)
            if have is None:
                out[name] = Attribute(name, attr.tag, list(attr.values))
            elif have.tag == attr.tag and not name.endswith("-default"):
                have.values = _merged(have.tag, have.values, attr.values)
    result = Capabilities(out, any(c.pjl for c in members))
    return with_defaults(result, defaults or {})


def _merged(tag: int, ours: list[Any], theirs: list[Any]) -> list[Any]:
    """One attribute's values from two printers: booleans (color-supported, page-ranges-
    supported) are true if either is, a single range (copies-supported) covers both, and
    sets (sides-supported, media-col-database) keep every value once, in order."""
    if tag == Tag.BOOLEAN:
        return [any(ours) or any(theirs)]
    if tag == Tag.RANGE and len(ours) == len(theirs) == 1:
        (low, high), (low2, high2) = ours[0], theirs[0]
        return [(min(low, low2), max(high, high2))]
    return ours + [v for v in theirs if v not in ours]


def with_defaults(caps: Capabilities, defaults: dict[str, str]) -> Capabilities:
    """``caps`` with each ``NAME-default`` of ``defaults`` put in where ``NAME-supported`` has
    it; media may be named short ("a4" for "iso_a4_210x297mm"), as profiles do."""
    attributes = dict(caps.attributes)
    for name, value in defaults.items():
        supported = caps.supported(name.removesuffix("-default"))
        chosen = value if value in supported else _media_named(value, supported)
        if chosen is not None and name in attributes:
            attributes[name] = Attribute(name, attributes[name].tag, [chosen])
    return Capabilities(attributes, caps.pjl)


def _media_named(short: str, supported: list[Any]) -> str | None:
    """The PWG self-describing name (class_name_size) whose name part is ``short``."""
    for media in supported:
        if isinstance(media, str) and media.count("_") >= 2 and media.split("_")[1] == short:
            return media
    return None


def prefer_color(caps: Capabilities) -> Capabilities:
    """A printer that prints colour by default says so: "auto" (the printer decides per page,
    PWG 5100.13) becomes "color" where colour is supported, so the OS queue's default sync
    sets from it (queue_defaults.py) and a dialog start at colour. (CUPS 2.4's everywhere PPD
    already picks RGB for such a printer; a raw queue's ``print-color-mode-default=auto``
    would leave the choice to each application.)"""
    if caps.default("print-color-mode") != "auto" or "color" not in caps.supported(
        "print-color-mode"
    ):
        return caps
    return with_defaults(caps, {"print-color-mode-default": "color"})


# --- JSON: every value keeps its tag ------------------------------------------------------


def encode_attributes(attributes: dict[str, Attribute]) -> str:
    """A job's options (``jobs.options``) as JSON, in the encoding capabilities use, so a
    job read back after a restart carries each value with the tag it arrived with."""
    return json.dumps({n: _encode_attr(a) for n, a in attributes.items()})


def decode_attributes(text: str | None) -> dict[str, Attribute]:
    """What ``encode_attributes`` wrote; {} for a job stored without options."""
    if not text:
        return {}
    return {n: _decode_attr(n, raw) for n, raw in json.loads(text).items()}


def _encode_attr(attr: Attribute) -> list[Any]:
    return [attr.tag, [_encode_value(attr.tag, v) for v in attr.values]]


def _encode_value(tag: int, value: Any) -> Any:
    if tag == Tag.BEGIN_COLLECTION:
        return {m: _encode_member(m, items) for m, items in value.items()}
    if isinstance(value, bytes | bytearray):
        return {"hex": bytes(value).hex()}
    if isinstance(value, tuple):
        return list(value)
    return value


def _encode_member(_name: str, member: tuple[int, list[Any]]) -> list[Any]:
    """A collection member as the parser gives it and ``ipp.encode`` takes it: (tag, values)."""
    tag, values = member
    return [tag, [_encode_value(tag, v) for v in values]]


def _decode_attr(name: str, raw: list[Any]) -> Attribute:
    tag, values = raw
    return Attribute(name, tag, [_decode_value(tag, v) for v in values])


def _decode_value(tag: int, value: Any) -> Any:
    if tag == Tag.BEGIN_COLLECTION:
        return {
            m: (member_tag, [_decode_value(member_tag, v) for v in items])
            for m, (member_tag, items) in value.items()
        }
    if isinstance(value, dict) and "hex" in value:
        return bytes.fromhex(value["hex"])
    if isinstance(value, list):
        return tuple(value)
    return value
