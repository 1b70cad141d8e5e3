"""``pullprint printer forget-certificate``: only root may do it, by a printer's name or by
the HOST:PORT the job's message gives; it is audited with the fingerprint it had, the jobs
that waited for that printer are due at once, and a name it does not know changes nothing.
A real SQLite store; the command's function is called as ``pullprint`` calls it."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import pytest

from cli import certificates
from protocol.states import JobState
from services.core.config import Settings
from services.core.store import AuditEntry, Job, Pin, Printer, Store

OLD = "ab" * 32


@pytest.fixture
def store(tmp_path: Path, monkeypatch):
    store = Store(tmp_path / "pullprint.db")
    monkeypatch.setattr(certificates, "Store", lambda path: store)
    monkeypatch.setattr(certificates, "wake", lambda settings, service: None)
    monkeypatch.setattr("getpass.getuser", lambda: "root-admin")
    with store.session() as session:
        session.add(Printer(name="office", kind="direct", host="10.0.0.7", port=631,
                            protocol="ipp"))  # fmt: skip
        session.add(Pin(address="10.0.0.7:443", sha256=OLD, first_seen=0.0))
        session.add(Pin(address="10.0.0.70:443", sha256=OLD, first_seen=0.0))
        session.add(waiting_job())
        session.commit()
    yield store
    store.dispose()


def waiting_job() -> Job:
    now = time.time()
    return Job(
        uuid="0" * 32,
        printer="office",
        owner="alice",
        name="n",
        format="f",
        size=1,
        sha256="s",
        state=int(JobState.PROCESSING_STOPPED),
        state_reasons="printer-stopped",
        state_message="",
        next_attempt_at=now + 3600,
        created_at=now,
        updated_at=now,
    )


def forget(name: str) -> int:
    return certificates.forget_certificate(
        argparse.Namespace(name=name), Settings.model_construct()
    )


def pins(store: Store) -> set[str]:
    with store.session() as session:
        return {p.address for p in session.query(Pin)}


def test_only_root_may_forget_a_certificate(store, monkeypatch, capsys):
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert forget("10.0.0.7:443") == 1
    assert "only root" in capsys.readouterr().err
    assert pins(store) == {"10.0.0.7:443", "10.0.0.70:443"}


def test_a_printers_name_forgets_the_pins_of_its_host_and_its_jobs_go_now(store, capsys):
    assert forget("office") == 0
    assert "forgot the certificate of 10.0.0.7:443 (sha256 ABABABABABABABAB...)" in (
        capsys.readouterr().out
    )
    assert pins(store) == {"10.0.0.70:443"}  # another host, though its name starts alike
    with store.session() as session:
        job = session.query(Job).one()
        audited = session.query(AuditEntry).one()
    assert job.next_attempt_at == 0.0
    assert (audited.actor, audited.action, audited.subject) == (
        "root-admin",
        "printer.forget_certificate",
        "10.0.0.7:443",
    )
    assert OLD in audited.detail


def test_an_unknown_name_or_address_changes_nothing(store, capsys):
    assert forget("nosuchprinter") == 1
    assert forget("10.0.0.9:631") == 1
    err = capsys.readouterr().err
    assert "no printer nosuchprinter (give NAME or HOST:PORT)" in err
    assert "no certificate is pinned for 10.0.0.9:631" in err
    assert pins(store) == {"10.0.0.7:443", "10.0.0.70:443"}
    with store.session() as session:
        assert session.query(AuditEntry).count() == 0
