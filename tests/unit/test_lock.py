"""The lock (requirements/*.txt) against pyproject.toml and against what is installed.

pyproject.toml keeps ranges for people who ``pip install`` the package; ``make`` installs the
lock, so a clean clone gets today the versions it got when the lock was made. These tests say
when the two drifted apart (a dependency added to pyproject.toml but not locked: run ``make
lock``) and that the install step installed exactly what the lock pins.
"""

from __future__ import annotations

import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
REQUIREMENTS = ROOT / "requirements"
# Each lock and the extras it holds beside the base dependencies.
LOCKS = {"client": (), "server": ("server",), "tray": ("tray",), "dev": ("server", "tray", "dev")}
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.MULTILINE)


def pins(lock: str) -> dict[str, str]:
    text = (REQUIREMENTS / f"{lock}.txt").read_text()
    return {canonicalize_name(name): version for name, version in PIN.findall(text)}


def declared(extras: tuple[str, ...]) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    names = list(project["dependencies"])
    for extra in extras:
        names += project["optional-dependencies"][extra]
    return [Requirement(name) for name in names]


@pytest.mark.parametrize("lock", LOCKS)
def test_every_declared_dependency_is_locked_within_its_range(lock: str) -> None:
    locked = pins(lock)
    for requirement in declared(LOCKS[lock]):
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{name} is not in requirements/{lock}.txt: run make lock"
        assert requirement.specifier.contains(locked[name], prereleases=True), (
            f"requirements/{lock}.txt pins {name}=={locked[name]}, outside {requirement}"
        )


def test_every_pin_has_its_hashes_and_the_build_backend_is_locked() -> None:
    for lock in LOCKS:
        text = (REQUIREMENTS / f"{lock}.txt").read_text()
        # An entry is a pin line and the indented --hash lines under it.
        for entry in re.split(r"\n(?=\S)", text):
            if PIN.match(entry):
                assert "--hash=sha256:" in entry, f"{lock}: no hash for {entry.split()[0]}"
        assert "setuptools" in pins(lock), f"{lock}: the build backend is not locked"


@pytest.mark.parametrize("lock", ["client", "server", "tray"])
def test_the_smaller_locks_hold_the_versions_of_the_dev_lock(lock: str) -> None:
    dev = pins("dev")
    differ = {name: v for name, v in pins(lock).items() if dev.get(name) != v}
    assert differ == {}, f"requirements/{lock}.txt differs from dev.txt: run make lock"


def test_the_client_lock_holds_no_extra() -> None:
    client = pins("client")
    extras = {canonicalize_name(r.name) for r in declared(("server", "tray", "dev"))}
    base = {canonicalize_name(r.name) for r in declared(())}
    assert sorted((extras - base) & client.keys()) == []


@pytest.mark.skipif(
    Path(sys.prefix).resolve() != (ROOT / ".venv").resolve(),
    reason="runs in the venv make installs from the lock; this interpreter is another one",
)
def test_the_venv_holds_exactly_the_locked_versions() -> None:
    installed = {canonicalize_name(d.metadata["Name"]): d.version for d in metadata.distributions()}
    locked = pins("dev")
    wrong = {n: (v, installed.get(n)) for n, v in locked.items() if installed.get(n) != v}
    assert wrong == {}, "locked version, installed version"
    unlocked = set(installed) - set(locked) - {"pullprint"}
    assert unlocked == set(), "installed but not in the lock"
