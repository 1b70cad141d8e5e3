"""Administration: users, printers, input ports, endpoints and settings.

One function per operation, shared by `pullprint-server admin` and the admin REST routes, so
both behave the same. Functions take an open session and raise AdminError with a stable code.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from protocol import rest
from protocol.channel import PrinterInfo, UserDisabled
from server import auth, commands, notify, presence, tokens
from server.models import Endpoint, InputPort, Printer, Setting, User, UserSession, now


class AdminError(Exception):
    """`code` is one of not-found, conflict, invalid; the REST layer maps it to 404/409/422."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def add_user(session: Session, name: str, password: str) -> dict[str, Any]:
    if not name or not password:
        raise AdminError("invalid", "user name and password are required")
    if session.scalar(select(User).where(User.name == name)):
        raise AdminError("conflict", f"user {name!r} exists")
    user = User(name=name, password_hash=auth.hash_password(password))
    session.add(user)
    session.flush()
    return {"id": user.id, "name": user.name}


def list_users(session: Session) -> list[dict[str, Any]]:
    return [user_info(u) for u in session.scalars(select(User).order_by(User.id))]


def user_info(user: User) -> dict[str, Any]:
    return {"id": user.id, "name": user.name, "disabled": user.disabled}


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AdminError("not-found", f"no user {name!r}")
    return user


def disable_user(session: Session, name: str) -> dict[str, Any]:
    """The user's tokens end now; logins, releases and new jobs of theirs are refused; every
    authorized endpoint gets `user.disabled` and logs out the OS users printing as them."""
    user = _user(session, name)
    user.disabled = True
    session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    commands.broadcast(session, "user.disabled", UserDisabled(user=name).model_dump())
    return user_info(user)


def enable_user(session: Session, name: str) -> dict[str, Any]:
    """The user may log in again (endpoints do not log them back in by themselves)."""
    user = _user(session, name)
    user.disabled = False
    return user_info(user)


# What a raw printer's record says it can do (protocol.channel.PrinterInfo), and the same
# with the record's defaults, for a printer added without them.
RAW_FIELDS = ("color", "duplex", "media", "media_default", "resolution", "pjl")


def add_printer(
    session: Session,
    name: str,
    host: str,
    port: int,
    protocol_: str,
    path: str = "",
    **facts: Any,
) -> dict[str, Any]:
    """``facts`` are any of ``RAW_FIELDS`` (colour, duplex ...); the rest keep their defaults."""
    if protocol_ not in ("raw", "ipp", "ipps"):
        raise AdminError("invalid", "protocol must be raw, ipp or ipps")
    if not name or not host or not 0 < port < 65536:
        raise AdminError("invalid", "printer needs a name, a host and a port in 1..65535")
    if session.scalar(select(Printer).where(Printer.name == name)):
        raise AdminError("conflict", f"printer {name!r} exists")
    printer = Printer(name=name, host=host, port=port, protocol=protocol_, path=path)
    _set_facts(printer, facts)
    session.add(printer)
    session.flush()
    commands.broadcast(session, "printers.changed", {})
    return commands.printer_info(printer).model_dump()


def set_printer(session: Session, name: str, **facts: Any) -> dict[str, Any]:
    """Change what a printer's record says it can do (``RAW_FIELDS``; None = unchanged).
    Endpoints present it on the printer's ports from their next sync."""
    printer = session.scalar(select(Printer).where(Printer.name == name))
    if printer is None:
        raise AdminError("not-found", f"no printer {name!r}")
    _set_facts(printer, {k: v for k, v in facts.items() if v is not None})
    commands.broadcast(session, "printers.changed", {})
    return commands.printer_info(printer).model_dump()


def _set_facts(printer: Printer, facts: dict[str, Any]) -> None:
    """Check ``facts`` together with what the record already says, as the wire will carry
    them, and only then change the row: a bad value changes nothing."""
    unknown = set(facts) - set(RAW_FIELDS)
    if unknown:
        raise AdminError("invalid", f"unknown printer field(s): {', '.join(sorted(unknown))}")
    current = {f: getattr(printer, f) for f in RAW_FIELDS if getattr(printer, f) is not None}
    merged = current | facts
    try:
        info = PrinterInfo(id=0, name="-", host="-", port=1, protocol="raw", **merged)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise AdminError("invalid", problems) from None
    if info.media_default and info.media and info.media_default not in info.media:
        raise AdminError("invalid", "media_default must be one of the printer's media")
    for field in RAW_FIELDS:
        setattr(printer, field, getattr(info, field))


def list_printers(session: Session) -> list[dict[str, Any]]:
    printers = session.scalars(select(Printer).order_by(Printer.id))
    return [commands.printer_info(p).model_dump() for p in printers]


def can_do(printer: dict[str, Any]) -> str:
    """What a raw printer's record says it can do; an IPP printer is asked by each endpoint."""
    if printer["protocol"] != "raw":
        return "asked of the printer"
    media = printer["media"] or ["A4", "Letter"]
    words = ["colour" if printer["color"] else "monochrome"]
    words += ["duplex"] if printer["duplex"] else []
    words += [", ".join(media), f"{printer['resolution']} dpi"]
    words += ["PJL"] if printer["pjl"] else []
    return "; ".join(words)


def _printers_named(session: Session, names: list[str]) -> list[Printer]:
    found = list(session.scalars(select(Printer).where(Printer.name.in_(names))))
    missing = set(names) - {p.name for p in found}
    if missing:
        raise AdminError("not-found", f"unknown printer(s): {', '.join(sorted(missing))}")
    return found


def add_port(session: Session, name: str, kind: str, printers: list[str]) -> dict[str, Any]:
    """A pull port lists the printers its jobs may be released at (none = any printer);
    a direct port names exactly one target printer."""
    if kind not in ("pull", "direct"):
        raise AdminError("invalid", "kind must be pull or direct")
    if kind == "direct" and len(printers) != 1:
        raise AdminError("invalid", "a direct port needs exactly one target printer")
    if session.scalar(select(InputPort).where(InputPort.name == name)):
        raise AdminError("conflict", f"input port {name!r} exists")
    chosen = _printers_named(session, printers)
    port = InputPort(name=name, kind=kind)
    if kind == "direct":
        port.target = chosen[0]
    else:
        port.printers = chosen
    session.add(port)
    session.flush()
    commands.broadcast(session, "printers.changed", {})
    return port_info(port).model_dump()


def remove_port(session: Session, port_id: int) -> dict[str, Any]:
    """Endpoints drop the port (and its OS queue) on their next sync; jobs keep their history
    (their port becomes NULL)."""
    port = session.get(InputPort, port_id)
    if port is None:
        raise AdminError("not-found", f"no input port {port_id}")
    info = port_info(port).model_dump()
    session.delete(port)
    session.flush()
    commands.broadcast(session, "printers.changed", {})
    return info


def port_info(port: InputPort) -> rest.InputPort:
    return rest.InputPort(
        id=port.id,
        name=port.name,
        kind=port.kind,  # type: ignore[arg-type]
        printers=[commands.printer_info(p) for p in port.printers],
        target=commands.printer_info(port.target) if port.target else None,
    )


def list_ports(session: Session) -> list[rest.InputPort]:
    return [port_info(p) for p in session.scalars(select(InputPort).order_by(InputPort.id))]


def endpoint_info(endpoint: Endpoint, online: bool) -> dict[str, Any]:
    """`online`: a server process with a live lease holds its channel (presence.py)."""
    return {
        "id": endpoint.id,
        "hostname": endpoint.hostname,
        "os": endpoint.os,
        "version": endpoint.version,
        "state": endpoint.state,
        "token_issued": endpoint.credentials_issued_at is not None,
        "created_at": endpoint.created_at,
        "last_seen_at": endpoint.last_seen_at,
        "online": online,
    }


def list_endpoints(session: Session) -> list[dict[str, Any]]:
    online = presence.online_ids(session)
    endpoints = session.scalars(select(Endpoint).order_by(Endpoint.id))
    return [endpoint_info(e, e.id in online) for e in endpoints]


def _endpoint(session: Session, endpoint_id: int) -> Endpoint:
    endpoint = session.get(Endpoint, endpoint_id)
    if endpoint is None:
        raise AdminError("not-found", f"no endpoint {endpoint_id}")
    return endpoint


def authorize_endpoint(session: Session, endpoint_id: int) -> dict[str, Any]:
    """Allow the endpoint's next token poll to receive a token. A revoked endpoint stays
    revoked: it must register again, so a stolen registration secret is not enough."""
    endpoint = _endpoint(session, endpoint_id)
    if endpoint.state == "revoked":
        raise AdminError("conflict", f"endpoint {endpoint_id} was revoked; it must register again")
    if endpoint.state == "pending":
        endpoint.state = "authorized"
        endpoint.authorized_at = now()
    return endpoint_info(endpoint, presence.is_online(session, endpoint))


def revoke_endpoint(session: Session, endpoint_id: int) -> dict[str, Any]:
    endpoint = _endpoint(session, endpoint_id)
    endpoint.state = "revoked"
    tokens.revoke_all(session, endpoint_id)  # access and refresh tokens, at once
    notify.endpoint_changed(session, endpoint_id)  # closes its channel in whichever process
    return endpoint_info(endpoint, presence.is_online(session, endpoint))


def get_settings(session: Session) -> dict[str, Any]:
    return {s.key: s.value for s in session.scalars(select(Setting))}


def set_setting(session: Session, key: str, value: Any) -> dict[str, Any]:
    if not key or len(key) > 64:
        raise AdminError("invalid", "setting keys are 1..64 characters")
    session.merge(Setting(key=key, value=value))
    session.flush()
    settings = get_settings(session)
    commands.broadcast(session, "config.changed", {"config": settings})
    return settings
