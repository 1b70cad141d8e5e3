"""The pullprint reference cloud server.

Run: `pullprint-server run --data DIR --dev-tls` (or `--cert F --key F`); administer with
`pullprint-server admin --data DIR ...`. Wire formats: the protocol package, described in
docs/protocol.md. Where things live:

- cli.py          the two commands; app.py wires one process (uvicorn + gateway + workers)
- models.py       tables; alembic/ their migrations; store.py engine, sessions, migrate()
- auth.py         passwords (argon2id), tokens (sha256 at rest), the admin token file
- access.py       who is calling (admin / endpoint / user) for routes and pages
- tokens.py       endpoint credentials; user_tokens.py user sessions (both: access + refresh)
- api.py          REST for endpoints and users; admin_api.py the admin REST routes
- admin.py        admin operations shared by the CLI and admin_api.py
- channel.py      the WebSocket channel; commands.py the command queue it sends from
- notify.py       PostgreSQL LISTEN/NOTIFY between server processes
- gateway.py      the TLS upload listener (7300); documents.py where documents live
- release.py      release and cancel; jobs.py the job state transitions (compare-and-set)
- accounting.py   what endpoints report about their jobs; job history
- output.py       Document Output (raw TCP, IPP via ipp.py); retention.py held-job expiry
- pages.py        My profile and the admin overview; tls.py certificates; logs.py log lines
"""
