"""`pullprint-server admin --data DIR OBJECT ACTION ...`: one function per subcommand.

Each command works directly on the database through admin.py (the same functions as the
admin REST API), in one transaction, and prints its result as JSON. Its docstring is its help.
A running server picks the effects up at once on PostgreSQL (NOTIFY) or on its next channel
tick on SQLite.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from protocol.rest import PROFILE_FIELDS
from server import admin, admin_secret, audit, profiles
from server.store import Store, default_url, make_data_dir

Handler = Callable[[Session, argparse.Namespace], Any]
Argument = tuple[tuple[str, ...], dict[str, Any]]
COMMANDS: dict[tuple[str, str], tuple[Handler, list[Argument]]] = {}


def arg(*names: str, **options: Any) -> Argument:
    return names, options


def command(obj: str, action: str, *arguments: Argument) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        COMMANDS[(obj, action)] = (handler, list(arguments))
        return handler

    return register


def _password(args: argparse.Namespace) -> str:
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password is not None:
        return args.password
    return getpass.getpass(f"Password for {args.name}: ")


@command(
    "user", "add", arg("name"),
    arg("--password", help="visible in the process list; prefer the prompt or stdin"),
    arg("--password-stdin", action="store_true", help="read the password from stdin"),
)  # fmt: skip
def user_add(session: Session, args: argparse.Namespace) -> Any:
    """Create a user (the password is prompted for unless given)."""
    return admin.add_user(session, args.name, _password(args))


@command("user", "list")
def user_list(session: Session, args: argparse.Namespace) -> Any:
    """List users."""
    return admin.list_users(session)


@command("user", "disable", arg("name"))
def user_disable(session: Session, args: argparse.Namespace) -> Any:
    """Disable a user: their tokens end, logins, releases and new jobs are refused, and every
    endpoint logs out the OS users printing as them."""
    return admin.disable_user(session, args.name)


@command("user", "enable", arg("name"))
def user_enable(session: Session, args: argparse.Namespace) -> Any:
    """Enable a disabled user again."""
    return admin.enable_user(session, args.name)


# What a raw printer can do (it cannot be asked); unset options keep the record's values.
PRINTER_FACTS = [
    arg("--color", action=argparse.BooleanOptionalAction, help="prints colour"),
    arg("--duplex", action=argparse.BooleanOptionalAction, help="prints both sides"),
    arg("--media", action="append", help="paper, e.g. iso_a4_210x297mm; may repeat "
        "(none = A4 and Letter)"),
    arg("--media-default", help="the paper used when a job names none"),
    arg("--resolution", type=int, help="dots per inch (default 600)"),
    arg("--pjl", action=argparse.BooleanOptionalAction,
        help="reads a PJL job header (copies, duplex, colour, paper per job)"),
]  # fmt: skip


def _facts(args: argparse.Namespace) -> dict[str, Any]:
    return {f: getattr(args, f) for f in admin.RAW_FIELDS if getattr(args, f) is not None}


@command(
    "printer", "add", arg("name"), arg("--host", required=True),
    arg("--port", type=int, required=True),
    arg("--protocol", choices=["raw", "ipp", "ipps"], required=True),
    arg("--path", default="", help="IPP resource, e.g. /ipp/print"),
    *PRINTER_FACTS,
)  # fmt: skip
def printer_add(session: Session, args: argparse.Namespace) -> Any:
    """Add a printer that pull ports can release to and direct ports can target; for a raw
    printer, say what it can do (an IPP printer is asked)."""
    return admin.add_printer(
        session, args.name, args.host, args.port, args.protocol, args.path, **_facts(args)
    )


@command("printer", "set", arg("name"), *PRINTER_FACTS)
def printer_set(session: Session, args: argparse.Namespace) -> Any:
    """Change what a printer's record says it can do (colour, duplex, paper, resolution,
    PJL); endpoints present it from their next sync."""
    return admin.set_printer(session, args.name, **_facts(args))


@command("printer", "list")
def printer_list(session: Session, args: argparse.Namespace) -> Any:
    """List printers."""
    return admin.list_printers(session)


@command(
    "port", "add", arg("name"), arg("--kind", choices=["pull", "direct"], required=True),
    arg("--printer", action="append", default=[], help="printer name; may repeat for pull"),
)  # fmt: skip
def port_add(session: Session, args: argparse.Namespace) -> Any:
    """Add an input port: pull (released at its printers; none listed = any) or direct
    (exactly one target printer)."""
    return admin.add_port(session, args.name, args.kind, args.printer)


@command("port", "list")
def port_list(session: Session, args: argparse.Namespace) -> Any:
    """List input ports with their printers."""
    return [p.model_dump() for p in admin.list_ports(session)]


@command("port", "remove", arg("id", type=int))
def port_remove(session: Session, args: argparse.Namespace) -> Any:
    """Remove an input port; endpoints remove its OS queue on their next sync."""
    return admin.remove_port(session, args.id)


@command("endpoint", "list")
def endpoint_list(session: Session, args: argparse.Namespace) -> Any:
    """List endpoints (client machines) and their state."""
    return admin.list_endpoints(session)


@command("endpoint", "authorize", arg("id", type=int))
def endpoint_authorize(session: Session, args: argparse.Namespace) -> Any:
    """Authorize a pending endpoint; its next token poll receives its token."""
    return admin.authorize_endpoint(session, args.id)


@command("endpoint", "revoke", arg("id", type=int))
def endpoint_revoke(session: Session, args: argparse.Namespace) -> Any:
    """Revoke an endpoint: its token stops working and its channel is closed."""
    return admin.revoke_endpoint(session, args.id)


@command("setting", "list")
def setting_list(session: Session, args: argparse.Namespace) -> Any:
    """List the settings handed to endpoints."""
    return admin.get_settings(session)


@command("setting", "set", arg("key"), arg("value", help="JSON, e.g. 3600 or '\"text\"'"))
def setting_set(session: Session, args: argparse.Namespace) -> Any:
    """Set one setting; endpoints receive config.changed."""
    try:
        value = json.loads(args.value)
    except json.JSONDecodeError as exc:
        raise admin.AdminError("invalid", f"value is not JSON: {exc}") from exc
    return audit.set_setting(session, args.who, args.key, value)  # its row says old -> new


# --- configuration profiles ----------------------------------------------------------------

SETTING_HELP = (
    "KEY=VALUE, may repeat; keys: " + ", ".join(PROFILE_FIELDS) + "; VALUE is JSON "
    "(300, false, '\"debug\"') or a bare word (debug); an empty VALUE clears the key"
)


def _settings(pairs: list[str]) -> dict[str, Any]:
    settings: dict[str, Any] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise admin.AdminError("invalid", f"{pair!r} is not KEY=VALUE")
        if text == "":
            settings[key] = None
            continue
        try:
            settings[key] = json.loads(text)
        except json.JSONDecodeError:
            settings[key] = text  # a bare word: debug, a4, monochrome
    return settings


def _target(args: argparse.Namespace) -> dict[str, Any]:
    return {"user": args.user, "group": args.group, "default": args.default}


TARGET = (
    arg("--user", help="a user name"),
    arg("--group", help="a group name"),
    arg("--default", action="store_true", help="everyone without a user or group profile"),
)


@command("profile", "list")
def profile_list(session: Session, args: argparse.Namespace) -> Any:
    """List configuration profiles with their settings and assignments."""
    return profiles.list_profiles(session)


@command(
    "profile", "add", arg("name"), arg("--set", action="append", default=[], help=SETTING_HELP)
)  # fmt: skip
def profile_add(session: Session, args: argparse.Namespace) -> Any:
    """Create a configuration profile (assigned to nobody yet)."""
    return profiles.add_profile(session, args.name, _settings(args.set))


@command(
    "profile", "update", arg("name"),
    arg("--set", action="append", default=[], help=SETTING_HELP),
)  # fmt: skip
def profile_update(session: Session, args: argparse.Namespace) -> Any:
    """Change settings of a profile; the endpoints it applies to receive config.changed."""
    return profiles.update_profile(session, args.name, _settings(args.set))


@command("profile", "delete", arg("name"))
def profile_delete(session: Session, args: argparse.Namespace) -> Any:
    """Delete a profile and its assignments; its endpoints fall back to the next profile."""
    return profiles.delete_profile(session, args.name)


@command("profile", "assign", arg("name"), *TARGET)
def profile_assign(session: Session, args: argparse.Namespace) -> Any:
    """Assign a profile to a user, a group or as the default (replacing the target's)."""
    return profiles.assign(session, args.name, **_target(args))


@command("profile", "unassign", *TARGET)
def profile_unassign(session: Session, args: argparse.Namespace) -> Any:
    """Remove the profile of a user, a group or the default."""
    return profiles.unassign(session, **_target(args))


@command("profile", "effective", arg("--user", required=True))
def profile_effective(session: Session, args: argparse.Namespace) -> Any:
    """The profile in force on a machine where this user is logged in (user > group >
    default, field by field)."""
    found = profiles.effective_for_users(session, [args.user])
    return {"user": args.user, "profile": found.model_dump() if found else None}


@command("group", "list")
def group_list(session: Session, args: argparse.Namespace) -> Any:
    """List groups and their members."""
    return profiles.list_groups(session)


@command("group", "add", arg("name"))
def group_add(session: Session, args: argparse.Namespace) -> Any:
    """Create a group of users."""
    return profiles.add_group(session, args.name)


@command("group", "delete", arg("name"))
def group_delete(session: Session, args: argparse.Namespace) -> Any:
    """Delete a group (its users stay)."""
    return profiles.delete_group(session, args.name)


@command("group", "add-member", arg("name"), arg("user"))
def group_add_member(session: Session, args: argparse.Namespace) -> Any:
    """Add a user to a group."""
    return profiles.add_member(session, args.name, args.user)


@command("group", "remove-member", arg("name"), arg("user"))
def group_remove_member(session: Session, args: argparse.Namespace) -> Any:
    """Remove a user from a group."""
    return profiles.remove_member(session, args.name, args.user)


@command(
    "audit", "list", arg("--limit", type=int, default=50),
    arg("--actor", help="only this user, admin or endpoint hostname"),
    # dest: "action" is the subcommand's own (list).
    arg("--action", dest="only_action", help="only this action, e.g. user.login-failed"),
)  # fmt: skip
def audit_list(session: Session, args: argparse.Namespace) -> Any:
    """The audit trail, newest first: logins (failed ones too) with their address, logouts,
    releases, cancels, endpoint, user, setting and profile changes."""
    return audit.recent(session, args.limit, args.actor, args.only_action)


# Commands that change nothing (or write their own audit row): the rest are audited by `run`.
NOT_AUDITED = {"list", "effective"}
SELF_AUDITED = {("setting", "set")}
# Arguments that are the command's plumbing, or secrets.
NOT_DESCRIBED = {"data", "db", "func", "object", "action", "password", "password_stdin", "who"}


def _describe(args: argparse.Namespace) -> tuple[str, str]:
    """Subject and detail of a command for its audit row: its first naming argument, then the
    others as key=value (never the password, which is not among them)."""
    given = {
        k: v for k, v in vars(args).items() if k not in NOT_DESCRIBED and v not in (None, [], False)
    }
    subject = next((str(given.pop(k)) for k in ("name", "id", "key") if k in given), "")
    detail = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in sorted(given.items()))
    return subject, detail


def _audited(session: Session, args: argparse.Namespace) -> None:
    if args.action in NOT_AUDITED or (args.object, args.action) in SELF_AUDITED:
        return
    subject, detail = _describe(args)
    audit.record(session, args.who, f"{args.object}.{args.action}", subject, detail)


def run(args: argparse.Namespace) -> int:
    """Run one admin command in one transaction and print its result as JSON; ``token``
    prints this data dir's admin token, the one every server process on the database accepts
    (admin_secret.py), or says why not when the database records another."""
    make_data_dir(args.data)  # setting up before the first `run` is fine
    store = Store(args.db or default_url(args.data))
    try:
        store.migrate()
        make_data_dir(args.data)
        if args.object == "token":
            print(admin_secret.adopt(store, args.data))
            return 0
        handler, _ = COMMANDS[(args.object, args.action)]
        args.who = audit.Who("admin", f"cli ({getpass.getuser()})")
        with store.session() as session:
            result = handler(session, args)
            _audited(session, args)
    except admin.AdminError as exc:
        print(f"error: {exc.code}: {exc.message}", file=sys.stderr)
        return 1
    except admin_secret.NotTheClusters as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OperationalError as exc:
        print(f"error: database unavailable: {exc.orig}", file=sys.stderr)
        return 1
    finally:
        store.close()
    print(json.dumps(result, indent=2))
    return 0


def add_parser(sub: argparse._SubParsersAction) -> argparse.ArgumentParser:
    adm = sub.add_parser(
        "admin",
        help="users, groups, printers, input ports, endpoints, settings, profiles, audit trail",
    )
    objects = adm.add_subparsers(dest="object", required=True)
    objects.add_parser("token", help="print the admin token for the REST API")
    actions: dict[str, argparse._SubParsersAction] = {}
    for (obj, action), (handler, arguments) in COMMANDS.items():
        if obj not in actions:
            actions[obj] = objects.add_parser(obj).add_subparsers(dest="action", required=True)
        doc = handler.__doc__ or ""
        parser = actions[obj].add_parser(action, help=doc.split("\n")[0], description=doc)
        for names, options in arguments:
            parser.add_argument(*names, **options)
    adm.set_defaults(func=run, action=None)
    return adm
