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


def test_search_prints_the_answer_text_by_default() -> None:
    completed = run("search", "disk full on db server")
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert lines[0] == "Disk space running out › Quick checks"
    assert lines[1].startswith("Matches: ") and "No space left on device" in lines[1]
    assert "df -h" in completed.stdout  # the checks themselves, not the symptoms
    assert "Full article: " in completed.stdout and "disk-space.md#quick-checks" in completed.stdout


def test_search_answers_a_how_to_with_the_fix() -> None:
    completed = run("search", "how do I renew the certificate")
    assert completed.stdout.splitlines()[0] == "TLS certificate expiry and renewal › Fix"
    assert "certbot renew" in completed.stdout


def test_search_list_prints_a_readable_list() -> None:
    completed = run("search", "db connections timing out", "--list")
    assert completed.returncode == 0, completed.stderr
    first_line = completed.stdout.splitlines()[0]
    assert first_line.startswith("1. Database connection timeouts")
    assert "(score " in first_line


def test_search_says_when_it_is_not_sure_and_offers_a_ticket() -> None:
    completed = run("search", "how do I reset my VPN")
    assert completed.returncode == 0
    lines = completed.stdout.splitlines()
    assert lines[0].startswith("Not sure")
    assert any("Network latency and packet loss" in line for line in lines[1:4])
    assert any("Password resets" in line for line in lines[1:4])
    assert "/issue new" in lines[-1]


def test_search_says_when_nothing_matches() -> None:
    completed = run("search", "what's the wifi password for guests", "--list")
    assert completed.returncode == 0
    assert "Not confident" in completed.stdout or "No article" in completed.stdout
    assert "No article" in run("search", "what's for lunch").stdout


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
    assert {"matched_section", "matched_text"} <= set(best)


def test_search_json_names_the_line_that_matched() -> None:
    [best] = json.loads(run("search", "too many connections on postgres", "--json", "--limit", "1").stdout)
    assert best["section"] == "Quick checks" and best["matched_section"] == "Symptoms"
    assert "too many clients" in best["matched_text"]


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
