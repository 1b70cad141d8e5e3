"""``requested-attributes``: which attributes a Get-Printer-Attributes, Get-Job-Attributes or
Get-Jobs answer carries (RFC 8011 4.2.5.1, 4.2.6.1, 4.3.4.1).

A client names attributes and groups. The groups are exact: 'job-template' on a printer is the
``*-default``/``*-supported``/``*-ready`` attributes of the job template attributes (and the
media-col members' supported values, PWG 5100.7), 'printer-description' is every other printer
attribute, 'all' is both; on a job 'job-template' is the job template attributes the job
carries and 'job-description' the rest. A name we do not know is ignored, as RFC 8011 says.
Asking for 'printer-description' once got job-template attributes too, and 'job-template'
none (issue 21): CUPS builds its PPD options from the latter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from services.core.capabilities import MARKERS
from services.core.ipp import Group

# Job template attributes (RFC 8011 5.2; PWG 5100.7, 5100.11, 5100.13, 5100.14).
JOB_TEMPLATE = frozenset(
    {
        "copies",
        "feed-orientation",
        "finishings",
        "finishings-col",
        "job-account-id",
        "job-accounting-user-id",
        "job-delay-output-until",
        "job-error-action",
        "job-hold-until",
        "job-message-to-operator",
        "job-phone-number",
        "job-priority",
        "job-recipient-name",
        "job-retain-until",
        "job-sheet-message",
        "job-sheets",
        "media",
        "media-col",
        "multiple-document-handling",
        "number-up",
        "orientation-requested",
        "output-bin",
        "overrides",
        "page-delivery",
        "page-ranges",
        "presentation-direction-number-up",
        "print-color-mode",
        "print-content-optimize",
        "print-quality",
        "print-rendering-intent",
        "print-scaling",
        "printer-resolution",
        "separator-sheets",
        "sides",
        "x-image-position",
        "x-image-shift",
        "y-image-position",
        "y-image-shift",
    }
)
# The values a job template attribute may take that are not named after it: media-col's
# members (PWG 5100.7 6.3), and the media and finishings a printer has loaded.
JOB_TEMPLATE_PRINTER_EXTRA = frozenset(
    {
        "media-bottom-margin-supported",
        "media-left-margin-supported",
        "media-right-margin-supported",
        "media-top-margin-supported",
        "media-size-supported",
        "media-source-supported",
        "media-type-supported",
    }
)
PRINTER_SUFFIXES = ("-default", "-supported", "-ready", "-database")
# Printer status attributes: what 'printer-status' (a group name CUPS clients send) means.
PRINTER_STATUS = frozenset(
    {
        "printer-state",
        "printer-state-reasons",
        "printer-state-message",
        "printer-is-accepting-jobs",
        "queued-job-count",
        "printer-up-time",
        "printer-current-time",
        "printer-state-change-time",
        "printer-state-change-date-time",
        "printer-alert",
        "printer-alert-description",
        *MARKERS,
        "printer-supply",
        "printer-supply-description",
    }
)
# Get-Jobs without requested-attributes returns only these (RFC 8011 4.2.6.1).
DEFAULT_GET_JOBS = ("job-id", "job-uri")


def is_printer_job_template(name: str) -> bool:
    """Whether a printer attribute belongs to the 'job-template' group."""
    if name in JOB_TEMPLATE_PRINTER_EXTRA:
        return True
    for suffix in PRINTER_SUFFIXES:
        if name.endswith(suffix) and name[: -len(suffix)] in JOB_TEMPLATE:
            return True
    return False


def printer_group_members(group_name: str, name: str) -> bool:
    """Whether the printer attribute ``name`` is in the group ``group_name``."""
    if group_name == "all":
        return True
    if group_name == "job-template":
        return is_printer_job_template(name)
    if group_name == "printer-description":
        return not is_printer_job_template(name)
    if group_name == "printer-status":
        return name in PRINTER_STATUS
    return False


PRINTER_GROUPS = ("all", "job-template", "printer-description", "printer-status")
JOB_GROUPS = ("all", "job-template", "job-description")


def select_printer(group: Group, requested: Iterable[str] | None) -> Group:
    """The printer attributes ``requested`` names (attributes and groups); all without it."""
    if not requested:
        return group
    wanted = set(requested)
    groups = [g for g in PRINTER_GROUPS if g in wanted]
    return _keep(
        group,
        lambda name: name in wanted or any(printer_group_members(g, name) for g in groups),
    )


def job_group_member(group_name: str, name: str) -> bool:
    """Whether the job attribute ``name`` is in the group ``group_name``."""
    if group_name == "all":
        return True
    if group_name == "job-template":
        return name in JOB_TEMPLATE
    return group_name == "job-description" and name not in JOB_TEMPLATE


def select_job(
    group: Group, requested: Iterable[str] | None, default: tuple[str, ...] = ()
) -> Group:
    """The job attributes ``requested`` names; ``default`` (or all) without it."""
    wanted = set(requested or default)
    if not wanted:
        return group
    groups = [g for g in JOB_GROUPS if g in wanted]
    return _keep(
        group, lambda name: name in wanted or any(job_group_member(g, name) for g in groups)
    )


def _keep(group: Group, keep: Callable[[str], bool]) -> Group:
    out = Group(group.tag)
    out.attributes = {n: a for n, a in group.attributes.items() if keep(n)}
    return out
