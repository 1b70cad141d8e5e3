"""The import graph follows the arrows docs/DESIGN.md draws (section 4), read from its table.

An import anywhere in a module (at the top or inside a function) counts, and so does starting
one of our modules as a process (``[python, "-m", "server.cli", ...]``): a run-time dependency
is still a dependency. Tests are not checked; they may import anything.
"""

from __future__ import annotations

import ast
import itertools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DESIGN = ROOT / "docs" / "DESIGN.md"
OURS = {"benchmarks", "cli", "deploy", "protocol", "server", "services", "support", "tests", "ui"}
ROW = re.compile(r"^\| ([a-z/<>]+) \| ([^|]*)\|([^|]*)\|$")


def arrows() -> dict[str, tuple[set[str], set[str]]]:
    """package -> (what it may import, what it may start), from DESIGN.md's table."""
    table: dict[str, tuple[set[str], set[str]]] = {}
    for line in DESIGN.read_text().splitlines():
        if match := ROW.match(line.strip()):
            package, imports, starts = match.groups()
            if package != "package":
                table[package] = (_names(imports), _names(starts))
    return table


def _names(cell: str) -> set[str]:
    return {name.strip() for name in cell.split(",") if re.fullmatch(r"[a-z/]+", name.strip())}


def package_of(module: str) -> str | None:
    """``services.sync.queues`` -> ``services/sync``; ``server.jobs`` -> ``server``."""
    parts = module.split(".")
    if parts[0] not in OURS:
        return None
    if parts[0] == "services" and len(parts) > 1:
        return f"services/{parts[1]}"
    return parts[0]


def rule_for(package: str, table: dict[str, tuple[set[str], set[str]]]) -> str | None:
    if package in table:
        return package
    if package.startswith("services/") and "services/<name>" in table:
        return "services/<name>"
    return None


def dependencies(path: Path) -> list[tuple[str, str, int]]:
    """(kind, module, line) for each import of ours and each ``-m`` start in one file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [("imports", alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(("imports", node.module, node.lineno))
        elif isinstance(node, ast.List | ast.Tuple):
            items = node.elts
            for flag, module in itertools.pairwise(items):
                if _constant(flag) == "-m" and isinstance(_constant(module), str):
                    found.append(("starts", str(_constant(module)), node.lineno))
    return found


def _constant(node: ast.expr) -> object:
    return node.value if isinstance(node, ast.Constant) else None


def violations() -> list[str]:
    table = arrows()
    wrong = []
    for path in sorted(ROOT.glob("**/*.py")):
        relative = path.relative_to(ROOT)
        if relative.parts[0] not in OURS:
            continue  # .venv, build output
        source = package_of(".".join(relative.with_suffix("").parts))
        rule = rule_for(source, table) if source else None
        if rule is None:
            continue
        may_import, may_start = table[rule]
        for kind, module, line in dependencies(path):
            target = package_of(module)
            if target is None or target == source:
                continue
            allowed = may_import if kind == "imports" else may_start
            if target not in allowed:
                wrong.append(f"{relative}:{line} {kind} {module} ({source} -> {target})")
    return wrong


def test_design_md_draws_a_rule_for_every_package() -> None:
    table = arrows()
    assert {"protocol", "services/core", "services/<name>", "server", "ui", "cli"} <= set(table)
    assert table["protocol"] == (set(), set())


def test_every_import_follows_the_arrows_of_design_md() -> None:
    assert violations() == []


def test_a_forbidden_import_is_found(tmp_path: Path) -> None:
    """The check sees imports inside functions and ``-m`` starts, not just the top lines."""
    module = tmp_path / "example.py"
    module.write_text(
        "def f():\n    from services.delivery import router\n"
        "ARGV = ['python', '-m', 'server.cli', 'run']\n"
    )
    assert sorted(dependencies(module)) == [
        ("imports", "services.delivery", 2),
        ("starts", "server.cli", 3),
    ]
