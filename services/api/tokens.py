"""The tokens that authorize changes through the facade.

- The admin token, ``{state_dir}/api.token`` (0600, owned by the service user): whoever can
  read it may change anything, as root may.
- One token per OS user, made on request (``GET /session``) and written to
  ``{run_dir}/users/<uid>/api.token``, owned by that uid, 0600 in a 0700 directory. It is valid
  only on connections the kernel says come from that uid, so a copied token is useless to
  anyone else. This is how a tray running as an ordinary user gets a token at all.

Tokens are compared in constant time and never logged.
"""

from __future__ import annotations

import contextlib
import hmac
import os
import pwd
import secrets
import stat
from pathlib import Path

TOKEN_FILE = "api.token"


class TokenError(Exception):
    """A token file could not be made (a planted symlink, no right to chown, ...)."""


class Tokens:
    def __init__(self, state_dir: Path, run_dir: Path) -> None:
        self.admin_path = state_dir / TOKEN_FILE
        self.users_dir = run_dir / "users"
        self._user_tokens: dict[int, str] = {}

    def ensure_admin(self) -> None:
        """Create the admin token if it is missing (at start, before serving requests)."""
        if self._read(self.admin_path, os.geteuid()) is None:
            self.admin_path.parent.mkdir(parents=True, exist_ok=True)
            _write_private(self.admin_path, secrets.token_urlsafe(32), os.geteuid())

    def is_admin(self, token: str) -> bool:
        admin = self._read(self.admin_path, os.geteuid())
        return admin is not None and hmac.compare_digest(token, admin)

    def is_user(self, token: str, uid: int) -> bool:
        """Whether ``token`` is the token made for ``uid`` (read back after our restart)."""
        known = self._user_tokens.get(uid) or self._read(self.user_path(uid), uid)
        if known is None or not hmac.compare_digest(token, known):
            return False
        self._user_tokens[uid] = known
        return True

    def user_path(self, uid: int) -> Path:
        return self.users_dir / str(uid) / TOKEN_FILE

    def issue(self, uid: int) -> Path:
        """Write (or rewrite) ``uid``'s token file and return its path."""
        token = self._user_tokens.get(uid) or self._read(self.user_path(uid), uid)
        token = token or secrets.token_urlsafe(32)
        directory = self._user_dir(uid)
        _write_private(directory / TOKEN_FILE, token, uid)
        self._user_tokens[uid] = token
        return directory / TOKEN_FILE

    def _user_dir(self, uid: int) -> Path:
        self.users_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(self.users_dir, 0o755)  # users must reach their own directory
        directory = self.users_dir / str(uid)
        with contextlib.suppress(FileExistsError):
            os.mkdir(directory, 0o700)
        info = os.lstat(directory)
        if not stat.S_ISDIR(info.st_mode):
            raise TokenError(f"{directory} is not a directory")
        try:
            if info.st_uid != uid:
                os.chown(directory, uid, _gid(uid))
            os.chmod(directory, 0o700)
        except PermissionError:
            raise TokenError(f"the api cannot give uid {uid} a token directory") from None
        return directory

    @staticmethod
    def _read(path: Path, owner: int) -> str | None:
        """The token in ``path`` if it is a regular file of ``owner`` that only it can read."""
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            return None
        with os.fdopen(fd) as f:
            info = os.fstat(f.fileno())
            if info.st_uid != owner or info.st_mode & 0o077 or not stat.S_ISREG(info.st_mode):
                return None
            return f.read().strip() or None


def _gid(uid: int) -> int:
    try:
        return pwd.getpwuid(uid).pw_gid
    except KeyError:
        return -1  # a uid without a passwd entry: leave the group as it is


def _write_private(path: Path, token: str, owner: int) -> None:
    """Atomic, 0600 from the first byte, owned by ``owner``.

    The directory may belong to the user, so the temporary name is created exclusively
    (O_EXCL does not follow a planted symlink) and renamed over the old file, which replaces a
    symlink rather than writing through it.
    """
    part = path.with_name(f"{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        if os.fstat(fd).st_uid != owner:
            try:
                os.fchown(fd, owner, _gid(owner))
            except PermissionError:
                raise TokenError(f"the api cannot give uid {owner} a token file") from None
        os.write(fd, token.encode())
        os.fsync(fd)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    finally:
        os.close(fd)
    os.replace(part, path)
