"""Uploading a job to the server's TLS gateway (port 7300, DESIGN.md 8), primary then secondary.

The framing is ``protocol/gateway.py``'s: a length-prefixed msgpack header, exactly
``size`` document bytes, then one reply that the server sends only after its own fsync and
commit. Only an ``ok`` reply means the server has the job; anything else is retried or, when
retrying cannot help, ends the job with the server's reason.
"""

from __future__ import annotations

import asyncio
import ssl

from protocol.gateway import (
    MAX_REPLY_SIZE,
    ProtocolError,
    UploadHeader,
    decode_reply,
    encode_header,
    read_frame,
)
from services.core import endpoint, proxy
from services.delivery.transport import DeliveryError

DEFAULT_GATEWAY_PORT = 7300
# Reply codes after which sending the same job again cannot succeed.
FINAL_CODES = {
    "conflict",
    "unknown-port",
    "unknown-printer",
    "printer-not-allowed",
    "bad-header",
    "unsupported-version",
    "user-disabled",
}
# Gateways that refused a job's options as an unknown protocol version: a server older than
# this client (it speaks v2). Until this process restarts, jobs go there without their options
# (destination.py), and each job's trace says so: printing without options beats never
# printing while an organisation upgrades its clients before its servers.
OLDER_SERVERS: set[str] = set()


def parse_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    if not host:
        return address, DEFAULT_GATEWAY_PORT
    return host.strip("[]"), int(port)


class GatewayTransport:
    def __init__(
        self,
        addresses: list[str],
        tls: ssl.SSLContext,
        header: UploadHeader,
        connect_timeout: float,
        proxy_setting: str | None = None,
    ) -> None:
        self._addresses = addresses
        self._proxy = proxy_setting  # the ``proxy`` key; core/proxy.py decides per address
        self._tls = tls
        self._header = header
        self._timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self.address = ""

    async def open(self) -> None:
        """Connect to the first gateway that answers: the primary, else the secondary; through
        an HTTP CONNECT tunnel when a proxy applies to it (``proxy``, HTTPS_PROXY, NO_PROXY)."""
        await self._authenticate()
        errors = []
        for address in self._addresses:
            host, port = parse_address(address)
            try:
                self._reader, self._writer = await proxy.open_connection(
                    host, port, self._tls, self._proxy, self._timeout * 5
                )  # connect, the proxy's tunnel if one applies, and the TLS handshake
            except ssl.SSLCertVerificationError as exc:
                errors.append(f"{address}: certificate not trusted ({exc.verify_message})")
                continue
            except (OSError, TimeoutError) as exc:
                errors.append(f"{address}: {getattr(exc, 'strerror', None) or exc or 'timeout'}")
                continue
            self.address = address
            self._writer.write(encode_header(self._header))
            return
        raise DeliveryError("service-off-line", "no gateway reachable: " + "; ".join(errors))

    async def _authenticate(self, rejected: str | None = None) -> None:
        """Put a valid access token into the header (core/endpoint.py refreshes it when due,
        or after the gateway refused ``rejected``)."""
        try:
            token = await endpoint.current_access_token(rejected)
        except endpoint.Revoked as exc:
            raise DeliveryError("service-off-line", f"{exc}; waiting for authorization") from None
        if token:
            self._header = self._header.model_copy(update={"token": token})

    async def send(self, chunk: bytes) -> None:
        assert self._writer is not None
        try:
            self._writer.write(chunk)
            await self._writer.drain()
        except OSError as exc:
            raise DeliveryError(
                "service-off-line", f"{self.address}: upload broke: {exc}"
            ) from None

    async def finish(self) -> None:
        assert self._writer is not None and self._reader is not None
        try:
            await self._writer.drain()
            frame = await asyncio.wait_for(read_frame(self._reader, MAX_REPLY_SIZE), 120)
            reply = decode_reply(frame)
        except (OSError, TimeoutError, ProtocolError) as exc:
            raise DeliveryError(
                "service-off-line", f"{self.address}: no reply from the gateway ({exc})"
            ) from None
        finally:
            self.abort()
        if reply.code == "unsupported-version" and self._header.options is not None:
            OLDER_SERVERS.add(self.address)
            raise DeliveryError(
                "service-off-line",
                f"{self.address}: the server is older than this client and takes no job "
                "options; sending it again without them",
            )
        if reply.status != "ok" and reply.code == "unauthorized":
            # Refresh once now, so the retry that follows goes out with a fresh token.
            await self._authenticate(rejected=self._header.token)
        if reply.status != "ok":
            message = f"{self.address}: {reply.code} {reply.message}".strip()
            raise DeliveryError(
                "aborted-by-system" if reply.code in FINAL_CODES else "service-off-line",
                message,
                final=reply.code in FINAL_CODES,
            )

    def abort(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
