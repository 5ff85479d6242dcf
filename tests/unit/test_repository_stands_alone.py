"""The repository carries everything its tests, benchmarks and examples read.

A clone with nothing beside it must pass `make test`, so no file may build a path that climbs out of the
checkout (the fixtures used to be read from a `shared/` folder next to it). This scans the tree for the
ways Python and shell code build such paths.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SKIPPED_DIRS = {".git", ".venv", "node_modules", "__pycache__", "data", "build", ".tmp", ".pytest_cache"}
FIXTURES = REPO / "tests" / "fixtures"

PARENTS_INDEX = re.compile(r"\.parents\[(\d+)\]")
PARENT_CHAIN = re.compile(r"__file__\)(?:\.resolve\(\)|\.absolute\(\))?((?:\.parent)+)")
PY_ESCAPES = [
    re.compile(r"""/\s*["']shared["']"""),  # Path(...) / "shared"
    re.compile(r"""["'][^"'\n]*\.\./shared"""),  # "../shared/fixtures"
    re.compile(r"""Path\(\s*["']\.\.(?:/|["'])"""),  # Path("..") or Path("../x")
    re.compile(r"""/\s*["']\.\.["']"""),  # base / ".."
    re.compile(r"""os\.path\.join\([^)]*["']\.\.["']"""),  # os.path.join(base, "..")
    re.compile(r"""["']/work/"""),  # this machine's own layout
]
SHELL_ESCAPES = [re.compile(r"\.\./\.\."), re.compile(r"\.\./shared"), re.compile(r"/work/")]


def source_files() -> list[Path]:
    found = []
    for path in REPO.rglob("*"):
        relative = path.relative_to(REPO)
        if any(part in SKIPPED_DIRS for part in relative.parts) or FIXTURES in path.parents:
            continue
        if path.is_file() and (path.suffix in {".py", ".sh", ".toml", ".ini", ".cfg"} or path.name in {"Makefile", "run"}):
            found.append(path)
    return found


def escapes_in(path: Path, text: str) -> list[str]:
    """The lines of `text` (the file at `path`) that build a path leaving the repository, as 'line: text'."""
    depth = len(path.relative_to(REPO).parts) - 1  # parents[depth] is the repository's root
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if path.suffix == ".py":
            climbs_out = any(int(index) > depth for index in PARENTS_INDEX.findall(line))
            climbs_out |= any(chain.count(".parent") > depth + 1 for chain in PARENT_CHAIN.findall(line))
            if climbs_out or any(pattern.search(line) for pattern in PY_ESCAPES):
                problems.append(f"{number}: {line.strip()}")
        elif any(pattern.search(line) for pattern in SHELL_ESCAPES):
            problems.append(f"{number}: {line.strip()}")
    return problems


def test_no_file_reads_outside_the_repository() -> None:
    offenders = {
        str(path.relative_to(REPO)): problems
        for path in source_files()
        if path != Path(__file__).resolve()  # its patterns are the ways out, written as text
        and (problems := escapes_in(path, path.read_text(encoding="utf-8", errors="replace")))
    }
    assert offenders == {}, f"paths that leave the repository: {offenders}"


@pytest.mark.parametrize(
    "line",
    [
        'FIXTURES = Path(__file__).resolve().parents[2] / "shared" / "fixtures"',
        'CORPUS = Path(__file__).resolve().parents[3] / "corpus"',
        'CORPUS = Path(__file__).resolve().parent.parent.parent.parent / "corpus"',
        'DATA = Path("../shared/kb-corpora")',
        'path = os.path.join(here, "..", "x")',
    ],
)
def test_the_scan_catches_each_way_out(line: str) -> None:
    nested = REPO / "tests" / "unit" / "probe.py"  # two folders deep, as the test modules are
    assert escapes_in(nested, line), line


def test_the_scan_allows_paths_inside_the_repository() -> None:
    nested = REPO / "tests" / "unit" / "probe.py"
    inside = 'FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"\nHOSTILE = ["../../etc"]'
    assert escapes_in(nested, inside) == []


def test_fixtures_carry_their_source_notes() -> None:
    data = [p for p in FIXTURES.iterdir() if p.suffix in {".json", ".yml"} or p.name.endswith(".form.txt")]
    assert len(data) > 20
    missing = [p.name for p in data if not p.with_name(p.name + ".source.txt").exists()]
    assert missing == []
    corpus = FIXTURES / "kb-corpora" / "prometheus-runbooks"
    assert (corpus / "LICENSE").exists() and (corpus / "SOURCE.md").exists()
    assert len(list(corpus.rglob("*.md"))) > 100
