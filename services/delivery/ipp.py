"""IPP delivery: Print-Job to a printer's IPP endpoint, the document streamed from the spool.

The same four steps as every transport (``open``, ``send``, ``finish``, ``abort``). HTTP wants
the body as one iterator, so ``send`` feeds a small bounded queue that the request body reads
from: the queue is the back-pressure that keeps memory flat however large the job.

Before the job, the printer is asked for its state: a stopped printer gets nothing (see
``printer_status``). After it took the job, it is asked again, for the trace.

The job's options go as job attributes. In the same question as its state, the printer is
asked what it offers for them: what it does not offer is left out and named (``not_honoured``)
rather than sent, since a printer may refuse a whole job for one value (ippeveprinter does);
what it then ignores or substitutes itself is named too.

The same answer says whether it offers IPPS; then the job goes over TLS, trusting only the
printer's pinned certificate (``ipps.py``, ``services/core/pinning.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping

import httpx

from services.core import ipp, options, pinning
from services.core.ipp import Attribute, Group, NeedMore, Operation, Status, Tag
from services.core.pinning import Pinned
from services.core.store import Store
from services.delivery import ipps, printer_status
from services.delivery.printer_status import PrinterStatus, PrinterStopped, StatusUnavailable
from services.delivery.transport import DeliveryError

QUEUE_CHUNKS = 4
# Get-Printer-Attributes is small: a printer that takes longer than this to say how it is
# is not in a state to print.
STATUS_TIMEOUT = 10.0
# The options we honour ourselves before delivery: never to be told to a printer.
OURS = frozenset({"job-hold-until"})
# What the printer is asked of a media-col besides media-col-supported.
MEDIA_COL = ("media-size-supported", "media-source-supported", "media-type-supported")
# IPP statuses after which sending the same job again cannot succeed.
FINAL_STATUSES = {
    Status.CLIENT_ERROR_DOCUMENT_FORMAT_NOT_SUPPORTED: "unsupported-document-format",
    Status.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE: "aborted-by-system",
    Status.CLIENT_ERROR_ATTRIBUTES_OR_VALUES_NOT_SUPPORTED: "aborted-by-system",
    Status.CLIENT_ERROR_BAD_REQUEST: "aborted-by-system",
}


class IppTransport:
    def __init__(
        self,
        host: str,
        port: int,
        path: str,
        connect_timeout: float,
        *,
        owner: str,
        name: str,
        document_format: str,
        size: int,
        pins: Store,
        protocol: str = "ipp",
        job_options: Mapping[str, Attribute] | None = None,
    ) -> None:
        self.uri = f"ipp://{host}:{port}{path or '/ipp/print'}"
        self._url = f"http://{host}:{port}{path or '/ipp/print'}"
        self._where = (host, port, path or "/ipp/print")
        self._pins, self._protocol = pins, protocol
        self._connect_timeout = connect_timeout
        self.secured: Pinned | None = None  # the pinned trust, when the job went over IPPS
        self.plain_because = ""  # why a printer that offers IPPS got the job in plain
        self._timeout = httpx.Timeout(60.0, connect=connect_timeout)
        self._status_timeout = httpx.Timeout(STATUS_TIMEOUT, connect=connect_timeout)
        self.after: PrinterStatus | None = None  # what the printer said once it had the job
        self._options = {n: a for n, a in (job_options or {}).items() if n not in OURS}
        self.not_honoured: list[str] = []  # options the printer did not get as asked
        self._request = ipp.request(Operation.PRINT_JOB)
        op = self._request.operation
        op.add("printer-uri", Tag.URI, self.uri)
        op.add("requesting-user-name", Tag.NAME, owner)
        op.add("job-name", Tag.NAME, name)
        op.add("document-format", Tag.MIME_TYPE, document_format)
        self._size = size
        self._header = b""
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_CHUNKS)
        self._task: asyncio.Task[httpx.Response] | None = None
        self._client: httpx.AsyncClient | None = None

    async def open(self) -> None:
        try:
            before = await self._connect()
        except StatusUnavailable as exc:
            await self._close()
            raise DeliveryError("printer-stopped", str(exc)) from None
        except DeliveryError:
            await self._close()
            raise
        if before is not None and before.stopped:
            await self._close()
            raise PrinterStopped(self.uri, before)
        assert self._client is not None
        self._header = ipp.encode(self._with_options(before))
        length = len(self._header) + self._size
        self._task = asyncio.create_task(
            self._client.post(
                self._url,
                content=self._body(),
                headers={"Content-Type": "application/ipp", "Content-Length": str(length)},
            )
        )

    def _with_options(self, status: PrinterStatus | None) -> ipp.Message:
        """The Print-Job request with the options the printer offers (all of them when it
        did not say what it offers: it judges them itself)."""
        wanted = self._options
        if status is not None and wanted:
            wanted, refused = options.split(wanted, status.offered)
            self.not_honoured += [f"{options.describe(a)} (not offered)" for a in refused.values()]
        if wanted:
            self._request.groups.append(Group(Tag.JOB, dict(wanted)))
        return self._request

    def _asked(self) -> list[str]:
        """The attributes that say what the printer offers for this job's options."""
        names = [f"{n}-supported" for n in self._options]
        return names + list(MEDIA_COL) if "media-col" in self._options else names

    async def _connect(self) -> PrinterStatus | None:
        """The client the job goes over, and the printer's status. IPPS where the record says
        so or a certificate is pinned (asked over TLS only); else the status in plain says
        whether the printer offers IPPS, and the job goes there if it does (ipps.py)."""
        host, port, path = self._where
        pinned = await pinning.pinned_addresses(self._pins, host)
        if pinning.tls_port(self._protocol, host, port, pinned) == port:  # ipps, or pinned here
            await self._secure(host, port, path)
            return await self._status()
        # Printers are on the local network: never through HTTP(S)_PROXY.
        self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        before = await self._status()
        if before is not None and before.ipps:
            secure_port, secure_path = ipps.offered(before.ipps, port, path)
            if pinned and f"{host}:{secure_port}" not in pinned:
                raise ipps.moved(host, pinned, secure_port)
            await self._close()
            try:
                await self._secure(host, secure_port, secure_path)
            except ipps.NoTls as exc:
                if pinned:
                    raise
                self.plain_because = f"its IPPS did not complete a handshake ({exc.why})"
                self._client = httpx.AsyncClient(timeout=self._timeout, trust_env=False)
        elif pinned:
            raise ipps.downgrade(host, pinned)
        return before

    async def _secure(self, host: str, port: int, path: str) -> None:
        """A client that trusts exactly the printer's pinned certificate (first use pins it);
        the job's printer-uri becomes the ipps one."""
        self.secured = await ipps.trust(self._pins, host, port, self._connect_timeout)
        self.uri, self._url = f"ipps://{host}:{port}{path}", f"https://{host}:{port}{path}"
        self._request.operation.add("printer-uri", Tag.URI, self.uri)
        self._client = httpx.AsyncClient(
            timeout=self._timeout, verify=self.secured.context, trust_env=False
        )

    async def _body(self) -> AsyncIterator[bytes]:
        yield self._header
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    async def send(self, chunk: bytes) -> None:
        assert self._task is not None
        if self._task.done():  # the printer answered (or failed) before taking everything
            await self._result()
            raise DeliveryError("printer-stopped", f"{self.uri}: closed before the end")
        put = asyncio.ensure_future(self._queue.put(chunk))
        await asyncio.wait({put, self._task}, return_when=asyncio.FIRST_COMPLETED)
        if not put.done():
            put.cancel()
            await self._result()
            raise DeliveryError("printer-stopped", f"{self.uri}: closed before the end")

    async def finish(self) -> None:
        assert self._task is not None
        if not self._task.done():
            await self._queue.put(None)
        try:
            reply = await self._result()
            ignored = _check(self.uri, reply.content)
            self.not_honoured += [
                f"{options.describe(a)} (ignored or substituted by the printer)" for a in ignored
            ]
            # The job is the printer's now; what it says next is news for the trace only.
            with contextlib.suppress(StatusUnavailable):
                self.after = await self._status()
        finally:
            await self._close()

    async def _status(self) -> PrinterStatus | None:
        assert self._client is not None
        return await printer_status.query(
            self._client, self._url, self.uri, timeout=self._status_timeout, also=self._asked()
        )

    async def _result(self) -> httpx.Response:
        assert self._task is not None
        try:
            reply = await self._task
        except httpx.TimeoutException:
            raise DeliveryError("printer-stopped", f"{self.uri}: timed out") from None
        except httpx.HTTPError as exc:
            raise DeliveryError("printer-stopped", f"{self.uri}: {exc}") from None
        if reply.status_code != 200:
            raise DeliveryError("printer-stopped", f"{self.uri}: HTTP {reply.status_code}")
        return reply

    def abort(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        if self._client is not None:
            client, self._client = self._client, None
            with contextlib.suppress(RuntimeError):
                asyncio.get_running_loop().create_task(client.aclose())

    async def _close(self) -> None:
        if self._client is not None:
            client, self._client = self._client, None
            await client.aclose()


def _check(uri: str, content: bytes) -> list[Attribute]:
    """Turn the printer's IPP status into success, a retry, or a final failure; on success,
    what it said it ignored or substituted (its unsupported-attributes group)."""
    try:
        reply, _ = ipp.parse(content)
    except (NeedMore, ipp.IppError):
        raise DeliveryError("printer-stopped", f"{uri}: not an IPP response") from None
    if reply.code < 0x0100:
        unsupported = reply.group(Tag.UNSUPPORTED_GROUP)
        return list(unsupported.attributes.values()) if unsupported else []
    message = reply.operation.get("status-message", "")
    try:
        status = Status(reply.code)
        keyword = status.keyword
    except ValueError:
        status, keyword = None, f"status {reply.code:#06x}"
    if status in FINAL_STATUSES:
        raise DeliveryError(FINAL_STATUSES[status], f"{uri}: {keyword} {message}", final=True)
    raise DeliveryError("printer-stopped", f"{uri}: {keyword} {message}".strip())
