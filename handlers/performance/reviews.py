"""Post-incident reviews: "Start a review" on a High-priority issue drafts one from what opsbot knows.

The draft has the issue's timeline, its root cause, what was tried, the KPIs in the hour before,
during and the hour after the incident, and actions with owners (the adjustments made since it
began, and what the review must still settle). It is kept in `incident_reviews` (one per issue),
posted in the issue's thread through the outbox, and offered as a Markdown document that "Save to
KB drafts" writes into the knowledge base's drafts folder (front matter `draft: true`: the loader
leaves drafts out of answers until someone publishes them).
"""

from __future__ import annotations

import asyncio
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.errors import InvalidInput, NotFound
from delivery.outbox import SlackOperation, issue_ordering_key
from handlers.performance.blocks import build_review_thread
from handlers.performance.evaluation import format_target, format_value
from handlers.performance.ids import REVIEW_PRIORITY
from handlers.performance.kpis import KpiSource, Window
from handlers.performance.rendering import REVIEW_DOCUMENT_TEMPLATE, REVIEW_TEMPLATE, PerformanceTemplates
from knowledge_base.models import CATEGORIES
from storage.models import Issue, IssueEvent, utcnow
from storage.models.performance import IncidentReview
from storage.repositories.alert import AlertRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.performance import AdjustmentRepository, IncidentReviewRepository, PeriodIssueRepository

AROUND = timedelta(hours=1)  # the KPIs in the hour before the incident and the hour after it
TRIED_KINDS = ("autofix_started", "autofix_run", "escalated", "escalation_acknowledged", "comment", "assigned")
SKIPPED_KINDS = ("denied",)
MAX_ACTIONS = 10


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    text: str
    actor: str | None = None


@dataclass(frozen=True)
class KpiAround:
    name: str
    target: str
    before: str
    during: str
    after: str


@dataclass(frozen=True)
class ReviewAction:
    text: str
    owner: str
    due: date | None = None


@dataclass(frozen=True)
class ReviewDraft:
    issue: Issue
    started_by: str
    started_at: datetime
    tz_name: str
    category: str
    timeline: Sequence[TimelineEntry]
    tried: Sequence[TimelineEntry]
    kpis: Sequence[KpiAround]
    kpi_problem: str | None
    actions: Sequence[ReviewAction] = field(default_factory=tuple)


@dataclass(frozen=True)
class StartedReview:
    review_id: int
    issue_id: int
    markdown: str
    filename: str
    started_by: str
    started_at: datetime
    new: bool  # False: somebody had started it already
    channel: str | None = None  # the issue message, whose thread gets the Markdown file
    thread_ts: str | None = None


def review_filename(issue_id: int) -> str:
    return f"incident-{issue_id}-review.md"


class ReviewService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        source: KpiSource,
        templates: PerformanceTemplates,
        *,
        drafts_dir: Path | None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._source = source
        self._templates = templates
        self.drafts_dir = drafts_dir
        self._clock = clock

    async def start(self, issue_id: int, user: str) -> StartedReview:
        async with self._sessionmaker() as session:
            issue = await IssueRepository(session).get(issue_id)
            if issue is None:
                raise NotFound(f"Issue #{issue_id} does not exist any more.")
            if issue.priority != REVIEW_PRIORITY:
                raise InvalidInput(f"Reviews are drafted for {REVIEW_PRIORITY}-priority issues; #{issue_id} is {issue.priority}.")
            existing = await IncidentReviewRepository(session).get_for_issue(issue_id)
            if existing is not None:
                return await self._started(session, existing, new=False)
            events = list(await PeriodIssueRepository(session).list_events(issue_id))
            alerts = await AlertRepository(session).list_for_issue(issue_id, limit=1)
            adjustments = await AdjustmentRepository(session).list_made_since(issue.reported_at, limit=MAX_ACTIONS)
            session.expunge(issue)
        first_fired = alerts[0].starts_at if alerts else None
        now = self._clock()
        kpis, problem = await self._kpis_around(issue, now)
        draft = ReviewDraft(
            issue=issue,
            started_by=user,
            started_at=now,
            tz_name=str(self._templates.tz),
            category=issue.category if issue.category in CATEGORIES else "other",
            timeline=_timeline(issue, events, first_fired),
            tried=[_entry(event) for event in events if event.kind in TRIED_KINDS],
            kpis=kpis,
            kpi_problem=problem,
            actions=_actions(issue, user, adjustments),
        )
        markdown = self._templates.document(REVIEW_DOCUMENT_TEMPLATE, {"review": draft})
        sections = self._templates.sections(REVIEW_TEMPLATE, {"review": draft})
        async with self._sessionmaker.begin() as session:
            review = await IncidentReviewRepository(session).add(
                IncidentReview(issue_id=issue_id, started_at=now, started_by=user, markdown=markdown)
            )
            if review is None:  # a second click won the race
                existing = await IncidentReviewRepository(session).get_for_issue(issue_id)
                assert existing is not None
                return await self._started(session, existing, new=False)
            text, blocks = build_review_thread(sections, review_id=review.id, can_save=self.drafts_dir is not None)
            message = await SlackMessageRepository(session).get_for_issue(issue_id)
            outbox = OutboxRepository(session)
            if message is not None:
                await outbox.enqueue(
                    SlackOperation.THREAD_REPLY, {"text": text, "blocks": blocks},
                    ordering_key=issue_ordering_key(issue_id), issue_id=issue_id,
                )
            else:  # the issue message was never posted: the draft goes to whoever asked for it
                await outbox.enqueue(
                    SlackOperation.DIRECT_MESSAGE, {"user": user, "text": text, "blocks": blocks},
                    ordering_key=f"user:{user}", issue_id=issue_id,
                )
            return await self._started(session, review, new=True)

    async def _started(self, session: AsyncSession, review: IncidentReview, *, new: bool) -> StartedReview:
        message = await SlackMessageRepository(session).get_for_issue(review.issue_id)
        return StartedReview(
            review_id=review.id,
            issue_id=review.issue_id,
            markdown=review.markdown,
            filename=review_filename(review.issue_id),
            started_by=review.started_by,
            started_at=review.started_at,
            new=new,
            channel=message.channel if message else None,
            thread_ts=message.ts if message else None,
        )

    async def _kpis_around(self, issue: Issue, now: datetime) -> tuple[list[KpiAround], str | None]:
        began = issue.reported_at
        ended = issue.resolved_at or now
        windows = {
            "before": Window.of(began - AROUND, began, now),
            "during": Window.of(began, ended, now),
            "after": Window.of(ended, ended + AROUND, now) if issue.resolved_at else None,
        }
        read = await asyncio.gather(*(self._source.read(w) for w in windows.values() if w is not None))
        found = iter(read)
        readings = {name: next(found) if window is not None else None for name, window in windows.items()}
        failed = next((r.unavailable for r in read if r.unavailable), None)
        if failed:
            return [], f"No KPI figures: {self._source.problem(failed)}"
        lines = []
        for kpi in self._source.kpis:
            shown = {
                name: format_value(kpi, reading.get(kpi.key)) if reading is not None else "—"
                for name, reading in readings.items()
            }
            lines.append(KpiAround(kpi.name, format_target(kpi), shown["before"], shown["during"], shown["after"]))
        return lines, None

    async def save(self, review_id: int, user: str) -> Path:
        """Write the review into the drafts folder (replacing an earlier save of it); returns the file's path."""
        if self.drafts_dir is None:
            raise InvalidInput("No knowledge-base drafts folder is configured (performance.drafts_dir or KB_PATHS).")
        async with self._sessionmaker() as session:
            review = await IncidentReviewRepository(session).get(review_id)
        if review is None:
            raise NotFound("This review does not exist any more.")
        path = self.drafts_dir / review_filename(review.issue_id)
        _write_atomically(path, review.markdown)
        async with self._sessionmaker.begin() as session:
            await IncidentReviewRepository(session).mark_saved(review_id, path=str(path), at=self._clock(), by=user)
        return path


def _entry(event: IssueEvent) -> TimelineEntry:
    return TimelineEntry(event.at, event.summary or event.kind.replace("_", " "), event.actor)


def _timeline(issue: Issue, events: Sequence[IssueEvent], first_fired: datetime | None) -> list[TimelineEntry]:
    entries = [_entry(event) for event in events if event.kind not in SKIPPED_KINDS]
    if not any(event.kind == "opened" for event in events):
        entries.append(TimelineEntry(issue.reported_at, f"Issue reported: {issue.title}", issue.reported_by))
    if first_fired is not None and first_fired < issue.reported_at:
        entries.append(TimelineEntry(first_fired, "The alert started firing"))
    if issue.resolved_at and not any(event.kind == "resolved" for event in events):
        entries.append(TimelineEntry(issue.resolved_at, "Resolved", issue.resolved_by))
    return sorted(entries, key=lambda entry: entry.at)


def _actions(issue: Issue, user: str, adjustments: Sequence) -> list[ReviewAction]:  # type: ignore[type-arg]
    lead = issue.resolved_by or issue.assignee or issue.acknowledged_by or user
    actions = [ReviewAction(f"{a.area}: {a.change}", a.made_by, a.follow_up_on) for a in adjustments]
    if not issue.root_cause:
        actions.append(ReviewAction("Find the root cause and record it on the issue", lead))
    actions.append(ReviewAction("Agree the preventive actions in the review and log them with /adjustment", user))
    return actions[:MAX_ACTIONS]


def _write_atomically(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".review-", suffix=".md")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
