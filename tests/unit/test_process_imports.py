"""Each client process loads only the heavy libraries it uses (issue 23).

Every package below costs megabytes of RSS and tens of milliseconds of start-up in each process
that imports it, and the client runs five of them on every PC. Each entry module is imported in
a fresh interpreter, exactly as ``python -m services.<name>`` imports it before ``main()`` runs,
and the test names the heavy packages it must not have loaded. A library a process needs only
for a rare request (the spooler's identify-printer) is imported when that request comes, not at
start.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("fastapi", "starlette", "uvicorn", "httpx", "sqlalchemy", "pydantic", "cryptography")
WEB = {"fastapi", "starlette"}
SERVER = WEB | {"uvicorn"}

# entry module -> heavy packages it must not load (the rest it uses for its own work).
NOT_LOADED = {
    # An IPP server (uvicorn) that encrypts the spool: no HTTP client, no web framework.
    "services.spooler.__main__": WEB | {"httpx"},
    # Talks to the server over a WebSocket: serves nothing, and only deletes spool files.
    "services.channel.__main__": SERVER | {"cryptography"},
    "services.sync.__main__": SERVER | {"cryptography"},
    "services.delivery.__main__": SERVER,
    # The web API deletes spool files but never seals or opens one.
    "services.api.__main__": {"cryptography"},
}


def loaded(module: str) -> set[str]:
    """The heavy top-level packages a fresh interpreter holds after importing ``module``."""
    code = (
        f"import json, sys; import {module}; "
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(json.loads(out.stdout))


@pytest.mark.parametrize("module", sorted(NOT_LOADED))
def test_process_loads_only_what_it_uses(module: str) -> None:
    assert loaded(module) & NOT_LOADED[module] == set()


def test_the_api_still_loads_its_web_framework() -> None:
    """The check above would pass vacuously if the probe saw no packages at all."""
    assert loaded("services.api.__main__") >= SERVER
