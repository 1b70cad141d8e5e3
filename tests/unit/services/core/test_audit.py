"""The client's audit trail below the facade: the server's commands over the channel, the
retention sweep, the CLI, and what a configuration change is allowed to say."""

from __future__ import annotations

import argparse
import sqlite3
import time
import uuid
from pathlib import Path

import pytest

from cli import account as cli_account
from cli import jobs as cli_jobs
from protocol.channel import Cancel, PrinterInfo, Release
from protocol.states import JobState
from services.api import audit as audit_routes
from services.channel import commands
from services.core import audit, jobs, migrations, users
from services.core.config import Settings
from services.core.spool import Spool
from services.core.store import SCHEMA_VERSION, AuditEntry, Job, Printer, Store


@pytest.fixture
def store(tmp_path: Path):
    s = Store(tmp_path / "state" / "pullprint.db")
    yield s
    s.dispose()


def add_job(store: Store, owner: str, state: JobState = JobState.PENDING_HELD, age: float = 0):
    stamp = time.time() - age
    with store.session() as session:
        job = Job(
            uuid=str(uuid.uuid4()),
            printer="hall",
            owner=owner,
            name=f"{owner}'s job",
            size=1,
            sha256="0" * 64,
            state=int(state),
            state_reasons="job-hold-until-specified",
            created_at=stamp,
            updated_at=stamp,
        )
        session.add(job)
        session.commit()
        return job.id, job.uuid


def trail(store: Store) -> list[tuple[str, str, str, str, str]]:
    """(actor, action, subject, origin, detail), oldest first."""
    with store.session() as session:
        rows = reversed(audit.recent(session, 1000))
        return [(r.actor, r.action, r.subject, r.origin, r.detail) for r in rows]


def test_a_row_is_written_only_with_the_change_it_describes(store):
    with store.session() as session:
        audit.record(session, "alice", "job.cancel", "cli", "7")
        session.rollback()  # the change failed: neither it nor its row is kept
    with store.session() as session:
        audit.record(session, "alice", "job.cancel", "cli", "7", "x" * 5000)
        session.commit()
    assert [(a, act, s) for a, act, s, _, _ in trail(store)] == [("alice", "job.cancel", "7")]
    assert len(trail(store)[0][4]) == 1024


def test_the_servers_release_and_cancel_name_the_server_and_the_channel(store, tmp_path):
    _, released_uuid = add_job(store, "alice")
    _, canceled_uuid = add_job(store, "bob")
    printer = PrinterInfo(id=1, name="floor2", host="10.0.0.9", port=9100, protocol="raw")
    spool = Spool(tmp_path / "spool", tmp_path / "state")

    # Jobs are named by uuid, as the server names them: returned (for the bus) and in the trail.
    release = Release(job_ids=[released_uuid], printer=printer)
    assert commands.release(store, release) == [released_uuid]
    # replayed: nothing moves, nothing more in the trail
    assert commands.release(store, release) == []
    assert commands.cancel(store, spool, Cancel(job_ids=[canceled_uuid]), "x") == [canceled_uuid]

    assert trail(store) == [
        ("server", "job.release", released_uuid, "channel (server)", "at printer floor2 for alice"),
        (
            "server",
            "job.cancel",
            canceled_uuid,
            "channel (server)",
            "canceled on the server (bob, was pending-held)",
        ),
    ]


def test_retention_and_a_disabled_server_user_are_audited_as_such(store, tmp_path):
    _, old = add_job(store, "carol", age=7200)
    users.log_in(store, "custom", "carol-os", "carol")
    spool = Spool(tmp_path / "spool", tmp_path / "state")

    assert commands.expire_held(store, spool, time.time() - 3600) == [old]
    assert commands.log_out_user(store, "custom", "carol") == ["carol-os"]

    expired, logged_out = trail(store)
    assert expired[:4] == ("system", "job.cancel", str(old), "channel (retention)")
    assert "retention" in expired[4]
    assert logged_out == (
        "server",
        "user.logout",
        "carol-os",
        "channel (server)",
        "server user carol was disabled; nobody is logged in now: machine signed out",
    )
    assert users.signed_out(store)


def test_cli_release_reset_login_and_logout_are_audited(store, monkeypatch, tmp_path):
    for module in (cli_jobs, cli_account):
        monkeypatch.setattr(module, "wake", lambda settings, service: None)
        monkeypatch.setattr(module, "Store", lambda path: store)
    monkeypatch.setattr("getpass.getuser", lambda: "admin-os")
    settings = Settings.model_construct(login_type="os")
    with store.session() as session:
        session.add(Printer(name="desk", kind="direct", host="127.0.0.1", port=9100))
        session.commit()
    job, job_uuid = add_job(store, "dave")

    # The IPP job-id the user saw, as the command line passes it; the trail names the uuid.
    assert cli_jobs.cmd_release(argparse.Namespace(job=str(job), printer="desk"), settings) == 0
    assert cli_jobs.cmd_printer(argparse.Namespace(name="desk"), settings) == 0
    assert cli_account.cmd_logout(argparse.Namespace(os_user="dave"), settings) == 0
    login = argparse.Namespace(os_user="dave", user=None, password_stdin=False)
    assert cli_account.cmd_login(login, settings) == 0

    assert [(a, act, s, o) for a, act, s, o, _ in trail(store)] == [
        ("admin-os", "job.release", job_uuid, "cli"),
        ("admin-os", "printer.reset", "desk", "cli"),
        ("admin-os", "user.logout", "dave", "cli"),
        ("admin-os", "user.login", "dave", "cli"),
    ]


def test_a_config_change_names_keys_and_values_but_never_a_secret():
    detail = audit_routes.config_detail(
        {
            "sync_interval": (300, 120),
            "proxy": (None, "http://bob:hunter2@proxy.example.com:3128"),
            "api_token": ("old-SeCrEt-1", "new-SeCrEt-2"),
            "cups_server": ("a" * 20 + "1" * 20, None),  # a value that looks like a token
        }
    )

    assert "sync_interval: 300 -> 120" in detail
    assert "proxy: default -> 'http://***@proxy.example.com:3128'" in detail
    assert "api_token: changed (***)" in detail
    assert "cups_server: '***' -> default" in detail
    for secret in ("hunter2", "SeCrEt", "a" * 20):
        assert secret not in detail


def test_rows_leaving_the_machine_are_masked_again():
    row = {"id": 1, "detail": "token=abc123 from https://u:pw@h", "actor": "x" * 40 + "1"}
    assert audit_routes.masked(row) == {
        "id": 1,
        "detail": "token=*** from https://***@h",
        "actor": "***",
    }


def test_a_jobs_uuid_is_its_name_in_the_trail_not_a_secret():
    job_uuid = "0b4e7c9a-3f1d-4c55-9a0e-5d2f8e6b1a77"
    cancel = {"action": "job.cancel", "subject": job_uuid, "detail": "canceled on the server"}
    assert audit_routes.masked(cancel) == cancel
    # Only a job row's subject, and only a uuid: a token there, or elsewhere, is still masked.
    for row in (
        {"action": "job.cancel", "subject": "a" * 39 + "1"},
        {"action": "user.login", "subject": job_uuid},
    ):
        assert audit_routes.masked(row)["subject"] == "***"


def test_migration_4_adds_the_audit_table_to_a_version_3_store(tmp_path):
    path = tmp_path / "pullprint.db"
    conn = sqlite3.connect(path)
    conn.executescript(migrations.V1 + migrations.V2 + "PRAGMA user_version=2;")
    for statement in migrations.statements(migrations.V3):
        conn.execute(statement)
    conn.execute("PRAGMA user_version=3")
    conn.commit()
    conn.close()

    store = Store(path)
    with store.session() as session:
        audit.record(session, "root", "route.switch", "cli")
        session.commit()
        assert session.query(AuditEntry).count() == 1
    assert store.schema_version() == SCHEMA_VERSION  # and on through later steps
    store.dispose()


def test_the_servers_cancel_leaves_a_job_the_printer_already_has(store, tmp_path):
    """The server hears the truth later (completed), never "canceled" for a job that prints."""
    row, printing = add_job(store, "bob", JobState.PROCESSING)
    with store.session() as session:
        assert jobs.all_sent(session, row)
        session.commit()
    spool = Spool(tmp_path / "spool", tmp_path / "state")

    assert commands.cancel(store, spool, Cancel(job_ids=[printing]), "x") == []
    with store.session() as session:
        assert session.get(Job, row).state == JobState.PROCESSING
    assert trail(store) == []
