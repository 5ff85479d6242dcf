"""Command line: search the knowledge base or check it.

    python -m knowledge_base search "db connections timing out" [--kb DIR ...] [--limit N] [--list | --json]
    python -m knowledge_base search - < questions.txt        # one question a line -> JSON Lines

`search` prints the answer as the bot gives it: the article's actionable section (Fix, Quick checks,
Diagnosis, ...) with the line that matched as context, or "not sure" with the closest articles.
`--list` prints the ranked titles and paths instead, `--json` everything as JSON.
    python -m knowledge_base check [--kb DIR ...]
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter
from pathlib import Path

from knowledge_base.kb import KnowledgeBase
from knowledge_base.models import CATEGORIES, SearchResult, SearchResults

FIELDS = (
    "path", "title", "section", "anchor", "score", "confident", "article_id", "category", "runbook", "url",
    "matched_alert", "matched_section", "matched_text",
)  # fmt: skip
TICKET_HINT = "Nobody wrote this down yet: open a ticket and a person will look into it (in Slack: /issue new)."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m knowledge_base", description="Search or check the knowledge base.")
    commands = parser.add_subparsers(dest="command", required=True)
    search = commands.add_parser("search", help="answer a question ('-' reads one question a line from stdin)")
    search.add_argument("question")
    search.add_argument("--limit", type=int, default=3)
    output = search.add_mutually_exclusive_group()
    output.add_argument("--list", action="store_true", help="print the ranked titles and paths instead of the answer")
    output.add_argument("--json", action="store_true", help="print a JSON array instead of the answer")
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
    elif args.list:
        print(readable(results))
    else:
        print(answer_text(results))
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


def answer_text(results: SearchResults) -> str:
    """What the bot would say, as plain text: the lead section in Markdown, or "not sure"."""
    best = results.best
    if best is None:
        return f"No article matches this question.\n{TICKET_HINT}"
    if not results.is_confident:
        lines = ["Not sure: nothing in the knowledge base answers this well enough. The closest articles:"]
        for number, result in enumerate(results, 1):
            where = f" › {result.section}" if result.section else ""
            lines.append(f"  {number}. {result.title}{where}  ({_location(result)})")
        return "\n".join([*lines, TICKET_HINT])
    lines = [f"{best.title} › {best.section}" if best.section else best.title]
    if best.matched_text:
        lines.append(f"Matches: {best.matched_text}")
    lines += ["", best.text.strip() or "(This part has no text of its own: open the full article.)", ""]
    if best.alternatives:
        lines.append("Also in this article: " + ", ".join(alt.section or "introduction" for alt in best.alternatives))
    lines.append(f"Full article: {_location(best)}")
    others = [f"{result.title} ({_location(result)})" for result in results[1:]]
    if others:
        lines.append("Might also help: " + "; ".join(others))
    return "\n".join(lines)


def _location(result: SearchResult) -> str:
    return result.url or str(result.path) + (f"#{result.anchor}" if result.anchor else "")


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
