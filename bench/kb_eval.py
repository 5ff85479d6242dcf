"""Knowledge-base search quality: our FTS5 search against a plain BM25 baseline, same run.

    .venv/bin/python bench/kb_eval.py [--runbooks DIR] [--misses]

For each corpus it prints top-1 and top-3 accuracy (an expected article among the first 1 / 3
results), for our search and for the baseline (rank-bm25's BM25Okapi over whole files,
lowercase word tokens, nothing else). It then prints how many on-topic questions we answer
confidently, and the off-topic rejection rate (questions that must come back not confident).
The baseline has no confidence measure; its "rejection" counts questions sharing no word at all
with any file, the only refusal plain BM25 can make. Off-topic questions marked `heldout` were
written after the confidence threshold was chosen and are reported on their own.

Section accuracy: each on-topic question lists the sections that answer it (`section:`, else the
file's `default_section`: the actionable ones, Quick checks/Fix or Diagnosis/Mitigation); an
answer is right when its top-1 article is expected and the section it leads with is one of them
(a subsection counts as its top-level section). "Leads with context" is the share of right
articles opened at Symptoms, Meaning, Impact or the introduction instead.

Not sure: questions with no `expected` article (kb_questions_everyday.yaml's near misses, such as
"how do I reset my VPN", and every off-topic one) should come back not confident. Not-sure
precision is the share of not-sure replies that were right to be (the rest were on-topic
questions we could have answered); recall is the share of should-be-not-sure questions that got it.
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


CONTEXT_SECTIONS = ("", "Symptoms", "Meaning", "Impact")


@dataclass
class Question:
    text: str
    expected: tuple[str, ...]
    heldout: bool = False
    sections: tuple[str, ...] = ()
    """Accepted lead sections (top-level headings); empty when the question expects no article."""


@dataclass
class Outcome:
    question: Question
    ours: list[str]
    ours_confident: bool
    ours_score: float
    baseline: list[str]
    baseline_any_match: bool
    ours_section: str = ""
    """The top-level heading of the section the first result leads with."""

    @property
    def section_right(self) -> bool:
        return hit(self.ours, self.question.expected, 1) and self.ours_section in self.question.sections


def load_questions(name: str) -> list[Question]:
    data = yaml.safe_load((BENCH / f"kb_questions_{name}.yaml").read_text(encoding="utf-8"))
    default = tuple(data.get("default_section", ()))
    questions = []
    for item in data["questions"]:
        expected = tuple(item.get("expected", ()))
        sections = item.get("section", default) if expected else ()
        sections = (sections,) if isinstance(sections, str) else tuple(sections)
        questions.append(Question(item["q"], expected, bool(item.get("heldout", False)), sections))
    return questions


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
        section = results.best.section.split(" › ")[0] if results.best else ""
        outcomes.append(Outcome(question, ours, results.is_confident, best, theirs, any_match, section))
    return outcomes


def hit(found: list[str], expected: tuple[str, ...], depth: int) -> bool:
    return any(path in expected for path in found[:depth])


def percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:5.1f} %" if whole else "  n/a"


QUESTION_SETS = {"bundled": ("bundled", "everyday"), "runbooks": ("runbooks",)}
"""Question files (kb_questions_<name>.yaml) asked of each corpus, besides the off-topic ones."""


@dataclass
class CorpusRun:
    name: str
    articles: int
    on_topic: dict[str, list[Outcome]]
    """Per question file, the questions that have an expected article."""
    should_not_be_sure: dict[str, list[Outcome]]
    """Near misses (questions without an expected article) and off-topic ones, by label."""


def run_corpus(name: str, root: Path, offtopic: list[Question]) -> CorpusRun:
    kb = KnowledgeBase.load([root])
    baseline = Baseline(root)
    on_topic, unsure = {}, {}
    for file in QUESTION_SETS[name]:
        questions = load_questions(file)
        on_topic[file] = evaluate(kb, baseline, root.resolve(), [q for q in questions if q.expected])
        for heldout in (False, True):
            near = [q for q in questions if not q.expected and q.heldout is heldout]
            if near:
                label = f"{file} (no article{', held out' if heldout else ''})"
                unsure[label] = evaluate(kb, baseline, root.resolve(), near)
    off = evaluate(kb, baseline, root.resolve(), offtopic)
    for heldout in (False, True):
        unsure[f"off-topic ({'held out' if heldout else 'calibration'})"] = [o for o in off if o.question.heldout is heldout]
    return CorpusRun(name, len(kb.articles), on_topic, unsure)


def print_report(runs: list[CorpusRun]) -> None:
    print("Knowledge-base search: top-k accuracy (expected article among the first k results)\n")
    print(f"{'questions':<20}{'articles':>9}{'asked':>7} | {'ours top-1':>11}{'ours top-3':>11} | {'BM25 top-1':>11}{'BM25 top-3':>11}")
    for run in runs:
        for file, outcomes in run.on_topic.items():
            n = len(outcomes)
            o1, o3 = (sum(hit(o.ours, o.question.expected, k) for o in outcomes) for k in (1, 3))
            b1, b3 = (sum(hit(o.baseline, o.question.expected, k) for o in outcomes) for k in (1, 3))
            label = f"{run.name}/{file}" if file != run.name else run.name
            print(f"{label:<20}{run.articles:>9}{n:>7} | {percent(o1, n):>11}{percent(o3, n):>11} | "
                  f"{percent(b1, n):>11}{percent(b3, n):>11}")

    print("\nAnswers (ours): article right, section right (article and lead section), section right when the")
    print("article is, answer led with context (Symptoms/Meaning/Impact/intro) when the article is right")
    print(f"{'questions':<20}{'article':>9}{'section':>9}{'sect|art':>10}{'context':>9}")
    for run in runs:
        for file, outcomes in run.on_topic.items():
            n = len(outcomes)
            right = [o for o in outcomes if hit(o.ours, o.question.expected, 1)]
            sections = sum(o.section_right for o in outcomes)
            context = sum(o.ours_section in CONTEXT_SECTIONS for o in right)
            label = f"{run.name}/{file}" if file != run.name else run.name
            print(f"{label:<20}{percent(len(right), n):>9}{percent(sections, n):>9}"
                  f"{percent(sections, len(right)):>10}{percent(context, len(right)):>9}")

    print("\nConfidence on on-topic questions (ours): confident and right / confident but wrong top-1")
    for run in runs:
        for file, outcomes in run.on_topic.items():
            n = len(outcomes)
            right = sum(o.ours_confident and hit(o.ours, o.question.expected, 1) for o in outcomes)
            wrong = sum(o.ours_confident and not hit(o.ours, o.question.expected, 1) for o in outcomes)
            label = f"{run.name}/{file}" if file != run.name else run.name
            print(f"{label:<20} {percent(right, n)} confident and right, {percent(wrong, n)} confident but wrong")

    print("\nQuestions that must get \"not sure\" (ours) | BM25 (no word in common)")
    for run in runs:
        for label, outcomes in run.should_not_be_sure.items():
            n = len(outcomes)
            ours = sum(not o.ours_confident for o in outcomes)
            theirs = sum(not o.baseline_any_match for o in outcomes)
            print(f"{run.name + ' ' + label:<41} ours {percent(ours, n)} | BM25 {percent(theirs, n)}   ({n} questions)")

    print("\nNot-sure replies: precision (right to be unsure) and recall (unsure when it should be)")
    for run in runs:
        answered = [o for outcomes in run.on_topic.values() for o in outcomes]
        unsure = [o for outcomes in run.should_not_be_sure.values() for o in outcomes]
        wrongly = sum(not o.ours_confident for o in answered)
        rightly = sum(not o.ours_confident for o in unsure)
        print(f"{run.name:<10} precision {percent(rightly, rightly + wrongly)} ({rightly} of {rightly + wrongly}), "
              f"recall {percent(rightly, len(unsure))} ({rightly} of {len(unsure)})")


def print_misses(runs: list[CorpusRun]) -> None:
    print("\nMisses (top-1 wrong, section wrong, or answered confidently although it should not be):")
    for run in runs:
        for outcomes in run.on_topic.values():
            for o in outcomes:
                if not o.section_right:
                    flag = "confident" if o.ours_confident else "not confident"
                    print(f"  [{run.name}] {o.question.text!r} ({flag}, {o.ours_score:.2f})")
                    print(f"      expected {list(o.question.expected)} at {list(o.question.sections)}")
                    print(f"      got      {o.ours} at {o.ours_section!r}")
        for outcomes in run.should_not_be_sure.values():
            for o in outcomes:
                if o.ours_confident:
                    print(f"  [{run.name}] {o.question.text!r} should be not sure; got {o.ours[:1]} ({o.ours_score:.2f})")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runbooks", type=Path, default=DEFAULT_RUNBOOKS)
    parser.add_argument("--misses", action="store_true", help="list the questions we get wrong")
    args = parser.parse_args()

    offtopic = load_questions("offtopic")
    runs = [run_corpus(name, root, offtopic) for name, root in (("bundled", DEFAULT_ARTICLES_DIR), ("runbooks", args.runbooks))]
    print_report(runs)
    if args.misses:
        print_misses(runs)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
