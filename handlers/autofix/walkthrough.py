"""Walking a person through a runbook's manual steps, one at a time, in the issue's thread.

A walkthrough run stays `running` while it waits at a manual step: the step is posted in the
thread with Done / Skip / Stuck — escalate. A click records the step in the run and in the issue's
timeline (who, when) in one transaction with the issue row locked, so two clicks on one step record
it once; the service then goes on from the next step (automatic steps run by themselves) and, after
the last, the run awaits verification like any other. Nothing waits in memory: a click after a
restart carries on from the stored steps, and the deadline job ends a walkthrough left unfinished.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from delivery.outbox import OutboxWriter
from handlers.autofix.blocks import build_step_request
from handlers.autofix.params import ParameterRefused, PlannedManual, RunPlan, plan_run
from handlers.autofix.runbooks import Runbook, RunbookCatalog
from handlers.autofix.runner import StepOutcome
from handlers.errors import Conflict, InvalidInput, NotFound
from storage.models import RunbookRun, RunbookRunStatus
from storage.repositories.alert import AlertRepository
from storage.repositories.autofix import RunbookRunRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.outbox import OutboxRepository

STEP_EVENT_KIND = "autofix_step"  # one timeline entry per step checked off
MATCH_ALERT_LIMIT = 10
_STEP_VALUE = re.compile(r"([0-9]{1,18}):([0-9]{1,2})")
NOT_A_STEP = "This button does not point at a runbook step."


def parse_step_value(value: str) -> tuple[int, int]:
    """(run id, step number) from a step button's value; InvalidInput for anything else."""
    found = _STEP_VALUE.fullmatch(value or "")
    if found is None or int(found.group(2)) < 1:
        raise InvalidInput(NOT_A_STEP)
    return int(found.group(1)), int(found.group(2))


@dataclass(frozen=True)
class CheckedOff:
    """A step recorded: what the clicked message now shows, and what the run does next."""

    run_id: int
    issue_id: int
    runbook: Runbook
    plan: RunPlan
    number: int
    step: PlannedManual
    verdict: str
    user_id: str
    at: datetime
    records: tuple[dict[str, Any], ...]  # every step so far as stored, this one included
    requested_by: str
    started_at: datetime

    @property
    def total(self) -> int:
        return len(self.plan.steps)


def outcome_from_record(record: Mapping[str, Any]) -> StepOutcome:
    return StepOutcome(
        name=str(record.get("name", "")), kind=str(record.get("kind", "")), status=str(record.get("status", "")),
        seconds=float(record.get("seconds", 0.0)), detail=str(record.get("detail", "")),
        output=str(record.get("output", "")),
    )


def walkthrough_digest(records: Sequence[Mapping[str, Any]]) -> str:
    """The audit digest of a walkthrough: its steps as recorded (who checked off what, when), since
    its automatic steps' output spans several tasks that cannot share one running hash."""
    return hashlib.sha256(json.dumps(list(records), sort_keys=True, default=str).encode()).hexdigest()


async def ask_for_step(
    session: AsyncSession, writer: OutboxWriter, run_id: int, issue_id: int, plan: RunPlan, number: int
) -> None:
    """Post step `number` in the thread with its buttons (inside the caller's transaction)."""
    step = plan.steps[number - 1]
    assert isinstance(step, PlannedManual)
    message = build_step_request(plan.runbook, run_id, number, len(plan.steps), step)
    await writer.thread_reply(OutboxRepository(session), issue_id, message["text"], blocks=message["blocks"])


async def replan(session: AsyncSession, catalog: RunbookCatalog, run: RunbookRun) -> RunPlan:
    """The run's plan again, from its runbook and the issue's alerts (a click may come after a restart)."""
    runbook = catalog.get(run.runbook_id)
    if runbook is None:
        raise Conflict(f"Runbook {run.runbook_id} is no longer configured: nothing was recorded.")
    alerts = await AlertRepository(session).list_for_issue(run.issue_id, limit=MATCH_ALERT_LIMIT)
    labels = [alert.labels for alert in alerts]
    chosen = next((found for found in labels if runbook.matches(found)), labels[0] if labels else {})
    try:
        return plan_run(runbook, chosen)
    except ParameterRefused as refused:
        raise Conflict(f"Runbook {runbook.title} cannot go on: {refused.describe()}.") from None


async def record_check_off(
    session: AsyncSession, catalog: RunbookCatalog, run_id: int, number: int, verdict: str, user_id: str,
    now: datetime,
) -> CheckedOff:
    """Record step `number` of run `run_id` as done, skipped or stuck, once; Conflict when it is not
    the step the run waits at (already checked off, or the run ended)."""
    runs = RunbookRunRepository(session)
    run = await runs.get(run_id)
    if run is None:
        raise NotFound("This runbook run no longer exists.")
    await IssueRepository(session).get(run.issue_id, for_update=True)  # one click at a time per issue
    run = await runs.get(run_id)
    assert run is not None
    records = list(run.steps or [])
    _check_waiting(run, records, number)
    plan = await replan(session, catalog, run)
    step = plan.steps[number - 1] if number <= len(plan.steps) else None
    if not isinstance(step, PlannedManual):
        raise Conflict(f"Step {number} is no longer a step of runbook {plan.runbook.title}: nothing was recorded.")
    since = _last_moment(records, run.started_at)
    outcome = StepOutcome(step.name, step.kind, verdict, max(0.0, (now - since).total_seconds()),
                          f"{verdict} by {user_id}", step.text)
    records.append({**outcome.as_record(), "by": user_id, "at": now.isoformat()})
    if not await runs.transition(run_id, from_status=RunbookRunStatus.RUNNING, steps=records):
        raise Conflict("This runbook run ended meanwhile: nothing was recorded.")
    total = len(plan.steps)
    await IssueRepository(session).add_event(
        run.issue_id, actor=user_id, kind=STEP_EVENT_KIND,
        summary=f"Runbook {plan.runbook.title}, step {number}/{total} {verdict}: {step.name}",
        detail={"run_id": run_id, "runbook": run.runbook_id, "step": number, "of": total, "outcome": verdict},
        at=now,
    )
    return CheckedOff(
        run_id=run_id, issue_id=run.issue_id, runbook=plan.runbook, plan=plan, number=number, step=step,
        verdict=verdict, user_id=user_id, at=now, records=tuple(records),
        requested_by=run.requested_by, started_at=run.started_at,
    )


def _check_waiting(run: RunbookRun, records: list[dict[str, Any]], number: int) -> None:
    if number <= len(records):
        record = records[number - 1]
        by = record.get("by")
        whom = f" by <@{by}>" if by else ""
        raise Conflict(f"Step {number} was already checked off{whom} ({record.get('status')}).")
    if run.status != RunbookRunStatus.RUNNING:
        raise Conflict(f"This walkthrough has ended ({run.status}): nothing was recorded.")
    if number != len(records) + 1:
        raise Conflict(f"Step {number} is not the step this walkthrough waits at (step {len(records) + 1}).")


def _last_moment(records: Sequence[Mapping[str, Any]], started_at: datetime) -> datetime:
    """When the step now checked off was asked for: the previous check-off, else the run's start."""
    for record in reversed(records):
        at = record.get("at")
        if isinstance(at, str):
            try:
                moment = datetime.fromisoformat(at)
            except ValueError:
                continue
            return moment if moment.tzinfo else moment.replace(tzinfo=started_at.tzinfo)
    return started_at

