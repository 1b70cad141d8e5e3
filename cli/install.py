"""Installing pullprint as system software: ``pullprint install`` and ``pullprint uninstall``.

Install writes the config, makes the directories with the modes the service relies on (the
state directory holds the spool and the database: 0700), and registers the service with the
init system: a systemd unit on Linux and a LaunchDaemon on macOS, both running
``pullprint service`` (supervisord in the foreground) and restarting it whenever it exits,
plus the tray's autostart entry on Linux desktops.

Everything is written below ``root`` (``/`` for real; tests pass a temporary directory), the
way a package manager's DESTDIR works: the paths *inside* the files are the installed system's
(``/var/lib/pullprint``), so a tree built under a root is the tree the machine gets. Such a tree
also runs in place: ``pullprint service --root DIR`` reads its config and its directories below
DIR (``core/config.py``), and install says so when it does not start the service itself.

Uninstall removes exactly what install created, read from a manifest install keeps beside the
config, so directories that existed before (``/etc/systemd/system``) are never removed. The
state and log directories are kept when they hold anything (held jobs, history) unless
``purge`` is asked for, as Debian's remove and purge do.
"""

from __future__ import annotations

import json
import os
import plistlib
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from services.core import config_secrets
from services.core.config import Settings, load_settings

SOURCE_ROOT = Path(__file__).resolve().parents[1]
DEPLOY = SOURCE_ROOT / "deploy"
SYSTEMD_UNIT = "pullprint.service"
LAUNCHD_LABEL = "org.pullprint.service"

# Paths below the root, as the installed system sees them.
CONFIG = Path("/etc/pullprint/config.toml")
# A password given to install (a server URL with one) goes here, root only, never into the
# config everyone (the tray) reads (services/core/config_secrets.py).
SECRETS = CONFIG.with_name(config_secrets.FILE_NAME)
MANIFEST = Path("/etc/pullprint/installed.json")
STATE_DIR = Path("/var/lib/pullprint")
LOG_DIR = Path("/var/log/pullprint")
RUN_DIR = Path("/run/pullprint")
# state: spool and database, root only; logs: readable by an admin group; run: the
# supervisor and bus sockets (which carry their own modes).
DIR_MODES = {STATE_DIR: 0o700, LOG_DIR: 0o750, RUN_DIR: 0o755}
# What uninstall keeps when it holds anything (jobs, history); the run dir's leftover sockets
# mean nothing once the service is stopped.
KEPT_UNLESS_PURGED = (STATE_DIR, LOG_DIR)
UNIT_PATH = Path("/etc/systemd/system") / SYSTEMD_UNIT
AUTOSTART_PATH = Path("/etc/xdg/autostart/pullprint-tray.desktop")
PLIST_PATH = Path("/Library/LaunchDaemons") / f"{LAUNCHD_LABEL}.plist"
# systemctl and launchctl answer in well under a second; a minute bounds a hung init system.
INIT_TIMEOUT = 60.0

Mode = Literal["local", "gateway", "hybrid"]
Say = Callable[[str], None]


class InstallError(Exception):
    """Installation cannot go on; the message says what to fix."""


@dataclass
class Tree:
    """Writes below ``root`` and remembers every file and directory it created, in order."""

    root: Path
    created: list[str]

    def path(self, installed: Path) -> Path:
        return self.root / installed.relative_to("/")

    def mkdir(self, installed: Path, mode: int | None = None) -> None:
        """``mkdir -p`` that records each directory it makes. ``mode`` is applied with chmod
        (mkdir's is filtered through the umask), also to an existing directory; directories
        that existed and are given no mode are left as they are."""
        missing = [p for p in (installed, *installed.parents) if not self.path(p).exists()]
        for directory in reversed(missing):
            self.path(directory).mkdir()
            os.chmod(self.path(directory), 0o755)
            self._record(directory)
        if mode is not None:
            os.chmod(self.path(installed), mode)

    def write(self, installed: Path, content: bytes, mode: int = 0o644) -> None:
        """Write a file through a temporary name and a rename, so a reader (systemd, the
        service) never sees half a file."""
        self.mkdir(installed.parent)
        target = self.path(installed)
        temporary = target.with_name(target.name + ".tmp")
        temporary.write_bytes(content)
        os.chmod(temporary, mode)
        os.replace(temporary, target)
        self._record(installed)

    def _record(self, installed: Path) -> None:
        if str(installed) not in self.created:
            self.created.append(str(installed))


def pullprint_command() -> list[str]:
    """How the installed service runs us: the ``pullprint`` script beside this Python (a
    virtualenv or a system install), else this Python with ``-m``. Absolute, since systemd
    and launchd start programs with a minimal PATH."""
    script = Path(sys.executable).parent / "pullprint"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "cli"]


def config_text(
    mode: Mode,
    server_url: str | None,
    secondary_server_url: str | None = None,
    ca_file: Path | None = None,
) -> tuple[str, str]:
    """The TOML install writes: the config's, and the secrets file's (empty without a password
    among the values); validated with the same Settings every process loads, so a bad value
    stops the install instead of the service's first start."""
    values: dict[str, str] = {"mode": mode}
    if server_url:
        values["server_url"] = server_url
    if secondary_server_url:
        values["secondary_server_url"] = secondary_server_url
    if ca_file:
        values["ca_file"] = str(ca_file)
    values |= {"state_dir": str(STATE_DIR), "run_dir": str(RUN_DIR), "log_dir": str(LOG_DIR)}
    try:
        Settings.model_validate(values)
    except ValidationError as exc:
        error = exc.errors()[0]
        raise InstallError(f"{error['loc'][0]}: {error['msg']}") from None
    if mode != "local" and not server_url:
        raise InstallError(f"mode {mode} sends jobs through a server: give --server URL")
    public, secret = config_secrets.split(values)
    lines = ["# Written by pullprint install; every key is described in README.md."]
    lines += [f"{key} = {json.dumps(value)}" for key, value in public.items()]
    hidden = [f"{key} = {json.dumps(value)}" for key, value in secret.items()]
    return "\n".join(lines) + "\n", "".join(line + "\n" for line in hidden)


def _differs(path: Path, text: str) -> bool:
    return path.exists() and path.read_text() != text


def unit_text(command: list[str]) -> bytes:
    """deploy/systemd/pullprint.service with ExecStart pointing at this installation."""
    lines = (DEPLOY / "systemd" / SYSTEMD_UNIT).read_text().splitlines()
    exec_start = "ExecStart=" + " ".join([*command, "service"])
    return (
        "\n".join(exec_start if ln.startswith("ExecStart=") else ln for ln in lines) + "\n"
    ).encode()


def autostart_text(command: list[str]) -> bytes:
    """The tray's autostart entry with Exec pointing at this installation."""
    lines = (DEPLOY / "autostart" / "pullprint-tray.desktop").read_text().splitlines()
    exec_line = "Exec=" + " ".join([*command, "tray"])
    return ("\n".join(exec_line if ln.startswith("Exec=") else ln for ln in lines) + "\n").encode()


def plist_bytes(command: list[str]) -> bytes:
    """The LaunchDaemon plist with ProgramArguments for this installation."""
    plist = plistlib.loads((DEPLOY / "launchd" / f"{LAUNCHD_LABEL}.plist").read_bytes())
    plist["ProgramArguments"] = [*command, "service"]
    return plistlib.dumps(plist)


def install(
    root: Path = Path("/"),
    mode: Mode = "local",
    server_url: str | None = None,
    secondary_server_url: str | None = None,
    ca_file: Path | None = None,
    *,
    force: bool = False,
    platform: str = sys.platform,
    say: Say = print,
) -> None:
    """Install the config, directories, service definition and tray autostart below
    ``root``, then enable the service when the init system runs here. Refuses to replace a
    different existing config unless ``force``, so a reinstall never loses an admin's edits."""
    _require_root(root)
    if ca_file is not None and not ca_file.is_file():
        raise InstallError(f"--ca-file {ca_file}: no such file")
    text, hidden = config_text(
        mode, server_url, secondary_server_url, ca_file and ca_file.resolve()
    )
    tree = Tree(root, _read_manifest(root))
    config, secrets = tree.path(CONFIG), tree.path(SECRETS)
    if not force and (_differs(config, text) or (hidden and _differs(secrets, hidden))):
        raise InstallError(f"{config} exists with other values; use --force to replace it")
    tree.mkdir(CONFIG.parent)
    if hidden or secrets.exists():
        tree.write(SECRETS, hidden.encode(), config_secrets.MODE)
    tree.write(CONFIG, text.encode())
    for directory, mode_bits in DIR_MODES.items():
        tree.mkdir(directory, mode_bits)
    command = pullprint_command()
    if platform == "darwin":
        tree.write(PLIST_PATH, plist_bytes(command))
    else:
        tree.write(UNIT_PATH, unit_text(command))
        tree.write(AUTOSTART_PATH, autostart_text(command))
    _write_manifest(tree)
    say(f"installed pullprint ({mode} mode) under {root}")
    _enable(root, platform, say)


def uninstall(
    root: Path = Path("/"),
    *,
    purge: bool = False,
    remove_queues: Callable[[Settings], None] | None = None,
    platform: str = sys.platform,
    say: Say = print,
) -> None:
    """Stop and disable the service, remove our OS queues (``remove_queues`` is given the
    installed settings; a failure is reported, not fatal), then every file and directory
    install created. State and logs that hold anything stay unless ``purge``."""
    _require_root(root)
    created = _read_manifest(root)
    if not created:
        raise InstallError(f"no pullprint installation under {root} ({MANIFEST} is missing)")
    _disable(root, platform, say)
    if remove_queues is not None:
        try:
            remove_queues(load_settings(Tree(root, []).path(CONFIG)))
        except Exception as exc:  # whatever failed, the files must still go: say why
            say(f"OS queues not removed: {exc}")
    tree = Tree(root, created)
    # Made by install or by the first start that moved a password out of an older config:
    # either way ours, and not to be left behind.
    tree.path(SECRETS).unlink(missing_ok=True)
    for installed in reversed([Path(p) for p in created if p != str(MANIFEST)]):
        _remove(tree.path(installed), installed, purge, say)
    if any(tree.path(kept).exists() for kept in KEPT_UNLESS_PURGED if str(kept) in created):
        # Kept state or logs: remember them (and the directories above them we made), so a
        # later `uninstall --purge` can still finish the job.
        tree.created = [p for p in created if tree.path(Path(p)).exists()]
        _write_manifest(tree)
    else:
        tree.path(MANIFEST).unlink(missing_ok=True)
        for installed in reversed([Path(p) for p in created]):
            _remove(tree.path(installed), installed, purge, say)
    say(f"uninstalled pullprint from {root}")


def _require_root(root: Path) -> None:
    if root == Path("/") and os.geteuid() != 0:
        raise InstallError("installing into / needs root (or give --root DIR)")


def _remove(path: Path, installed: Path, purge: bool, say: Say) -> None:
    """Remove one thing install created: files always, directories when empty, the run
    directory with whatever the stopped service left in it, and the state and log
    directories with everything in them only when purging."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        if installed == RUN_DIR or (purge and installed in KEPT_UNLESS_PURGED):
            shutil.rmtree(path)
        elif any(path.iterdir()):
            if installed in KEPT_UNLESS_PURGED:
                say(f"kept {path}: not empty (uninstall --purge removes it)")
        else:
            path.rmdir()


def _read_manifest(root: Path) -> list[str]:
    path = Tree(root, []).path(MANIFEST)
    try:
        return list(json.loads(path.read_text())["created"])
    except FileNotFoundError:
        return []
    except (ValueError, KeyError, TypeError) as exc:
        raise InstallError(f"{path}: not a pullprint manifest ({exc})") from None


def _write_manifest(tree: Tree) -> None:
    # The manifest lists itself last, so uninstall's reverse walk removes it first.
    tree.created = [p for p in tree.created if p != str(MANIFEST)] + [str(MANIFEST)]
    body = json.dumps({"created": tree.created}, indent=1) + "\n"
    tree.write(MANIFEST, body.encode())


# --- the init system -----------------------------------------------------------------------


def systemd_running(root: Path) -> bool:
    """systemd manages this machine (sd_booted(3): /run/systemd/system exists) and we are
    installing into it, not into a test or image root."""
    return root == Path("/") and Path("/run/systemd/system").is_dir()


def _enable(root: Path, platform: str, say: Say) -> None:
    if platform == "darwin":
        if root != Path("/"):
            say(f"not loading the LaunchDaemon: {root} is not this machine's root")
            return
        _init("launchctl", "bootstrap", "system", str(PLIST_PATH))
        say(f"loaded {LAUNCHD_LABEL}")
    elif systemd_running(root):
        _init("systemctl", "daemon-reload")
        _init("systemctl", "enable", "--now", SYSTEMD_UNIT)
        say(f"enabled and started {SYSTEMD_UNIT}")
    else:
        reason = "systemd is not running here" if root == Path("/") else f"root is {root}"
        say(f"skipped enabling {SYSTEMD_UNIT} ({reason}); run `{start_command(root)}` to start")


def start_command(root: Path) -> str:
    """The command that runs what was just installed, to paste into a shell: this
    installation's ``pullprint`` (it may not be on PATH), and ``--root`` for a tree below
    another root, whose paths inside the config are the installed system's."""
    rooted = [] if root == Path("/") else ["--root", str(root.resolve())]
    return shlex.join([*pullprint_command(), "service", *rooted])


def _disable(root: Path, platform: str, say: Say) -> None:
    if platform == "darwin":
        if root == Path("/"):
            _init("launchctl", "bootout", f"system/{LAUNCHD_LABEL}", check=False)
    elif systemd_running(root):
        _init("systemctl", "disable", "--now", SYSTEMD_UNIT, check=False)
        say(f"stopped and disabled {SYSTEMD_UNIT}")


def _init(*argv: str, check: bool = True) -> None:
    """Run systemctl or launchctl; a failure (when it matters) is an InstallError with its
    stderr. Uninstall passes ``check=False``: a service that is already gone is fine."""
    try:
        result = subprocess.run(argv, capture_output=True, text=True, timeout=INIT_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InstallError(f"{' '.join(argv)}: {exc}") from None
    if check and result.returncode != 0:
        detail = result.stderr.strip() or f"exit {result.returncode}"
        raise InstallError(f"{' '.join(argv)} failed: {detail}")
