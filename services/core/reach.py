"""What went wrong reaching the server, in words an admin can act on.

httpx's own text is often no help ("All connection attempts failed" for a refused port, or
"CERTIFICATE_VERIFY_FAILED" with no hint of what to change), so the cause is looked for in the
exception's chain: a refusal, a name that does not resolve, a silence, a certificate we
refused. The channel, sync, the facade's login and the CLI all say it the same way.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from pathlib import Path

import httpx

from services.core.config import config_path

# OpenSSL verify results meaning "signed by a CA we were not given" (x509_vfy.h): a self-signed
# certificate, one in the chain, an unknown issuer, a leaf that cannot be verified.
UNKNOWN_ISSUER = {18, 19, 20, 21}


def failure_at(url: str, exc: BaseException, ca_file: Path | None = None) -> str:
    """``cannot reach https://print.example:8443: connection refused``."""
    return f"cannot reach {url}: {failure(exc, ca_file)}"


def failure(exc: BaseException, ca_file: Path | None = None) -> str:
    """What happened, without the URL (for callers that show the URL beside it)."""
    if isinstance(exc, httpx.HTTPStatusError):
        return f"HTTP {exc.response.status_code} from {exc.request.url.path}"
    for cause in _chain(exc):
        if isinstance(cause, ssl.SSLCertVerificationError):
            return _untrusted(cause, ca_file)
        if isinstance(cause, ConnectionRefusedError):
            return "connection refused (is the server running, and is the port right?)"
        if isinstance(cause, socket.gaierror):
            return f"the host name does not resolve ({cause.strerror})"
        if isinstance(cause, httpx.TimeoutException | TimeoutError):
            return "no answer in time"
    text = str(exc) or exc.__class__.__name__
    return text[:300]


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: BaseException | None = exc
    while seen is not None:
        yield seen
        if isinstance(seen, BaseExceptionGroup) and len(seen.exceptions) == 1:
            seen = seen.exceptions[0]
        else:
            seen = seen.__cause__ or seen.__context__


def _untrusted(exc: ssl.SSLCertVerificationError, ca_file: Path | None) -> str:
    """What to do about a server certificate we refused, with OpenSSL's reason."""
    why = f"CERTIFICATE_VERIFY_FAILED: {exc.verify_message}"
    if exc.verify_code not in UNKNOWN_ISSUER:
        return f"the server's certificate was refused ({why})"
    where = f"set ca_file in {config_path()} to the CA that signed it"
    if ca_file is not None:
        where += f" ({ca_file} is not that CA)"
    return f"the server's certificate is not trusted ({why}): {where}"
