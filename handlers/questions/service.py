"""Questions asked of the knowledge base: the answer, the asker's feedback, tickets, and the gaps.

Every question is stored (kb_questions) before the answer is shown, so its feedback buttons always
point at a row. Feedback moves the row's outcome with conditional UPDATEs; a ticket goes through
IssueService.report, the same path as `/issue new`, so it is posted in the help-desk channel like any
staff-reported issue. The rows that found no good answer are what `/kb gaps` lists for managers.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from handlers.issues.log import IssueChange, NewIssue
from handlers.issues.service import IssueService
from handlers.periods import Period, parse_period
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.roles import Role, RoleChecker
from knowledge_base import Article, KnowledgeBase, SearchResults
from storage.models import KbQuestion, QuestionOutcome, utcnow
from storage.repositories.issue import IssueRepository
from storage.repositories.feedback import KbQuestionRepository

QUESTION_LIMIT = 2000  # characters kept of a question (a pasted log is not a better question)
RESULT_LIMIT = 3  # the answer and up to two alternatives, or up to three "might be related"
GAP_OUTCOMES = (QuestionOutcome.NO_ANSWER, QuestionOutcome.NOT_HELPFUL, QuestionOutcome.TICKET)
GAP_ROWS_LIMIT = 2000  # newest questions read for one /kb gaps answer
QUESTION_EVENT = "kb_question"  # issue_events kind: the issue started as a question to the KB

_SOLVABLE = (QuestionOutcome.ANSWERED, QuestionOutcome.NO_ANSWER, QuestionOutcome.NOT_HELPFUL)
_NOT_TICKETED = (
    QuestionOutcome.ANSWERED,
    QuestionOutcome.NO_ANSWER,
    QuestionOutcome.SOLVED,
    QuestionOutcome.NOT_HELPFUL,
)
_WORDS = re.compile(r"\w+")


@dataclass(frozen=True)
class Answer:
    """A stored question with what the knowledge base found for it."""

    question_id: int
    question: str
    asked_by: str
    results: SearchResults

    @property
    def confident(self) -> bool:
        return self.results.is_confident


@dataclass(frozen=True)
class TicketDraft:
    """What the ticket form is prefilled with."""

    question_id: int
    question: str
    suggested: str | None  # "Title › Section" of the answer shown, or of the closest match
    answered: bool  # True when `suggested` was shown as the answer, False when it was only a near miss
    category: str | None


@dataclass(frozen=True)
class GapGroup:
    """Questions that read alike once stop words and synonyms are set aside."""

    question: str  # the newest wording
    count: int
    last_asked: datetime
    outcomes: dict[str, int]
    issue_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class GapReport:
    period: Period
    total: int  # questions in the period without a good answer
    groups: list[GapGroup] = field(default_factory=list)
    capped: bool = False  # more than GAP_ROWS_LIMIT questions: only the newest were grouped


@dataclass(frozen=True)
class Reloaded:
    articles: int
    problems: tuple[str, ...]


class QuestionService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        knowledge: KnowledgeBaseLoader,
        issues: IssueService,
        roles: RoleChecker,
        *,
        tz: tzinfo,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`tz` is the team's time zone: what "week" and "month" mean in `/kb gaps`."""
        self._sessionmaker = sessionmaker
        self._knowledge = knowledge
        self._issues = issues
        self._roles = roles
        self._tz = tz
        self._clock = clock

    async def ask(self, question: str, asker: str, channel: str | None) -> Answer:
        """Search, and store the question with its best match before anything is shown."""
        question = question.strip()[:QUESTION_LIMIT]
        if not question:
            raise InvalidInput("Ask a question after the command, e.g. `/ask I can't log in`.")
        kb = await self._knowledge.get()
        results = kb.search(question, limit=RESULT_LIMIT)
        best = results.best
        async with self._sessionmaker.begin() as session:
            row = await KbQuestionRepository(session).add(
                KbQuestion(
                    asked_at=self._clock(),
                    asked_by=asker,
                    channel=channel,
                    question=question,
                    article_path=best.article_id if best else None,
                    section=best.section if best else None,
                    score=best.score if best else None,
                    confident=results.is_confident,
                    outcome=QuestionOutcome.ANSWERED if results.is_confident else QuestionOutcome.NO_ANSWER,
                )
            )
        return Answer(row.id, question, asker, results)

    async def article(self, article_id: str) -> Article:
        """The whole article behind a "Show" button; its id may be gone after a reload."""
        article = (await self._knowledge.get()).article(article_id)
        if article is None:
            raise NotFound(
                "That article is no longer in the knowledge base (it was renamed or removed). "
                "Ask again to get the current answer."
            )
        return article

    async def mark_solved(self, question_id: int, user: str) -> KbQuestion:
        """“This solved it”: idempotent for the asker, refused for anyone else."""
        async with self._sessionmaker.begin() as session:
            questions = KbQuestionRepository(session)
            row = await self._own_question(questions, question_id, user)
            if row.outcome == QuestionOutcome.SOLVED:
                return row
            solved = await questions.set_outcome(question_id, QuestionOutcome.SOLVED, expected=_SOLVABLE, at=self._clock())
            current = await questions.get(question_id)
            if not solved and (current is None or current.outcome != QuestionOutcome.SOLVED):
                raise self._ticketed(current)  # a ticket got there first
            return current or row

    async def start_ticket(self, question_id: int, user: str) -> TicketDraft:
        """“Didn't help”: remember it, and say what to prefill the ticket form with."""
        async with self._sessionmaker.begin() as session:
            questions = KbQuestionRepository(session)
            row = await self._own_question(questions, question_id, user)
            if row.outcome in (QuestionOutcome.ANSWERED, QuestionOutcome.SOLVED):
                changed = await questions.set_outcome(
                    question_id,
                    QuestionOutcome.NOT_HELPFUL,
                    expected=(QuestionOutcome.ANSWERED, QuestionOutcome.SOLVED),
                    at=self._clock(),
                )
                row = await questions.get(question_id) or row
                if not changed and row.outcome == QuestionOutcome.TICKET:
                    raise self._ticketed(row)
            elif row.outcome == QuestionOutcome.TICKET:
                raise self._ticketed(row)
        return self._draft(row, self._knowledge.current)

    async def open_ticket(self, question_id: int, new: NewIssue, user: str) -> IssueChange:
        """Open the issue for the asker and link the question to it.

        The question is claimed first (outcome `ticket`), so a second submission cannot open a
        second issue; if the issue cannot be saved, the claim is given back."""
        async with self._sessionmaker.begin() as session:
            questions = KbQuestionRepository(session)
            row = await self._own_question(questions, question_id, user)
            previous = QuestionOutcome(row.outcome)
            now = self._clock()
            if not await questions.set_outcome(question_id, QuestionOutcome.TICKET, expected=_NOT_TICKETED, at=now):
                raise self._ticketed(await questions.get(question_id))
        try:
            change = await self._issues.report(new, user)
        except Exception:
            async with self._sessionmaker.begin() as session:
                await KbQuestionRepository(session).set_outcome(
                    question_id, previous, expected=(QuestionOutcome.TICKET,), at=row.feedback_at
                )
            raise
        async with self._sessionmaker.begin() as session:
            await KbQuestionRepository(session).set_outcome(
                question_id, QuestionOutcome.TICKET, expected=(QuestionOutcome.TICKET,), at=change.at,
                issue_id=change.issue_id,
            )
            draft = self._draft(row, self._knowledge.current)
            await IssueRepository(session).add_event(
                change.issue_id,
                actor=user,
                kind=QUESTION_EVENT,
                summary=_question_summary(draft),
                detail={"question_id": question_id, "article": row.article_path, "section": row.section,
                        "confident": row.confident},
                at=change.at,
            )
        return change

    async def gaps(self, user: str, period_text: str | None) -> GapReport:
        """Questions without a good answer in the period, grouped by what they ask, newest first."""
        await self._roles.require(user, Role.MANAGER, "see the questions the knowledge base could not answer")
        period = parse_period(period_text, self._clock(), self._tz)
        async with self._sessionmaker() as session:
            rows = await KbQuestionRepository(session).list_by_outcome(
                period.start, period.end, GAP_OUTCOMES, limit=GAP_ROWS_LIMIT + 1
            )
        capped = len(rows) > GAP_ROWS_LIMIT
        rows = rows[:GAP_ROWS_LIMIT]
        return GapReport(period, len(rows), group_questions(rows, self._knowledge.current), capped)

    async def reload(self, user: str) -> Reloaded:
        """Re-read the articles now (the watcher does it on file changes; this is for doubters)."""
        await self._roles.require(user, Role.MANAGER, "reload the knowledge base")
        kb = await self._knowledge.reload()
        problems = tuple(f"{path.name}: {problem}" for path, problem in kb.report.problems)
        return Reloaded(len(kb.articles), problems)

    @staticmethod
    async def _own_question(questions: KbQuestionRepository, question_id: int, user: str) -> KbQuestion:
        row = await questions.get(question_id)
        if row is None:
            raise NotFound("I have no record of that question any more: ask it again.")
        if row.asked_by != user:
            raise PermissionDenied(
                f"Only <@{row.asked_by}>, who asked, can answer for this question. "
                "Ask yours with `/ask …` to get your own buttons."
            )
        return row

    @staticmethod
    def _ticketed(row: KbQuestion | None) -> Conflict:
        if row is not None and row.issue_id is not None:
            return Conflict(f"This question already became issue #{row.issue_id}.")
        return Conflict("A ticket is already being opened for this question.")

    @staticmethod
    def _draft(row: KbQuestion, kb: KnowledgeBase | None) -> TicketDraft:
        article = kb.article(row.article_path) if kb is not None and row.article_path else None
        title = article.title if article is not None else row.article_path
        suggested = " › ".join(part for part in (title, row.section) if part) or None
        category = article.category if article is not None else None
        return TicketDraft(row.id, row.question, suggested, row.confident, category if row.confident else None)


def _question_summary(draft: TicketDraft) -> str:
    if draft.suggested and draft.answered:
        return f"Asked the knowledge base first; {draft.suggested} did not help"
    return "Asked the knowledge base first; it had no good answer"


def gap_key(question: str, kb: KnowledgeBase | None) -> str:
    """What a question asks, order and filler words aside: "disk is full" and "full disk?" match.

    The KB's own analysis is used when it is loaded, so synonyms ("db", "database") count as one."""
    if kb is not None:
        concepts = kb.analyze(question).concepts
        key = " ".join(sorted({concept.phrases[0] for concept in concepts if concept.phrases}))
        if key:
            return key
    return " ".join(_WORDS.findall(question.lower()))


def group_questions(rows: Sequence[KbQuestion], kb: KnowledgeBase | None) -> list[GapGroup]:
    """Rows newest first in, groups newest first out, each named by its newest wording."""
    order: list[str] = []
    members: dict[str, list[KbQuestion]] = {}
    for row in rows:
        key = gap_key(row.question, kb)
        if key not in members:
            order.append(key)
            members[key] = []
        members[key].append(row)
    groups = []
    for key in order:
        found = members[key]
        groups.append(
            GapGroup(
                question=found[0].question,
                count=len(found),
                last_asked=found[0].asked_at,
                outcomes=dict(Counter(row.outcome for row in found)),
                issue_ids=tuple(sorted({row.issue_id for row in found if row.issue_id is not None})),
            )
        )
    return groups
