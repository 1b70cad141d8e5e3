"""Who is printing: the OS user the kernel names as the owner of the client's socket.

``requesting-user-name`` is what a client says about itself, so it is believed only from root
and from CUPS's backend user ``lp``, which print on behalf of the users of OS queues. Anyone
else prints, lists, cancels, holds and releases as their own OS user, whatever name they claim
(custom login then maps that OS user, as for everyone). A connection whose owner the kernel
will not name gets nothing (its socket is already closed, usually: the client went away).
"""

from __future__ import annotations

import asyncio
import pwd
from typing import Any

from services.core.ipp import IppError, Message, Status, Tag
from services.core.peer import peer_uid

# The users that may print for others: root, and CUPS's ipp backend runs as lp.
TRUSTED_USERS = ("root", "lp")


def _uid_of(name: str) -> int | None:
    try:
        return pwd.getpwnam(name).pw_uid
    except KeyError:
        return None


def _name_of(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return str(uid)  # a uid without a passwd entry still is somebody, never someone else


TRUSTED_UIDS = frozenset(uid for uid in map(_uid_of, TRUSTED_USERS) if uid is not None)


UNKNOWN = "?"  # not a user name: the kernel does not know this connection (any more)


def not_known() -> IppError:
    return IppError(Status.CLIENT_ERROR_NOT_AUTHORIZED, "cannot tell which user is printing")


async def os_user(scope: dict[str, Any]) -> str | None:
    """The OS user behind this HTTP connection, ``UNKNOWN``, or None when it may print for
    others (root, lp)."""
    return await connection_user(scope.get("client"), scope.get("server"))


async def connection_user(client: Any, server: Any) -> str | None:
    """The same for any loopback TCP connection, given its two (host, port) ends."""
    uid = None
    if client and server:
        uid = await asyncio.to_thread(peer_uid, client[0], client[1], server[0], server[1])
    if uid is None:
        return UNKNOWN
    return None if uid in TRUSTED_UIDS else _name_of(uid)


def act_as(request: Message, user: str | None) -> None:
    """Make the request the OS user's own: the name it claimed is replaced by theirs."""
    if user is not None:
        request.operation.add("requesting-user-name", Tag.NAME, user)
