"""The job-template attributes of a Print-Job, Create-Job or Validate-Job request, checked
against what the port presents, with RFC 8011's fidelity rules (4.1.7, 4.2.1.1, 5.2).

A port presents its printer's capabilities (``PrinterObject.attributes``); what it presents is
what it accepts, so an application's dialog and our answer never disagree. With
``ipp-attribute-fidelity`` true, one unsupported value refuses the job
(client-error-attributes-or-values-not-supported) and nothing is stored; otherwise the
unsupported ones are dropped (the printer's default applies) or substituted, and the answer is
successful-ok-ignored-or-substituted-attributes. Either way the unsupported-attributes group
names them, as supplied.

``job-hold-until`` is the one we honour ourselves: ``indefinite`` holds a job on any port
until Release-Job, and a pull port in local mode holds every job (it waits for its owner at a
printer), so a ``no-hold`` there is substituted and said to be.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from services.core import ipp, options
from services.core.capabilities import encode_attributes
from services.core.ipp import STRING_TAGS, Attribute, Group, IppError, Message, Status, Tag
from services.core.logs import get_log
from services.spooler.printer import PrinterObject

log = get_log("spooler")
HOLD = "job-hold-until"


@dataclass
class Checked:
    """What a request's options come to on one port."""

    options: dict[str, Attribute] = field(default_factory=dict)  # as the job keeps them
    unsupported: Group = field(default_factory=lambda: Group(Tag.UNSUPPORTED_GROUP))
    refused: bool = False
    hold: bool = False  # the job waits for a release, on a port that otherwise prints at once

    @property
    def status(self) -> Status:
        if self.refused:
            return Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED
        if self.unsupported.attributes:
            return Status.OK_IGNORED_OR_SUBSTITUTED
        return Status.OK

    def encoded(self) -> str | None:
        """For ``jobs.options``: None when the job brought none."""
        return encode_attributes(self.options) if self.options else None


def check(request: Message, printer: PrinterObject) -> Checked:
    """The request's job-template attributes on ``printer``; the caller stores nothing when
    ``refused``."""
    fidelity = _fidelity(request)
    group = request.group(Tag.JOB) or Group(Tag.JOB)
    offered = printer.attributes(0).attributes
    checked = Checked()
    for name, attr in group.attributes.items():
        if name not in options.SYNTAX:
            continue  # not a job-template attribute (job-name and the like): not ours to judge
        if attr.values == [""]:
            # A zero-length string is no value at all (a keyword has 1 to 255 octets, RFC 8011
            # 5.1.4): what ipptool's suites send for a media the printer lacks ("Print-Job
            # with A4 PostScript" names $OPTIONAL_LETTER_MEDIA), expecting successful-ok.
            continue
        attr = options.pwg_media(_plain(attr), offered)
        if options.fits(attr, offered):
            checked.options[name] = attr
        else:
            checked.unsupported.attributes[name] = _as_returned(attr)
    _hold(checked, printer)
    checked.refused = fidelity and bool(checked.unsupported.attributes)
    if checked.unsupported.attributes:
        log.info(
            "job.options-unsupported",
            printer=printer.name,
            attributes=",".join(checked.unsupported.attributes),
            values="; ".join(options.describe(a) for a in checked.unsupported.attributes.values()),
            refused=checked.refused,
        )
    return checked


def answer(request: Message, checked: Checked) -> Message:
    """The response, with the unsupported-attributes group right after the operation
    attributes (RFC 8010 3.1.1: it comes before the job group)."""
    message = ""
    if checked.unsupported.attributes:
        names = ", ".join(checked.unsupported.attributes)
        how = "not supported" if checked.refused else "ignored or substituted"
        message = f"{how}: {names}"
    response = ipp.response(request, checked.status, message)
    if checked.unsupported.attributes:
        response.groups.append(checked.unsupported)
    return response


def _plain(attr: Attribute) -> Attribute:
    """A name or text with a language as plain name or text: the parser keeps only the text,
    and that is what the job keeps and echoes (encoded again with its language tag, it would
    be malformed)."""
    plain = {Tag.NAME_LANG: Tag.NAME, Tag.TEXT_LANG: Tag.TEXT}.get(attr.tag)
    return Attribute(attr.name, plain, attr.values) if plain else attr


def _as_returned(attr: Attribute) -> Attribute:
    """An unsupported attribute as the answer names it: as supplied, unless a value is not
    even well formed in its syntax (a control character): then the out-of-band ``unsupported``,
    so the answer itself stays valid IPP (ipptool checks it)."""
    if attr.tag in STRING_TAGS and any(not str(v).isprintable() for v in attr.values):
        return Attribute(attr.name, Tag.UNSUPPORTED, [b""])
    return attr


def _fidelity(request: Message) -> bool:
    attr = request.operation.attributes.get("ipp-attribute-fidelity")
    if attr is None:
        return False
    if attr.tag != Tag.BOOLEAN or len(attr.values) != 1:
        # An operation attribute in the wrong syntax is a bad request (RFC 8011 4.1.7, 3196).
        raise IppError(Status.CLIENT_ERROR_BAD_REQUEST, "ipp-attribute-fidelity is a boolean")
    return attr.value is True


def _hold(checked: Checked, printer: PrinterObject) -> None:
    """What the job really does about waiting, and the option that says so."""
    asked = checked.options.get(HOLD)
    if printer.held:
        if asked is not None and asked.value != "indefinite":
            checked.unsupported.attributes[HOLD] = asked
            checked.options[HOLD] = Attribute(HOLD, Tag.KEYWORD, ["indefinite"])
        return
    checked.hold = asked is not None and asked.value == "indefinite"


def holds(printer: PrinterObject, stored: dict[str, Attribute]) -> bool:
    """Whether a job with these stored options waits for Release-Job on ``printer`` although
    the port itself prints at once (Send-Document reads it back from the row)."""
    asked = stored.get(HOLD)
    return not printer.held and asked is not None and asked.value == "indefinite"
