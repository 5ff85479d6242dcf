"""AutofixService: who may run which runbook on an issue, when, and the run itself in the background.

A run is recorded (runbook_runs row, issue_events row, thread line) in the same transaction that
decides it may start, with the issue row locked so two clicks cannot both start one. The steps then
run in a task of our own, never in the Slack request; each step's result is stored and posted
through the outbox as it completes. A walkthrough stops at each manual step until a person checks
it off (walkthrough.py), then goes on in a new task from the stored steps.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.autofix.blocks import (
    AUTO_ACTOR,
    build_crashed_line,
    build_escalation_detail,
    build_failed_line,
    build_refused_line,
    build_started_line,
    build_step_line,
    build_stuck_line,
    build_succeeded_line,
    build_walkthrough_finished_line,
)
from handlers.autofix.params import ParameterRefused, PlannedManual, RunPlan, plan_run
from handlers.autofix.results import ConfirmationNeeded, RunRefused, RunStarted, StartResult, Trigger
from handlers.autofix.runbooks import Runbook, RunbookCatalog, RunbookMatch
from handlers.autofix.runner import StepOutcome, StepRunner, StepStatus
from handlers.autofix.walkthrough import (
    CheckedOff,
    ask_for_step,
    outcome_from_record,
    record_check_off,
    walkthrough_digest,
)
from handlers.autofix.verification import AutofixVerification, EscalationReason, Escalator, escalate
from handlers.slack.blockkit import humanize_duration, slack_date
from handlers.errors import Conflict, InvalidInput, NotFound
from delivery.outbox import OutboxWriter
from handlers.roles import Role, RoleChecker
from storage.models import Issue, OutboxItem, RunbookRun, RunbookRunStatus, utcnow
from storage.repositories.alert import AlertRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.autofix import RunbookRunRepository

log = logging.getLogger(__name__)

MATCH_ALERT_LIMIT = 10  # the alerts an issue message shows: the button and the run see the same ones
AUTOFIX_START_OPERATION = "autofix.start"  # an outbox row: start the issue's automatic runbook
__all__ = ["AUTOFIX_START_OPERATION", "AutofixService", "ConfirmationNeeded", "RunRefused", "RunStarted",
           "StartResult", "Trigger"]


class AutofixService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        catalog: RunbookCatalog,
        *,
        roles: RoleChecker,
        escalator: Escalator,
        environ: Mapping[str, str],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._roles = roles
        self._escalator = escalator
        self._clock = clock
        self.catalog = catalog
        self.runner = StepRunner(environ)
        self.verification = AutofixVerification(sessionmaker, writer, catalog, escalator, clock)
        self._tasks: set[asyncio.Task[None]] = set()
        self._active_runs: set[int] = set()

    # lifecycle hooks and the periodic job --------------------------------------------------------

    async def on_resolved(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        await self.verification.on_resolved(session, issue, actor)

    async def on_opened(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        """IssueLifecycle hook: ask for the issue's `auto` runbook through the outbox.

        The request is a row written in the alert's own transaction, so a crash between that commit
        and the run cannot lose it: the delivery worker hands it to `start_requested` after a restart
        too. Nothing is decided inside the alert transaction (which batches many deliveries), and a
        rolled-back transaction requests nothing."""
        if not self.catalog.has_auto:
            return
        await OutboxRepository(session).enqueue(
            AUTOFIX_START_OPERATION, {"issue_id": issue.id}, ordering_key=f"autofix:{issue.id}", issue_id=issue.id
        )

    async def start_requested(self, item: OutboxItem) -> None:
        """The delivery worker's performer for AUTOFIX_START_OPERATION: start the automatic run.

        Safe to repeat: a run already going (or the runbook's cool-down) refuses a second one, so an
        item retried after a crash starts nothing twice."""
        await self._start_automatically(int(item.payload["issue_id"]))

    async def check_deadlines(self) -> None:
        await self.verification.check_deadlines(lambda run_id: run_id in self._active_runs)

    # what the Slack listeners call -------------------------------------------------------------

    async def request(self, issue_id: int, user_id: str) -> ConfirmationNeeded | StartResult:
        """The Auto-fix button: start the matching runbook, or ask for confirmation first."""
        await self._require_operator(issue_id, user_id)
        async with self._sessionmaker() as session:
            issue, match = await self._matching(session, issue_id, None, auto_only=False)
            await self._check_may_run(RunbookRunRepository(session), issue_id, match.runbook)
        if match.runbook.confirm:
            try:
                plan = plan_run(match.runbook, match.labels)
            except ParameterRefused:
                return await self._start(issue_id, match.runbook.id, user_id, Trigger.BUTTON)
            return ConfirmationNeeded(issue_id, issue.title, plan)
        return await self._start(issue_id, match.runbook.id, user_id, Trigger.BUTTON)

    async def confirm(self, issue_id: int, runbook_id: str, user_id: str) -> StartResult:
        """The confirmation modal was submitted: check everything again (time has passed) and start."""
        await self._require_operator(issue_id, user_id)
        return await self._start(issue_id, runbook_id, user_id, Trigger.BUTTON)

    async def check_off(self, run_id: int, number: int, verdict: str, user_id: str) -> CheckedOff:
        """A walkthrough step's Done / Skip / Stuck: record it, then go on (or stop and escalate when stuck)."""
        await self._roles.require(user_id, Role.RESPONDER, "check off runbook steps")
        async with self._sessionmaker.begin() as session:
            checked = await record_check_off(session, self.catalog, run_id, number, verdict, user_id, self._clock())
        self._active_runs.add(run_id)
        work = self._execute(run_id, checked.issue_id, checked.plan, checked.requested_by,
                             done=checked.records, started_at=checked.started_at)
        self._spawn(work, run_id)
        return checked

    async def close(self) -> None:
        """Shutdown: cancel runs in flight (their processes are killed); the deadline job ends their rows."""
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def wait_idle(self) -> None:
        """Wait until no run is in flight (tests use it before stopping the bot)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)

    # starting ----------------------------------------------------------------------------------

    async def _require_operator(self, issue_id: int, user_id: str) -> None:
        """Refuse without the operator role, and keep the refusal in the issue's audit trail."""
        if await self._roles.has(user_id, Role.OPERATOR):
            return
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            if await issues.get(issue_id) is not None:
                await issues.add_event(
                    issue_id, actor=user_id, kind="denied", summary="Refused: run auto-fix",
                    detail={"role": Role.OPERATOR.value}, at=self._clock(),
                )
        await self._roles.require(user_id, Role.OPERATOR, "run auto-fix")

    async def _matching(
        self, session: AsyncSession, issue_id: int, runbook_id: str | None, *, auto_only: bool, lock: bool = False
    ) -> tuple[Issue, RunbookMatch]:
        issue = await IssueRepository(session).get(issue_id, for_update=lock)
        if issue is None:
            raise NotFound(f"Issue #{issue_id} does not exist.")
        if not issue.is_open:
            raise Conflict(f"Issue #{issue_id} is already {issue.status.lower()}: there is nothing to fix.")
        alerts = await AlertRepository(session).list_for_issue(issue_id, limit=MATCH_ALERT_LIMIT)
        match = self.catalog.match([alert.labels for alert in alerts], auto_only=auto_only)
        if match is None:
            raise InvalidInput(f"No runbook applies to the alerts of issue #{issue_id}.")
        if runbook_id is not None and match.runbook.id != runbook_id:
            raise Conflict(f"Runbook {runbook_id} no longer applies to issue #{issue_id}; nothing was run.")
        return issue, match

    async def _check_may_run(self, runs: RunbookRunRepository, issue_id: int, runbook: Runbook) -> None:
        """One run at a time per issue, a cool-down between runs, and a maximum number of attempts."""
        running = await runs.running_for_issue(issue_id)
        if running is not None:
            raise Conflict(
                f"Runbook {running.runbook_id} is already running on issue #{issue_id} "
                f"(started {slack_date(running.started_at, '{time}')}); follow it in the thread."
            )
        attempts = await runs.count_for(issue_id, runbook.id)
        if attempts >= runbook.max_attempts:
            raise Conflict(
                f"Runbook {runbook.title} already ran {attempts} times on issue #{issue_id}, its maximum: "
                "escalate the issue instead."
            )
        latest = await runs.latest_for(issue_id, runbook.id)
        if latest is not None:
            ended = latest.finished_at or latest.started_at
            ready_at, now = ended + runbook.cooldown, self._clock()
            if ready_at > now:
                wait = humanize_duration((ready_at - now).total_seconds() + 59)  # round up to whole minutes
                raise Conflict(
                    f"Runbook {runbook.title} last ran on issue #{issue_id} at {slack_date(ended, '{time}')}; "
                    f"it can run again at {slack_date(ready_at, '{time}')} (in about {wait})."
                )

    async def _start_automatically(self, issue_id: int) -> None:
        try:
            await self._start(issue_id, None, AUTO_ACTOR, Trigger.AUTO)
        except (Conflict, InvalidInput, NotFound) as reason:
            log.info("auto-fix not started for issue %s: %s", issue_id, reason)

    async def _start(self, issue_id: int, runbook_id: str | None, actor: str, trigger: str) -> StartResult:
        now = self._clock()
        automatic = trigger == Trigger.AUTO
        refusal: ParameterRefused | None = None
        async with self._sessionmaker.begin() as session:
            runs = RunbookRunRepository(session)
            _, match = await self._matching(session, issue_id, runbook_id, auto_only=automatic, lock=True)
            runbook = match.runbook
            await self._check_may_run(runs, issue_id, runbook)
            try:
                plan = plan_run(runbook, match.labels)
            except ParameterRefused as refused:
                refusal = refused
            for waiting in await runs.awaiting_verification(issue_id):  # a new attempt takes over verification
                await runs.transition(waiting.id, from_status=RunbookRunStatus.SUCCEEDED,
                                      status=RunbookRunStatus.UNVERIFIED, error=f"superseded by a new run at {now}")
            run = await runs.add(
                RunbookRun(
                    issue_id=issue_id,
                    runbook_id=runbook.id,
                    trigger=trigger,
                    requested_by=actor,
                    status=RunbookRunStatus.REFUSED if refusal else RunbookRunStatus.RUNNING,
                    started_at=now,
                    finished_at=now if refusal else None,
                    error=refusal.describe() if refusal else None,
                    steps=[],
                )
            )
            await self._record_start(session, run, runbook, actor, refusal, automatic)
        self._writer.wake()
        if refusal is not None:
            detail = build_escalation_detail(runbook.title, runbook.id, actor, [], f"Refused: {refusal.describe()}.")
            await escalate(self._escalator, issue_id, EscalationReason.AUTOFIX_REFUSED, detail)
            return RunRefused(issue_id, run.id, runbook, refusal.describe())
        self._active_runs.add(run.id)
        self._spawn(self._execute(run.id, issue_id, plan, actor, started_at=now), run.id)
        return RunStarted(issue_id, run.id, runbook)

    async def _record_start(
        self, session: AsyncSession, run: RunbookRun, runbook: Runbook, actor: str,
        refusal: ParameterRefused | None, automatic: bool,
    ) -> None:
        issues, outbox = IssueRepository(session), OutboxRepository(session)
        if refusal is not None:
            await issues.add_event(
                run.issue_id, actor=actor, kind="autofix_run", summary=f"Runbook {runbook.title}: refused",
                detail={"run_id": run.id, "runbook": runbook.id, "outcome": RunbookRunStatus.REFUSED,
                        "reason": refusal.describe(), "output_digest": None, "trigger": run.trigger},
                at=run.started_at,
            )
            await self._writer.thread_reply(outbox, run.issue_id, build_refused_line(runbook, refusal, escalating=True))
            return
        await issues.add_event(
            run.issue_id, actor=actor, kind="autofix_started", summary=f"Started runbook {runbook.title}",
            detail={"run_id": run.id, "runbook": runbook.id, "trigger": run.trigger}, at=run.started_at,
        )
        await self._writer.thread_reply(outbox, run.issue_id, build_started_line(runbook, actor, automatic=automatic))

    def _spawn(self, work: Any, run_id: int | None) -> None:
        task = asyncio.get_running_loop().create_task(work, name=f"opsbot-autofix-{run_id or 'auto'}")
        self._tasks.add(task)

        def forget(done: asyncio.Task[None]) -> None:
            self._tasks.discard(done)
            if run_id is not None:
                self._active_runs.discard(run_id)

        task.add_done_callback(forget)

    # running -----------------------------------------------------------------------------------

    async def _execute(
        self, run_id: int, issue_id: int, plan: RunPlan, actor: str, *, done: Sequence[dict[str, Any]] = (),
        started_at: datetime,
    ) -> None:
        """Run the steps after those `done` (as stored); a walkthrough stops at its next manual step to ask for it."""
        records = list(done)
        outcomes = [outcome_from_record(record) for record in records]
        digest = hashlib.sha256()
        started = time.monotonic()
        walking = plan.runbook.is_walkthrough
        try:
            for number, step in enumerate(plan.steps, start=1):
                if number <= len(outcomes):
                    if outcomes[number - 1].passed:
                        continue
                    break  # stuck: the run ends here
                if walking and isinstance(step, PlannedManual):
                    async with self._sessionmaker.begin() as session:
                        await ask_for_step(session, self._writer, run_id, issue_id, plan, number)
                    self._writer.wake()
                    return
                outcome = await self.runner.run(step, digest)
                outcomes.append(outcome)
                records.append(outcome.as_record())
                async with self._sessionmaker.begin() as session:
                    await RunbookRunRepository(session).transition(
                        run_id, from_status=RunbookRunStatus.RUNNING, steps=records
                    )
                    line = build_step_line(outcome, number, len(plan.steps))
                    await self._writer.thread_reply(OutboxRepository(session), issue_id, line)
                self._writer.wake()
                if not outcome.passed:
                    break
            if walking:  # its digest covers the stored steps: who checked off what, when
                seconds = (self._clock() - started_at).total_seconds()
                await self._finish(run_id, issue_id, plan, actor, outcomes, "", seconds)
                return
            await self._finish(run_id, issue_id, plan, actor, outcomes, digest.hexdigest(), time.monotonic() - started)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bug must still end the run and reach a person
            log.exception("auto-fix run %s on issue %s crashed", run_id, issue_id)
            await self._finish(run_id, issue_id, plan, actor, outcomes, digest.hexdigest(),
                               time.monotonic() - started, crashed=True)

    async def _finish(
        self, run_id: int, issue_id: int, plan: RunPlan, actor: str, outcomes: list[StepOutcome],
        digest: str, seconds: float, *, crashed: bool = False,
    ) -> None:
        runbook = plan.runbook
        now = self._clock()
        failed = next(((n, o) for n, o in enumerate(outcomes, start=1) if not o.passed), None)
        succeeded = failed is None and not crashed
        status = RunbookRunStatus.SUCCEEDED if succeeded else RunbookRunStatus.FAILED
        error = None if succeeded else (failed[1].detail if failed else "opsbot failed while running it (see logs)")
        excerpt = "\n".join(f"[{o.name}] {o.detail}\n{o.output[-1500:]}" for o in outcomes if o.kind != "manual")
        records = [o.as_record() for o in outcomes]
        async with self._sessionmaker.begin() as session:
            runs = RunbookRunRepository(session)
            deadline = now + runbook.verify_window if succeeded else None
            stored = await runs.get(run_id) if runbook.is_walkthrough else None
            if stored is not None:
                records = list(stored.steps or [])  # who checked off each step, and when
                digest = walkthrough_digest(records)
            if not await runs.transition(
                run_id, from_status=RunbookRunStatus.RUNNING, status=status, finished_at=now, verify_deadline=deadline,
                output_excerpt=excerpt[-8000:], output_digest=digest, error=error, steps=records,
            ):
                return  # the deadline job already ended it as interrupted
            await IssueRepository(session).add_event(
                issue_id, actor=actor, kind="autofix_run", summary=f"Runbook {runbook.title}: {status}",
                detail={"run_id": run_id, "runbook": runbook.id, "outcome": status, "output_digest": digest,
                        "seconds": round(seconds, 3), "error": error, "walkthrough": runbook.is_walkthrough},
                at=now,
            )
            outbox = OutboxRepository(session)
            if succeeded:
                line = (build_walkthrough_finished_line(runbook, outcomes, seconds, deadline) if runbook.is_walkthrough
                        else build_succeeded_line(runbook, seconds, deadline))
                await self._writer.thread_reply(outbox, issue_id, line)
                await self._settle_if_already_resolved(session, run_id, issue_id)
            elif failed is not None and failed[1].status == StepStatus.STUCK:
                by = str(records[failed[0] - 1].get("by", "")) if len(records) >= failed[0] else ""
                await self._writer.thread_reply(outbox, issue_id, build_stuck_line(runbook, failed[0], failed[1].name, by))
            elif failed is not None:
                await self._writer.thread_reply(
                    outbox, issue_id, build_failed_line(runbook, failed[0], failed[1], escalating=True)
                )
            else:
                await self._writer.thread_reply(outbox, issue_id, build_crashed_line(runbook.title))
        self._writer.wake()
        if not succeeded:
            summary = f"Outcome: failed ({error})."
            detail = build_escalation_detail(runbook.title, runbook.id, actor, records, summary, dict(plan.params))
            await escalate(self._escalator, issue_id, EscalationReason.AUTOFIX_FAILED, detail)

    async def _settle_if_already_resolved(self, session: AsyncSession, run_id: int, issue_id: int) -> None:
        """The alert may resolve while the steps still run: then the verdict is due right away."""
        issue = await IssueRepository(session).get(issue_id)
        run = await RunbookRunRepository(session).get(run_id)
        if issue is not None and run is not None and not issue.is_open:
            await self.verification.settle(session, run, issue)
