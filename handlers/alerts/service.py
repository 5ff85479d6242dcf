"""Alert ingestion: one transaction per webhook delivery.

Each alert is upserted by (source, fingerprint); new ones open issues (or join a storm's grouped
issue), repeats refresh the existing message, resolutions resolve the issue. All Slack work is
written to the outbox in the same transaction, so an accepted webhook is never lost.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.config import OpsConfig, Priority
from handlers.alerts.blocks import build_resolved_line, build_storm_thread_lines
from handlers.alerts.parsers import AlertBatch, IncomingAlert
from handlers.issues.lifecycle import IssueLifecycle
from handlers.outbox import OutboxWriter
from storage.models import Alert, AlertStatus, Issue, IssueStatus, utcnow
from storage.repositories import AlertRepository, IssueRepository, OutboxRepository

_PRIORITY_RANK = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


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

    async def ingest(self, batch: AlertBatch) -> IngestResult:
        result = IngestResult()
        async with self._sessionmaker.begin() as session:
            uow = _UnitOfWork(session, IssueRepository(session), AlertRepository(session), OutboxRepository(session))
            await self._ingest(uow, batch, result)
        self._writer.wake()
        return result

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

        await self._open_issues(uow, batch, new_firing, known, now, result, touched_issues)
        await uow.session.flush()
        for issue_id in sorted(touched_issues):
            await self._settle_issue(uow, issue_id, batch.source, now, result)

    async def _open_issues(
        self,
        uow: _UnitOfWork,
        batch: AlertBatch,
        new_firing: list[IncomingAlert],
        known: dict[str, Alert],
        now: datetime,
        result: IngestResult,
        touched_issues: set[int],
    ) -> None:
        storm = self._config.storm
        by_batch_group = batch.group_key is not None and len(new_firing) >= storm.threshold
        buckets: dict[tuple[str, str], list[IncomingAlert]] = defaultdict(list)
        for incoming in new_firing:
            channel = self._config.channel_for(incoming.labels)
            key = f"group:{batch.group_key}" if by_batch_group else f"alertname:{incoming.alertname}"
            buckets[(channel, key)].append(incoming)

        since = now - timedelta(seconds=storm.window_seconds)
        for (channel, key), incoming_alerts in buckets.items():
            group_key = f"{channel}|{key}"[:500]
            grouped = await uow.issues.find_open_group(group_key, since)
            if grouped is None:
                recent = await uow.issues.count_reported_for_group(group_key, since)
                if recent + len(incoming_alerts) >= storm.threshold:
                    grouped = await self._new_issue(uow, incoming_alerts, channel, group_key, now, grouped=True)
                    result.issues_opened += 1
            if grouped is not None:
                for incoming in incoming_alerts:
                    await self._link_alert(uow, incoming, known, grouped, batch, now)
                await self._raise_priority(grouped, incoming_alerts)
                await self._writer.thread_reply(
                    uow.outbox,
                    grouped.id,
                    build_storm_thread_lines(incoming_alerts, truncated=batch.truncated_alerts),
                )
                await uow.issues.add_event(
                    grouped.id,
                    actor=batch.source,
                    kind="alerts_grouped",
                    summary=f"{len(incoming_alerts)} alert(s) joined the group",
                    detail={"fingerprints": [alert.fingerprint for alert in incoming_alerts][:200]},
                    at=now,
                )
                touched_issues.add(grouped.id)
                result.new += len(incoming_alerts)
                continue
            for incoming in incoming_alerts:
                issue = await self._new_issue(uow, [incoming], channel, group_key, now, grouped=False)
                await self._link_alert(uow, incoming, known, issue, batch, now)
                await self._writer.render_issue(uow.outbox, issue.id)
                result.issues_opened += 1
                result.new += 1

    async def _new_issue(
        self,
        uow: _UnitOfWork,
        alerts: list[IncomingAlert],
        channel: str,
        group_key: str,
        now: datetime,
        *,
        grouped: bool,
    ) -> Issue:
        first = alerts[0]
        if grouped:
            title = f"{first.alertname}: alert storm"
            description = first.annotations.get("description", "")
        else:
            title = first.annotations.get("summary") or first.annotations.get("title") or first.alertname
            description = first.annotations.get("description") or first.annotations.get("message", "")
        issue = await uow.issues.add(
            Issue(
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
            )
        )
        await uow.issues.add_event(
            issue.id,
            actor=first.source,
            kind="opened",
            summary="Alert storm grouped into one issue" if grouped else f"Opened from {first.source} alert",
            detail={"alertname": first.alertname, "labels": first.labels},
            at=now,
        )
        if grouped:
            await self._writer.render_issue(uow.outbox, issue.id)
        return issue

    async def _link_alert(
        self,
        uow: _UnitOfWork,
        incoming: IncomingAlert,
        known: dict[str, Alert],
        issue: Issue,
        batch: AlertBatch,
        now: datetime,
    ) -> None:
        alert = known.get(incoming.fingerprint)
        if alert is None:
            alert = await uow.alerts.add(
                Alert(
                    source=incoming.source,
                    fingerprint=incoming.fingerprint,
                    alertname=incoming.alertname[:255],
                    times_fired=1,
                    first_seen_at=now,
                    status=AlertStatus.FIRING,
                    labels={},
                    annotations={},
                    starts_at=incoming.starts_at,
                )
            )
        else:  # fired again after it had resolved: a new occurrence, a new issue
            alert.times_fired += 1
        alert.status = AlertStatus.FIRING
        alert.labels, alert.annotations = incoming.labels, incoming.annotations
        alert.starts_at, alert.ends_at = incoming.starts_at, None
        alert.generator_url = incoming.generator_url
        alert.group_key = batch.group_key
        alert.last_seen_at = now
        alert.issue_id = issue.id

    async def _settle_issue(
        self, uow: _UnitOfWork, issue_id: int, source: str, now: datetime, result: IngestResult
    ) -> None:
        """After alerts changed: resolve the issue when none still fires, and refresh its message."""
        issue = await uow.issues.get(issue_id)
        if issue is None:
            return
        total, firing = await uow.alerts.count_for_issue(issue_id)
        if firing == 0 and total > 0 and issue.is_open:
            issue.status = IssueStatus.RESOLVED
            issue.resolved_at = now
            issue.resolved_by = source
            issue.resolution = issue.resolution or f"Alert resolved ({source})"
            issue.resolution_seconds = max(0, int((now - issue.reported_at).total_seconds()))
            await uow.issues.add_event(
                issue_id, actor=source, kind="resolved", summary="All alerts resolved", at=now
            )
            await self._writer.thread_reply(uow.outbox, issue_id, build_resolved_line(issue, source))
            await self._lifecycle.resolved(uow.session, issue, source)
            result.issues_resolved += 1
        await self._writer.render_issue(uow.outbox, issue_id)

    def _highest_priority(self, alerts: list[IncomingAlert]) -> Priority:
        return min((self._config.priority_for(alert.labels) for alert in alerts), key=_PRIORITY_RANK.__getitem__)

    async def _raise_priority(self, issue: Issue, alerts: list[IncomingAlert]) -> None:
        candidate = self._highest_priority(alerts)
        if _PRIORITY_RANK[candidate] < _PRIORITY_RANK.get(Priority(issue.priority), 1):
            issue.priority = candidate
