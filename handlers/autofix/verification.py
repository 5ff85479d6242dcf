"""Did the fix work? A run that succeeded is verified only when the alert's own resolution arrives
within the runbook's verify window; otherwise it is unverified and the issue is escalated.

Every ending is a conditional UPDATE from the run's current status, so the resolution hook, the
deadline job and other replicas can race freely: exactly one of them ends each run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.autofix.blocks import (
    build_escalation_detail,
    build_interrupted_line,
    build_unverified_line,
    build_verified_line,
    resolution_text,
)
from handlers.autofix.runbooks import RunbookCatalog
from delivery.outbox import OutboxWriter
from storage.models import Issue, RunbookRun, RunbookRunStatus
from storage.repositories.alert import AlertRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.autofix import RunbookRunRepository

log = logging.getLogger(__name__)

UNKNOWN_RUNBOOK_MAX_RUNTIME = timedelta(hours=1)


class EscalationReason(StrEnum):
    AUTOFIX_FAILED = "autofix_failed"
    AUTOFIX_REFUSED = "autofix_refused"
    UNVERIFIED = "unverified"


class Escalator(Protocol):
    """The escalation feature, as auto-fix needs it (handlers/escalations: EscalationService)."""

    async def escalate_automatically(self, issue_id: int, *, reason: str, detail: str) -> None: ...


async def escalate(escalator: Escalator, issue_id: int, reason: EscalationReason, detail: str) -> None:
    """Escalation runs after our transaction committed; its failure must not undo what was recorded."""
    try:
        await escalator.escalate_automatically(issue_id, reason=reason.value, detail=detail)
    except Exception:  # noqa: BLE001 - logged with the issue; the run's record and thread line stand
        log.exception("automatic escalation of issue %s (%s) failed", issue_id, reason.value)


class AutofixVerification:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        catalog: RunbookCatalog,
        escalator: Escalator,
        clock: Callable[[], datetime],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._catalog = catalog
        self._escalator = escalator
        self._clock = clock

    def _title(self, run: RunbookRun) -> str:
        runbook = self._catalog.get(run.runbook_id)
        return runbook.title if runbook else run.runbook_id

    async def on_resolved(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """IssueLifecycle hook, inside the resolving transaction: settle any run awaiting verification."""
        runs = await RunbookRunRepository(session).awaiting_verification(issue.id)
        for run in runs:
            await self.settle(session, run, issue)

    async def settle(self, session: AsyncSession, run: RunbookRun, issue: Issue) -> None:
        """The issue was resolved while `run` awaited verification: verified if the alerts resolved in time."""
        now = self._clock()
        total, firing = await AlertRepository(session).count_for_issue(issue.id)
        by_alert = total > 0 and firing == 0
        in_time = run.verify_deadline is not None and now <= run.verify_deadline
        runs = RunbookRunRepository(session)
        title = self._title(run)
        if by_alert and in_time:
            if not await runs.transition(run.id, from_status=RunbookRunStatus.SUCCEEDED,
                                         status=RunbookRunStatus.VERIFIED, verified_at=now):
                return
            runbook = self._catalog.get(run.runbook_id)
            issue.resolution = resolution_text(title, walkthrough=runbook is not None and runbook.is_walkthrough)
            if runbook is not None and runbook.root_cause:
                issue.root_cause = runbook.root_cause
            if runbook is not None and runbook.category:
                issue.root_cause_category = runbook.category
            finished = run.finished_at or run.started_at
            await IssueRepository(session).add_event(
                issue.id,
                actor=run.requested_by,
                kind="autofix_verified",
                summary=f"Runbook {title} verified: the alert resolved",
                detail={"run_id": run.id, "runbook": run.runbook_id},
                at=now,
            )
            line = build_verified_line(title, (now - finished).total_seconds())
        else:
            reason = (
                "the alert resolved after the verify window" if by_alert else "the issue was resolved by hand, "
                "not by the alert"
            )
            if not await runs.transition(run.id, from_status=RunbookRunStatus.SUCCEEDED,
                                         status=RunbookRunStatus.UNVERIFIED, error=reason):
                return
            await IssueRepository(session).add_event(
                issue.id,
                actor=run.requested_by,
                kind="autofix_unverified",
                summary=f"Runbook {title} not verified: {reason}",
                detail={"run_id": run.id, "runbook": run.runbook_id},
                at=now,
            )
            line = build_unverified_line(title, reason, escalating=False)
        outbox = OutboxRepository(session)
        await self._writer.thread_reply(outbox, issue.id, line)
        await self._writer.render_issue(outbox, issue.id)

    async def check_deadlines(self, is_active: Callable[[int], bool]) -> None:
        """Periodic job: runs past their verify deadline become unverified and escalate; runs that
        have been running for longer than their steps allow (the bot stopped) fail and escalate."""
        now = self._clock()
        async with self._sessionmaker() as session:
            runs = RunbookRunRepository(session)
            overdue = await runs.ids_past_deadline(now)
            running = await runs.list_running()
        for run_id in overdue:
            await self._end(run_id, RunbookRunStatus.SUCCEEDED, RunbookRunStatus.UNVERIFIED, now)
        for run in running:
            runbook = self._catalog.get(run.runbook_id)
            limit = runbook.max_runtime if runbook else UNKNOWN_RUNBOOK_MAX_RUNTIME
            if not is_active(run.id) and run.started_at + limit < now:
                await self._end(run.id, RunbookRunStatus.RUNNING, RunbookRunStatus.FAILED, now)

    async def _end(self, run_id: int, from_status: str, to_status: str, now: datetime) -> None:
        unverified = to_status == RunbookRunStatus.UNVERIFIED
        error = "the alert was still firing at the verify deadline" if unverified else "interrupted"
        async with self._sessionmaker.begin() as session:
            runs = RunbookRunRepository(session)
            run = await runs.get(run_id)
            if run is None or not await runs.transition(
                run_id, from_status=from_status, status=to_status, error=error, finished_at=run.finished_at or now
            ):
                return
            issue = await IssueRepository(session).get(run.issue_id)
            escalating = issue is not None and issue.is_open
            title = self._title(run)
            await IssueRepository(session).add_event(
                run.issue_id,
                actor=run.requested_by,
                kind="autofix_unverified" if unverified else "autofix_run",
                summary=f"Runbook {title}: {error}",
                detail={"run_id": run.id, "runbook": run.runbook_id, "outcome": to_status, "escalated": escalating},
                at=now,
            )
            if unverified:
                line = build_unverified_line(title, "the alert is still firing", escalating=escalating)
            else:
                runbook = self._catalog.get(run.runbook_id)
                walked = runbook is not None and runbook.is_walkthrough and runbook.has_manual_steps
                line = build_interrupted_line(title, escalating=escalating, walkthrough=walked)
            await self._writer.thread_reply(OutboxRepository(session), run.issue_id, line)
            detail = build_escalation_detail(title, run.runbook_id, run.requested_by, run.steps, f"Outcome: {error}.")
        self._writer.wake()
        if escalating:
            reason = EscalationReason.UNVERIFIED if unverified else EscalationReason.AUTOFIX_FAILED
            await escalate(self._escalator, run.issue_id, reason, detail)
