"""Secrets: password hashing (argon2id), token generation and the admin token file.

Tokens are random and only their sha256 is stored; a token is shown once, to whoever it was
issued to. Passwords go through argon2id because they are low-entropy and worth a slow KDF;
tokens are 256-bit random, so a fast hash is enough for them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import cache
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
ADMIN_TOKEN_FILE = "admin.token"


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@cache
def dummy_hash() -> str:
    """A hash of a random password no one knows, made once per process with the parameters of
    every new hash. A login for an unknown user name verifies against it, so it does the same
    work as one with a wrong password (hashing anew, as before, took a salt and a second
    argon2 run: about 400 ms more, which told which names exist)."""
    return hash_password(secrets.token_urlsafe(32))


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def admin_token(data_dir: Path) -> str:
    """Read the admin token, creating it (0600, atomically) on first use."""
    path = data_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text().strip()
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = new_token()
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
        f.flush()
        os.fsync(f.fileno())
    try:
        # link() fails when another process won the race; then its token is the one.
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())
