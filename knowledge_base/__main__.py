"""Command line: search the knowledge base or check it.

    python -m knowledge_base search "db connections timing out" [--kb DIR ...] [--limit N] [--json]
    python -m knowledge_base search - < questions.txt        # one question a line -> JSON Lines
    python -m knowledge_base check [--kb DIR ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from knowledge_base.kb import KnowledgeBase
from knowledge_base.models import CATEGORIES, SearchResults

FIELDS = ("path", "title", "section", "anchor", "score", "confident", "article_id", "category", "runbook", "url", "matched_alert")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base", description="Search or check the knowledge base.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="answer a question ('-' reads one question a line from stdin)")
    search.add_argument("question")
    search.add_argument("--limit", type=int, default=3)
    search.add_argument("--json", action="store_true", help="print a JSON array instead of a readable list")
    search.add_argument("--text", action="store_true", help="include each section's Markdown in JSON output")
    check = commands.add_parser("check", help="load the folders and report counts and front-matter problems")
    for command in (search, check):
        command.add_argument(
            "--kb", action="append", type=Path, metavar="DIR", help="a KB folder (repeatable; replaces the bundled articles)"
        )
    args = parser.parse_args(argv)

    kb = KnowledgeBase.load(args.kb)
    if args.command == "check":
        return check_command(kb)
    if args.question == "-":
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(as_json(kb.search(line.strip(), args.limit), args.text), ensure_ascii=False), flush=True)
        return 0
    results = kb.search(args.question, args.limit)
    if args.json:
        print(json.dumps(as_json(results, args.text), ensure_ascii=False, indent=2))
    else:
        print(readable(results))
    return 0


def as_json(results: SearchResults, with_text: bool = False) -> list[dict]:
    rows = []
    for result in results:
        full = result.to_dict()
        row = {field: full[field] for field in FIELDS}
        row["alternatives"] = full["alternatives"]
        if with_text:
            row["text"] = result.text
        rows.append(row)
    return rows


def readable(results: SearchResults) -> str:
    if not results:
        return "No article matches this question."
    lines = []
    for number, result in enumerate(results, 1):
        where = f" › {result.section}" if result.section else ""
        lines.append(f"{number}. {result.title}{where}  (score {result.score:.2f})")
        lines.append(f"   {result.path}" + (f"#{result.anchor}" if result.anchor else ""))
    if not results.is_confident:
        lines.append("Not confident: none of these answers the question well.")
    return "\n".join(lines)


def check_command(kb: KnowledgeBase) -> int:
    report = kb.report
    articles = report.articles
    print(f"Folders: {', '.join(str(path) for path in kb.paths)}")
    print(f"Articles: {len(articles)} ({sum(len(a.sections) for a in articles)} sections)")
    if report.skipped:
        print(f"Drafts skipped: {len(report.skipped)}")
    categories = Counter(article.category for article in articles)
    print("Categories: " + ", ".join(f"{name} {categories[name]}" for name in CATEGORIES if categories[name]))
    print(f"With alerts: {sum(bool(a.alerts) for a in articles)} ({sum(len(a.alerts) for a in articles)} alert names)")
    print(f"With runbook id: {sum(a.runbook is not None for a in articles)}")
    print(f"Without front matter: {sum(not a.front_matter for a in articles)}")
    duplicates = duplicate_alerts(kb)
    for alert, ids in duplicates.items():
        print(f"note: alert {alert} is listed by several articles ({', '.join(ids)}); the first wins")
    print(f"Problems: {len(report.problems)}")
    for path, problem in report.problems:
        print(f"  {path}: {problem}")
    return 1 if report.problems else 0


def duplicate_alerts(kb: KnowledgeBase) -> dict[str, list[str]]:
    owners: dict[str, list[str]] = {}
    for article in kb.articles:
        for alert in article.alerts:
            owners.setdefault(alert.lower(), []).append(article.article_id)
    return {alert: ids for alert, ids in owners.items() if len(ids) > 1}


if __name__ == "__main__":
    raise SystemExit(main())
