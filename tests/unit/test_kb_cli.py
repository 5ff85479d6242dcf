"""`python -m knowledge_base` as a person or a script would run it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "knowledge_base", *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def make_kb(folder: Path) -> Path:
    (folder / "cache.md").write_text(
        "---\ntitle: Clearing the cache\nalerts: [CacheHitRateLow]\ncategory: application\n---\n\n"
        "## Fix\n\nFlush Redis database 1.\n",
        encoding="utf-8",
    )
    (folder / "dns.md").write_text("# DNS failures\n\n## Quick checks\n\nRun dig.\n", encoding="utf-8")
    return folder


def test_search_prints_a_readable_list() -> None:
    completed = run("search", "db connections timing out")
    assert completed.returncode == 0, completed.stderr
    first_line = completed.stdout.splitlines()[0]
    assert first_line.startswith("1. Database connection timeouts")
    assert "(score " in first_line


def test_search_says_when_it_is_not_confident() -> None:
    completed = run("search", "what's the wifi password for guests")
    assert completed.returncode == 0
    assert "Not confident" in completed.stdout or "No article" in completed.stdout


def test_search_json_has_the_fields_the_bot_uses(tmp_path: Path) -> None:
    completed = run("search", "flush the cache", "--kb", str(make_kb(tmp_path)), "--json", "--limit", "2")
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert 1 <= len(results) <= 2
    best = results[0]
    assert {"path", "title", "section", "score"} <= set(best)
    assert best["title"] == "Clearing the cache"
    assert best["section"] == "Fix"
    assert Path(best["path"]) == tmp_path / "cache.md"


def test_kb_flags_replace_the_default_folders(tmp_path: Path) -> None:
    completed = run("search", "database connection timeouts", "--kb", str(make_kb(tmp_path)), "--json")
    paths = [Path(result["path"]).parent for result in json.loads(completed.stdout)]
    assert all(path == tmp_path for path in paths)


def test_dash_reads_questions_from_stdin_and_prints_json_lines() -> None:
    completed = run("search", "-", "--limit", "1", stdin="disk is full\n\nwhat's for lunch\nHighErrorRate\n")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert len(lines) == 3  # the blank line is skipped
    answers = [json.loads(line) for line in lines]
    assert answers[0][0]["path"].endswith("disk-space.md")
    assert answers[1] == []
    assert answers[2][0]["matched_alert"] == "HighErrorRate"


def test_check_reports_counts_and_problems(tmp_path: Path) -> None:
    make_kb(tmp_path)
    (tmp_path / "broken.md").write_text("---\ntitle: [oops\n---\ntext\n", encoding="utf-8")
    completed = run("check", "--kb", str(tmp_path))
    assert completed.returncode == 1
    assert "Articles: 3" in completed.stdout
    assert "broken.md: invalid yaml front matter" in completed.stdout


def test_check_on_the_bundled_articles_is_clean() -> None:
    completed = run("check")
    assert completed.returncode == 0, completed.stdout
    assert "Problems: 0" in completed.stdout
