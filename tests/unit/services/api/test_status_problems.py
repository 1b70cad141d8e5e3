"""``GET /status`` lists what a running part reports only a person can fix: delivery's printer
whose certificate changed is a problem, though delivery itself runs."""

from __future__ import annotations

from services.api.status import problems

CHANGED = "the certificate of 10.0.0.7:631 changed (pinned sha256 AB..., now CD...); not sent"


def test_a_running_delivery_with_a_refused_certificate_is_a_problem():
    services = {
        "delivery": {"state": "running", "problems": [CHANGED]},
        "spooler": {"state": "running"},
    }
    assert problems(services, has_server=False) == [f"delivery: {CHANGED}"]


def test_a_running_delivery_with_nothing_to_report_is_fine():
    services = {"delivery": {"state": "running", "problems": []}, "spooler": {"state": "running"}}
    assert problems(services, has_server=False) == []
