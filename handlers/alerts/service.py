"""Alert ingestion: webhook deliveries become issues, alert rows and outbox items, durably.

Each alert is upserted by (source, fingerprint); new ones open issues (or join a storm's grouped
issue), repeats refresh the existing message, resolutions resolve the issue. All Slack work is
written to the outbox in the same transaction, so an accepted webhook is never lost.

Deliveries that arrive while a transaction is running are committed together (group commit): on
SQLite every statement costs a thread hop, so amortising BEGIN/COMMIT and using one multi-row
INSERT per table is what makes a thousand alerts a second possible.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import OpsConfig, Priority
from handlers.alerts.blocks import build_resolved_line, build_storm_thread_lines
from handlers.alerts.parsers import AlertBatch, IncomingAlert
from handlers.issues.lifecycle import IssueLifecycle
from handlers.outbox import OutboxWriter
from storage.models import Alert, AlertStatus, Issue, IssueEvent, IssueStatus, utcnow
from storage.repositories import AlertRepository, IssueRepository, OutboxRepository

log = logging.getLogger(__name__)

_PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}
MAX_BATCHES_PER_TRANSACTION = 64


@dataclass
class IngestResult:
    new: int = 0
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0
    issues_opened: int = 0
    issues_resolved: int = 0


@dataclass
class _UnitOfWork:
    session: AsyncSession
    issues: IssueRepository
    alerts: AlertRepository
    outbox: OutboxRepository


@dataclass
class _Pending:
    batch: AlertBatch
    done: asyncio.Future[IngestResult]


@dataclass
class _NewIssue:
    issue: Issue
    alerts: list[IncomingAlert]
    grouped: bool


@dataclass
class _Plan:
    """What one delivery changes, gathered before the multi-row writes."""

    new_issues: list[_NewIssue] = field(default_factory=list)
    joined: list[tuple[Issue, list[IncomingAlert]]] = field(default_factory=list)


class AlertService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: OpsConfig,
        outbox_writer: OutboxWriter,
        lifecycle: IssueLifecycle | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._config = config
        self._writer = outbox_writer
        self._lifecycle = lifecycle or IssueLifecycle()
        self._clock = clock
        self._queue: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None

    async def ingest(self, batch: AlertBatch) -> IngestResult:
        """Store one delivery; returns once it is committed (possibly together with others)."""
        pending = _Pending(batch, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued(), name="opsbot-alert-commit")
        return await pending.done

    async def _commit_queued(self) -> None:
        while self._queue:
            group = self._queue[:MAX_BATCHES_PER_TRANSACTION]
            del self._queue[: len(group)]
            try:
                results = await self._commit(group)
            except Exception as error:  # noqa: BLE001 - isolate the delivery that failed from the others
                if len(group) == 1:
                    group[0].done.set_exception(error)
                else:
                    log.warning("%d deliveries failed together; retrying them one by one", len(group))
                    for pending in group:
                        await self._commit_alone(pending)
                continue
            self._writer.wake()
            for pending, result in zip(group, results):
                pending.done.set_result(result)

    async def _commit_alone(self, pending: _Pending) -> None:
        try:
            [result] = await self._commit([pending])
        except Exception as error:  # noqa: BLE001 - handed to the waiting request, which answers 503
            pending.done.set_exception(error)
        else:
            self._writer.wake()
            pending.done.set_result(result)

    async def _commit(self, group: list[_Pending]) -> list[IngestResult]:
        results = []
        async with self._sessionmaker.begin() as session:
            uow = _UnitOfWork(session, IssueRepository(session), AlertRepository(session), OutboxRepository(session))
            with session.no_autoflush:
                for pending in group:
                    result = IngestResult()
                    await self._ingest(uow, pending.batch, result)
                    results.append(result)
        return results

    async def _ingest(self, uow: _UnitOfWork, batch: AlertBatch, result: IngestResult) -> None:
        now = self._clock()
        known = await uow.alerts.get_by_fingerprints(batch.source, [alert.fingerprint for alert in batch.alerts])
        touched_issues: set[int] = set()
        new_firing: list[IncomingAlert] = []
        seen: set[str] = set()
        for incoming in batch.alerts:
            if incoming.fingerprint in seen:  # the same alert twice in one body: first one wins
                result.ignored += 1
                continue
            seen.add(incoming.fingerprint)
            alert = known.get(incoming.fingerprint)
            if alert is None or (alert.status == AlertStatus.RESOLVED and incoming.status == AlertStatus.FIRING):
                if incoming.status == AlertStatus.FIRING:
                    new_firing.append(incoming)
                else:
                    result.ignored += 1  # a resolve for an alert we never saw firing
                continue
            if incoming.status == AlertStatus.FIRING:
                alert.times_fired += 1
                alert.last_seen_at = now
                alert.labels, alert.annotations = incoming.labels, incoming.annotations
                result.repeated += 1
            elif alert.status == AlertStatus.FIRING:
                alert.status = AlertStatus.RESOLVED
                alert.ends_at = incoming.ends_at or now
                alert.last_seen_at = now
                result.resolved += 1
            else:
                result.ignored += 1  # Alertmanager repeats a resolved alert once more
                continue
            if alert.issue_id is not None:
                touched_issues.add(alert.issue_id)

        if new_firing:
            plan = await self._plan(uow, batch, new_firing, now)
            await self._write_plan(uow, batch, plan, known, now, result, touched_issues)
        await uow.session.flush()
        if touched_issues:
            await self._settle_issues(uow, sorted(touched_issues), batch.source, now, result)

    async def _plan(self, uow: _UnitOfWork, batch: AlertBatch, new_firing: list[IncomingAlert], now: datetime) -> _Plan:
        """Decide, per (channel, key) bucket, whether alerts get their own issues or form a storm."""
        storm = self._config.storm
        by_batch_group = batch.group_key is not None and len(new_firing) >= storm.threshold
        buckets: dict[tuple[str, str], list[IncomingAlert]] = defaultdict(list)
        for incoming in new_firing:
            channel = self._config.channel_for(incoming.labels)
            key = f"group:{batch.group_key}" if by_batch_group else f"alertname:{incoming.alertname}"
            buckets[(channel, f"{channel}|{key}"[:500])].append(incoming)

        since = now - timedelta(seconds=storm.window_seconds)
        recent = await uow.issues.recent_in_groups([group_key for _, group_key in buckets], since)
        plan = _Plan()
        for (channel, group_key), incoming_alerts in buckets.items():
            in_group = [issue for issue in recent if issue.group_key == group_key]
            open_group = next((i for i in reversed(in_group) if i.is_grouped and i.is_open), None)
            if open_group is not None:
                plan.joined.append((open_group, incoming_alerts))
            elif len(in_group) + len(incoming_alerts) >= storm.threshold:
                issue = self._new_issue(incoming_alerts, channel, group_key, now, grouped=True)
                plan.new_issues.append(_NewIssue(issue, incoming_alerts, grouped=True))
            else:
                for incoming in incoming_alerts:
                    issue = self._new_issue([incoming], channel, group_key, now, grouped=False)
                    plan.new_issues.append(_NewIssue(issue, [incoming], grouped=False))
        return plan

    async def _write_plan(
        self,
        uow: _UnitOfWork,
        batch: AlertBatch,
        plan: _Plan,
        known: dict[str, Alert],
        now: datetime,
        result: IngestResult,
        touched_issues: set[int],
    ) -> None:
        uow.session.add_all([new.issue for new in plan.new_issues])
        await uow.session.flush()  # one multi-row INSERT ... RETURNING gives every new issue its id
        events: list[IssueEvent] = []
        for new in plan.new_issues:
            first = new.alerts[0]
            events.append(
                IssueEvent(
                    issue_id=new.issue.id,
                    actor=first.source,
                    kind="opened",
                    summary="Alert storm grouped into one issue" if new.grouped else f"Opened from {first.source} alert",
                    detail={"alertname": first.alertname, "labels": first.labels},
                    at=now,
                )
            )
            for incoming in new.alerts:
                self._link_alert(uow, incoming, known, new.issue, batch, now)
            result.issues_opened += 1
            result.new += len(new.alerts)
        await self._writer.render_issues(uow.outbox, [new.issue.id for new in plan.new_issues], new=True)
        for new in plan.new_issues:
            if new.grouped:
                await self._writer.thread_reply(
                    uow.outbox, new.issue.id, build_storm_thread_lines(new.alerts, truncated=batch.truncated_alerts)
                )
        for issue, incoming_alerts in plan.joined:
            for incoming in incoming_alerts:
                self._link_alert(uow, incoming, known, issue, batch, now)
            self._raise_priority(issue, incoming_alerts)
            await self._writer.thread_reply(
                uow.outbox, issue.id, build_storm_thread_lines(incoming_alerts, truncated=batch.truncated_alerts)
            )
            events.append(
                IssueEvent(
                    issue_id=issue.id,
                    actor=batch.source,
                    kind="alerts_grouped",
                    summary=f"{len(incoming_alerts)} alert(s) joined the group",
                    detail={"fingerprints": [alert.fingerprint for alert in incoming_alerts][:200]},
                    at=now,
                )
            )
            touched_issues.add(issue.id)
            result.new += len(incoming_alerts)
        uow.session.add_all(events)
        for new in plan.new_issues:
            await self._lifecycle.opened(uow.session, new.issue, new.alerts[0].source)

    def _new_issue(
        self, alerts: list[IncomingAlert], channel: str, group_key: str, now: datetime, *, grouped: bool
    ) -> Issue:
        first = alerts[0]
        if grouped:
            title = f"{first.alertname}: alert storm"
            description = first.annotations.get("description", "")
        else:
            title = first.annotations.get("summary") or first.annotations.get("title") or first.alertname
            description = first.annotations.get("description") or first.annotations.get("message", "")
        return Issue(
            reported_at=now,
            reported_by=first.source,
            source=first.source,
            title=title[:500],
            description=description,
            priority=self._highest_priority(alerts),
            category=self._config.category_for(first.labels),
            status=IssueStatus.OPEN,
            channel=channel,
            group_key=group_key,
            is_grouped=grouped,
            updated_at=now,
        )

    @staticmethod
    def _link_alert(
        uow: _UnitOfWork, incoming: IncomingAlert, known: dict[str, Alert], issue: Issue, batch: AlertBatch, now: datetime
    ) -> None:
        alert = known.get(incoming.fingerprint)
        if alert is None:
            alert = Alert(source=incoming.source, fingerprint=incoming.fingerprint, times_fired=1, first_seen_at=now)
            uow.session.add(alert)
            known[incoming.fingerprint] = alert
        else:  # fired again after it had resolved: a new occurrence, a new issue
            alert.times_fired += 1
        alert.alertname = incoming.alertname[:255]
        alert.status = AlertStatus.FIRING
        alert.labels, alert.annotations = incoming.labels, incoming.annotations
        alert.starts_at, alert.ends_at = incoming.starts_at, None
        alert.generator_url = incoming.generator_url
        alert.group_key = batch.group_key
        alert.last_seen_at = now
        alert.issue_id = issue.id

    async def _settle_issues(
        self, uow: _UnitOfWork, issue_ids: list[int], source: str, now: datetime, result: IngestResult
    ) -> None:
        """After alerts changed: resolve issues where none still fires, and refresh their messages."""
        issues = await uow.issues.get_many(issue_ids)
        counts = await uow.alerts.counts_for_issues(issue_ids)
        for issue_id in issue_ids:
            issue = issues.get(issue_id)
            total, firing = counts.get(issue_id, (0, 0))
            if issue is None or firing or not total or not issue.is_open:
                continue
            issue.status = IssueStatus.RESOLVED
            issue.resolved_at = now
            issue.resolved_by = source
            issue.resolution = issue.resolution or f"Alert resolved ({source})"
            issue.resolution_seconds = max(0, int((now - issue.reported_at).total_seconds()))
            issue.updated_at = now
            await uow.issues.add_event(issue_id, actor=source, kind="resolved", summary="All alerts resolved", at=now)
            await self._writer.thread_reply(uow.outbox, issue_id, build_resolved_line(issue, source))
            await self._lifecycle.resolved(uow.session, issue, source)
            result.issues_resolved += 1
        await self._writer.render_issues(uow.outbox, [i for i in issue_ids if i in issues])

    def _highest_priority(self, alerts: list[IncomingAlert]) -> Priority:
        return min((self._config.priority_for(alert.labels) for alert in alerts), key=_PRIORITY_RANK.__getitem__)

    def _raise_priority(self, issue: Issue, alerts: list[IncomingAlert]) -> None:
        candidate = self._highest_priority(alerts)
        if _PRIORITY_RANK[candidate] < _PRIORITY_RANK.get(Priority(issue.priority), 1):
            issue.priority = candidate

