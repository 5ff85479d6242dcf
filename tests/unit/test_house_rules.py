"""The house's rules, checked on every run (docs/architecture.md explains them):

- `bot/` is the top: nothing below it imports it;
- packages import each other without cycles, so each can be read from the ones below it;
- SQL is written only in `storage/`;
- no module grows past 400 lines (migrations aside): past that it is two ideas.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ["bot", "core", "delivery", "handlers", "knowledge_base", "storage", "slack_standin"]
MAX_LINES = 400
SQL_CONSTRUCTS = {"select", "update", "insert", "delete", "text", "func", "and_", "or_", "case", "union_all"}


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (REPO / package).rglob("*.py"):
            if "migrations" in path.parts and "versions" in path.parts:
                continue
            name = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
            found[name] = path
    return found


def imports_of(path: Path) -> list[tuple[str, list[str]]]:
    """(module imported, names taken) for every import in the file, including ones inside functions."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, list[str]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [alias.name for alias in node.names]))
    return found


def unit_of(module: str) -> str:
    """The unit cycles are checked between: a top-level package, or a feature package in handlers/."""
    parts = module.split(".")
    if parts[0] == "handlers" and len(parts) > 1:
        return ".".join(parts[:2])
    return parts[0]


def test_nothing_below_bot_imports_it() -> None:
    offenders = [
        f"{name} imports {imported}"
        for name, path in modules().items()
        if not name.startswith("bot")
        for imported, _ in imports_of(path)
        if imported == "bot" or imported.startswith("bot.")
    ]
    assert offenders == []


def test_packages_import_each_other_without_cycles() -> None:
    ours = {unit_of(name) for name in modules()}
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules().items():
        for imported, names in imports_of(path):
            targets = [imported] + [f"{imported}.{n}" for n in names]
            for target in targets:
                unit = unit_of(target)
                if unit in ours and unit != unit_of(name) and (target in modules() or imported in modules()):
                    graph[unit_of(name)].add(unit_of(imported) if imported in modules() else unit)
    cycles = []
    for start in sorted(graph):
        stack, seen = [(start, [start])], set()
        while stack:
            node, trail = stack.pop()
            for nxt in graph[node]:
                if nxt == start:
                    cycles.append(" -> ".join(trail + [start]))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, trail + [nxt]))
    assert cycles == []


def test_sql_is_written_only_in_storage() -> None:
    offenders = [
        f"{name}: {sorted(set(names) & SQL_CONSTRUCTS)}"
        for name, path in modules().items()
        if not name.startswith("storage")
        for imported, names in imports_of(path)
        if imported in {"sqlalchemy", "sqlalchemy.sql", "sqlalchemy.sql.expression"} and set(names) & SQL_CONSTRUCTS
    ]
    assert offenders == []


def test_no_module_passes_four_hundred_lines() -> None:
    long = {
        name: count
        for name, path in modules().items()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert long == {}
