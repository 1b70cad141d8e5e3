"""Issue 19, finding 8: a login for a user name that does not exist does the same password work
as one with a wrong password (one argon2 verify, no hashing), so its timing tells no names.
The server's own login function runs on a real SQLite store; only argon2's calls are counted."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from server import auth
from server.api import login_user
from server.app import RunOptions, prepare
from server.context import ServerContext
from server.models import User


@pytest.fixture
def ctx(tmp_path: Path) -> Iterator[ServerContext]:
    context = prepare(RunOptions(tmp_path / "data", tmp_path / "cert", tmp_path / "key"))
    with context.store.session() as session:
        session.add(User(name="alice", password_hash=auth.hash_password("pw")))
        session.add(User(name="carol", password_hash=auth.hash_password("pw"), disabled=True))
    yield context
    context.store.close()


@pytest.fixture
def argon2_calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name in ("hash", "verify"):
        real = getattr(PasswordHasher, name)

        def counted(self: PasswordHasher, *args: Any, _real: Any = real, _name: str = name) -> Any:
            calls[_name] += 1
            return _real(self, *args)

        monkeypatch.setattr(PasswordHasher, name, counted)
    return calls


@pytest.mark.parametrize(
    ("user", "password", "logged_in"),
    [
        ("alice", "pw", True),
        ("alice", "wrong", False),
        ("nobody", "wrong", False),
        ("nobody", "pw", False),
        ("carol", "pw", False),
    ],
)
def test_every_login_verifies_one_password_and_hashes_none(
    ctx: ServerContext, argon2_calls: Counter[str], user: str, password: str, logged_in: bool
) -> None:
    pair = login_user(ctx, user, password, "127.0.0.1")
    assert (pair is not None) == logged_in
    assert argon2_calls == Counter(verify=1)


def test_the_stand_in_hash_costs_what_a_user_hash_costs() -> None:
    """Same algorithm and parameters as a password set today, and no password matches it."""
    params = auth.hash_password("pw").rsplit("$", 2)[0]
    assert auth.dummy_hash().rsplit("$", 2)[0] == params
    assert not auth.verify_password(auth.dummy_hash(), "-")
