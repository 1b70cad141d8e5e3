"""Schema migrations of the client store: explicit, versioned, append only.

Each step is the SQL of one schema version, written out rather than derived from the current
models, so a store created by any release upgrades through exactly the same steps. The version
lives in SQLite's ``PRAGMA user_version``; ``Store`` applies the missing steps on open.
"""

from __future__ import annotations

import sqlite3

V1 = """
CREATE TABLE jobs (
    id INTEGER NOT NULL PRIMARY KEY,
    uuid VARCHAR(36) NOT NULL UNIQUE,
    printer VARCHAR(127) NOT NULL,
    owner VARCHAR(255) NOT NULL,
    name VARCHAR(255) NOT NULL,
    format VARCHAR(127) NOT NULL,
    size INTEGER NOT NULL,
    sha256 VARCHAR(64) NOT NULL,
    impressions INTEGER,
    state INTEGER NOT NULL,
    state_reasons VARCHAR(255) NOT NULL,
    state_message VARCHAR(1024) NOT NULL,
    attempts INTEGER NOT NULL,
    next_attempt_at FLOAT NOT NULL,
    route VARCHAR(32),
    created_at FLOAT NOT NULL,
    updated_at FLOAT NOT NULL,
    completed_at FLOAT
);
CREATE INDEX ix_jobs_state ON jobs (state);
CREATE INDEX ix_jobs_printer ON jobs (printer);
CREATE TABLE outbox (
    id INTEGER NOT NULL PRIMARY KEY,
    "key" VARCHAR(128) NOT NULL UNIQUE,
    type VARCHAR(64) NOT NULL,
    body VARCHAR NOT NULL,
    created_at FLOAT NOT NULL,
    sent_at FLOAT
);
CREATE TABLE printers (
    name VARCHAR(127) NOT NULL PRIMARY KEY,
    kind VARCHAR(16) NOT NULL,
    host VARCHAR(255) NOT NULL,
    port INTEGER NOT NULL,
    protocol VARCHAR(16) NOT NULL,
    path VARCHAR(255) NOT NULL,
    source VARCHAR(16) NOT NULL
);
"""

# Local storage mode: where a released job goes, whether the server knows the job, the
# server's id of each input port, and small runtime state (the delivery route switch).
V2 = """
ALTER TABLE jobs ADD COLUMN target TEXT;
ALTER TABLE jobs ADD COLUMN reported INTEGER NOT NULL DEFAULT 0;
ALTER TABLE printers ADD COLUMN server_id INTEGER;
CREATE TABLE state (
    "key" VARCHAR(64) NOT NULL PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE INDEX ix_outbox_sent ON outbox (sent_at);
"""

# The job trace (issue #12): one row per thing that happened to a job, written in the same
# transaction as the change it describes (core/jobs.py). The trigger writes the first rows when
# the job row is inserted, so every way a job comes in (IPP, raw capture, Create-Job) starts its
# trace in the very commit that stores it, without the spooler having to remember to.
V3 = """
CREATE TABLE job_events (
    id INTEGER NOT NULL PRIMARY KEY,
    job_id INTEGER NOT NULL REFERENCES jobs (id),
    at FLOAT NOT NULL,
    event VARCHAR(32) NOT NULL,
    detail VARCHAR(1024) NOT NULL
);
CREATE INDEX ix_job_events_job ON job_events (job_id, id);
CREATE TRIGGER job_events_on_insert AFTER INSERT ON jobs
BEGIN
    INSERT INTO job_events (job_id, at, event, detail) VALUES (
        NEW.id, NEW.created_at, 'captured',
        'on ' || NEW.printer || ' from ' || NEW.owner || ': ' || quote(NEW.name)
        || CASE WHEN NEW.state_reasons = 'job-incoming'
                THEN ' (Create-Job; the document follows)'
                ELSE ', ' || NEW.size || ' bytes ' || NEW.format END
    );
    INSERT INTO job_events (job_id, at, event, detail)
    SELECT NEW.id, NEW.created_at, 'stored',
           'document and job committed to disk (sha256 ' || substr(NEW.sha256, 1, 12) || '...)'
    WHERE NEW.state_reasons != 'job-incoming';
    INSERT INTO job_events (job_id, at, event, detail)
    SELECT NEW.id, NEW.created_at, 'held', 'waiting for release at a printer'
    WHERE NEW.state = 4 AND NEW.state_reasons != 'job-incoming';
END;
"""

# The audit trail (issue #11): who changed what on this machine, when and from where (releases,
# cancels, logins, logouts, configuration, mode and route changes, printer resets). Append only:
# nothing updates or deletes a row. Written by core/audit.py in the transaction of the change.
V4 = """
CREATE TABLE audit (
    id INTEGER NOT NULL PRIMARY KEY,
    at FLOAT NOT NULL,
    actor VARCHAR(255) NOT NULL,
    action VARCHAR(64) NOT NULL,
    subject VARCHAR(255) NOT NULL,
    origin VARCHAR(255) NOT NULL,
    detail VARCHAR(1024) NOT NULL
);
CREATE INDEX ix_audit_at ON audit (at);
"""

# Print options (issue 21): what each port's printer can do (core/capabilities.py JSON, and
# when it was read), a job's job-template attributes as accepted (JSON, same encoding), and the
# certificate each IPPS printer showed first (pinned on first use).
V5 = """
ALTER TABLE printers ADD COLUMN capabilities TEXT;
ALTER TABLE printers ADD COLUMN capabilities_at FLOAT;
ALTER TABLE jobs ADD COLUMN options TEXT;
CREATE TABLE pins (
    address VARCHAR(300) NOT NULL PRIMARY KEY,
    sha256 VARCHAR(64) NOT NULL,
    first_seen FLOAT NOT NULL
);
"""

STEPS: list[str] = [V1, V2, V3, V4, V5]


def statements(step: str) -> list[str]:
    """The statements of one step. Split at each ``;`` that ends a complete statement, so a
    trigger's body (whose statements end in ``;`` too) stays one statement."""
    out, pending = [], ""
    for piece in step.split(";"):
        pending += piece + ";"
        if sqlite3.complete_statement(pending):
            if pending.strip(" \n;"):
                out.append(pending.strip())
            pending = ""
    if pending.strip(" \n;"):
        out.append(pending.strip())
    return out
