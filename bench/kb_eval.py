"""Knowledge-base search quality: our FTS5 search against a plain BM25 baseline, same run.

    .venv/bin/python bench/kb_eval.py [--runbooks DIR] [--misses]

For each corpus it prints top-1 and top-3 accuracy (an expected article among the first 1 / 3
results), for our search and for the baseline (rank-bm25's BM25Okapi over whole files,
lowercase word tokens, nothing else). It then prints how many on-topic questions we answer
confidently, and the off-topic rejection rate (questions that must come back not confident).
The baseline has no confidence measure; its "rejection" counts questions sharing no word at all
with any file, the only refusal plain BM25 can make. Off-topic questions marked `heldout` were
written after the confidence threshold was chosen and are reported on their own.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import yaml
from rank_bm25 import BM25Okapi

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from knowledge_base import KnowledgeBase  # noqa: E402
from knowledge_base.loading import DEFAULT_ARTICLES_DIR, iter_markdown_files  # noqa: E402

BENCH = Path(__file__).resolve().parent
DEFAULT_RUNBOOKS = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "kb-corpora" / "prometheus-runbooks"
_WORD = re.compile(r"\w+")


@dataclass
class Question:
    text: str
    expected: tuple[str, ...]
    heldout: bool = False


@dataclass
class Outcome:
    question: Question
    ours: list[str]
    ours_confident: bool
    ours_score: float
    baseline: list[str]
    baseline_any_match: bool


def load_questions(name: str) -> list[Question]:
    data = yaml.safe_load((BENCH / f"kb_questions_{name}.yaml").read_text(encoding="utf-8"))
    return [
        Question(item["q"], tuple(item.get("expected", ())), bool(item.get("heldout", False)))
        for item in data["questions"]
    ]


class Baseline:
    """Plain BM25 over whole documents: what you get without sections, stemming or synonyms."""

    def __init__(self, root: Path) -> None:
        self.paths = [path.relative_to(root).as_posix() for path in iter_markdown_files(root)]
        documents = [tokens((root / path).read_text(encoding="utf-8")) for path in self.paths]
        self.vocabulary = {token for document in documents for token in document}
        self.bm25 = BM25Okapi(documents)

    def search(self, text: str, limit: int = 3) -> tuple[list[str], bool]:
        query = tokens(text)
        scores = self.bm25.get_scores(query)
        order = sorted(range(len(scores)), key=lambda index: -scores[index])[:limit]
        return [self.paths[index] for index in order], any(token in self.vocabulary for token in query)


def tokens(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def evaluate(kb: KnowledgeBase, baseline: Baseline, root: Path, questions: list[Question]) -> list[Outcome]:
    outcomes = []
    for question in questions:
        results = kb.search(question.text, limit=3)
        ours = [result.path.relative_to(root).as_posix() for result in results]
        theirs, any_match = baseline.search(question.text)
        best = results.best.score if results.best else 0.0
        outcomes.append(Outcome(question, ours, results.is_confident, best, theirs, any_match))
    return outcomes


def hit(found: list[str], expected: tuple[str, ...], depth: int) -> bool:
    return any(path in expected for path in found[:depth])


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "  n/a"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runbooks", type=Path, default=DEFAULT_RUNBOOKS)
    parser.add_argument("--misses", action="store_true", help="list the questions we get wrong")
    args = parser.parse_args()

    corpora = [("bundled", DEFAULT_ARTICLES_DIR), ("runbooks", args.runbooks)]
    offtopic = load_questions("offtopic")
    rows, rejection_rows, misses = [], [], []
    for name, root in corpora:
        kb = KnowledgeBase.load([root])
        baseline = Baseline(root)
        questions = load_questions(name)
        outcomes = evaluate(kb, baseline, root.resolve(), questions)
        n = len(outcomes)
        rows.append(
            (
                name,
                len(kb.articles),
                n,
                sum(hit(o.ours, o.question.expected, 1) for o in outcomes),
                sum(hit(o.ours, o.question.expected, 3) for o in outcomes),
                sum(hit(o.baseline, o.question.expected, 1) for o in outcomes),
                sum(hit(o.baseline, o.question.expected, 3) for o in outcomes),
                sum(o.ours_confident and hit(o.ours, o.question.expected, 1) for o in outcomes),
                sum(o.ours_confident and not hit(o.ours, o.question.expected, 1) for o in outcomes),
            )
        )
        off = evaluate(kb, baseline, root.resolve(), offtopic)
        for heldout in (False, True):
            part = [o for o in off if o.question.heldout is heldout]
            label = f"{name} ({'held out' if heldout else 'calibration'})"
            rejection_rows.append(
                (label, len(part), sum(not o.ours_confident for o in part), sum(not o.baseline_any_match for o in part))
            )
        misses.extend((name, o) for o in outcomes if not hit(o.ours, o.question.expected, 1))
        misses.extend((name, o) for o in off if o.ours_confident)

    print("Knowledge-base search: top-k accuracy (expected article among the first k results)\n")
    print(f"{'corpus':<10}{'articles':>9}{'questions':>10} | {'ours top-1':>11}{'ours top-3':>11} | {'BM25 top-1':>11}{'BM25 top-3':>11}")
    for name, articles, n, o1, o3, b1, b3, _, _ in rows:
        print(f"{name:<10}{articles:>9}{n:>10} | {percent(o1, n):>11}{percent(o3, n):>11} | {percent(b1, n):>11}{percent(b3, n):>11}")
    print("\nConfidence on on-topic questions (ours): confident and right / confident but wrong top-1")
    for name, _, n, *_, right, wrong in rows:
        print(f"{name:<10} {percent(right, n)} confident and right, {percent(wrong, n)} confident but wrong")
    print("\nOff-topic questions rejected (not confident)")
    for name, n, ours, theirs in rejection_rows:
        print(f"{name:<25} ours {percent(ours, n)} | BM25 (no word in common) {percent(theirs, n)}   ({n} questions)")

    if args.misses:
        print("\nMisses (top-1 wrong, or off-topic answered confidently):")
        for name, o in misses:
            flag = "confident" if o.ours_confident else "not confident"
            print(f"  [{name}] {o.question.text!r} ({flag}, {o.ours_score:.2f})")
            print(f"      expected {list(o.question.expected)}")
            print(f"      got      {o.ours}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
