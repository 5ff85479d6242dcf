"""Alert ingestion: webhook deliveries become issues, alert rows and outbox items, durably.

Each alert is upserted by (source, fingerprint); new ones open issues (or join a storm's grouped
issue, see storms.py), repeats refresh the existing message, resolutions resolve the issue. All
Slack work is written to the outbox in the same transaction, so an accepted webhook is never lost.

Deliveries that arrive while a transaction runs are committed together (group commit) and written
with one multi-row statement per table: on SQLite every statement costs a thread hop, so this is
what makes a thousand alerts a second possible.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.vocabulary import PRIORITY_RANK, Priority
from handlers.alerts.settings import AlertRouting
from handlers.alerts.blocks import build_resolved_line, build_storm_thread_lines
from handlers.alerts.parsers import AlertBatch, IncomingAlert
from handlers.alerts.storms import Bucket, NewAlert, bucket_new_alerts, plan_storms
from handlers.errors import Conflict, NotFound
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.service import IssueService
from handlers.outbox import OutboxWriter
from storage.database import describe_storage_error
from storage.errors import StorageUnavailable
from storage.models import Alert, AlertStatus, IssueStatus, utcnow
from storage.repositories import AlertRepository, IssueRepository, OutboxRepository

log = logging.getLogger(__name__)

MAX_DELIVERIES_PER_TRANSACTION = 64
WRITER_WAIT_SECONDS = 2.0  # how long a webhook waits for the writer before answering 503


@dataclass
class IngestResult:
    new: int = 0
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0
    issues_opened: int = 0
    issues_resolved: int = 0


@dataclass
class _Pending:
    batch: AlertBatch
    done: asyncio.Future[IngestResult]

    @property
    def keys(self) -> set[tuple[str, str]]:
        return {(self.batch.source, alert.fingerprint) for alert in self.batch.alerts}


class _Ingestion:
    """One transaction's worth of deliveries, processed in bulk phases."""

    def __init__(self, service: "AlertService", session: AsyncSession, batches: list[AlertBatch]) -> None:
        self.service = service
        self.session = session
        self.issues = IssueRepository(session)
        self.alerts = AlertRepository(session)
        self.outbox = OutboxRepository(session)
        self.batches = batches
        self.results = [IngestResult() for _ in batches]
        self.now = service._clock()
        self.known: dict[tuple[str, str], Alert] = {}
        self.touched: dict[int, int] = {}  # issue id -> delivery index that touched it first
        self.refired: dict[int, list[IncomingAlert]] = {}  # issue id -> its alerts that fired again
        self.new_alerts: list[NewAlert] = []
        self.alert_rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []

    async def run(self) -> list[IngestResult]:
        await self._load_known()
        self._apply_updates()
        if self.new_alerts:
            await self._open_issues()
        await self.session.flush()  # the UPDATEs of known alerts, before counting what still fires
        if self.touched:
            await self._settle_issues()
        await self.issues.add_events(self.event_rows)
        return self.results

    async def _load_known(self) -> None:
        by_source: dict[str, list[str]] = {}
        for batch in self.batches:
            by_source.setdefault(batch.source, []).extend(alert.fingerprint for alert in batch.alerts)
        for source, fingerprints in by_source.items():
            found = await self.alerts.get_by_fingerprints(source, fingerprints)
            self.known.update({(source, fingerprint): alert for fingerprint, alert in found.items()})

    def _apply_updates(self) -> None:
        for index, batch in enumerate(self.batches):
            result = self.results[index]
            seen: set[str] = set()
            for incoming in batch.alerts:
                if incoming.fingerprint in seen:  # the same alert twice in one body: the first one wins
                    result.ignored += 1
                    continue
                seen.add(incoming.fingerprint)
                alert = self.known.get((batch.source, incoming.fingerprint))
                firing = incoming.status == AlertStatus.FIRING
                if incoming.acknowledged and alert is not None and alert.status == AlertStatus.RESOLVED:
                    result.ignored += 1  # taken after it closed (a late or retried delivery): no new issue
                    continue
                if alert is None or (alert.status == AlertStatus.RESOLVED and firing):
                    if firing:
                        self.new_alerts.append(NewAlert(index, incoming, batch))
                    else:
                        result.ignored += 1  # a resolve for an alert we never saw firing
                    continue
                if firing:
                    alert.times_fired += 0 if incoming.acknowledged else 1  # being taken is not firing again
                    alert.labels, alert.annotations = incoming.labels, incoming.annotations
                    result.repeated += 1
                    if alert.issue_id is not None:
                        self.refired.setdefault(alert.issue_id, []).append(incoming)
                elif alert.status == AlertStatus.FIRING:
                    alert.status = AlertStatus.RESOLVED
                    alert.ends_at = incoming.ends_at or self.now
                    result.resolved += 1
                else:
                    result.ignored += 1  # Alertmanager repeats a resolved alert once more
                    continue
                alert.last_seen_at = self.now
                if alert.issue_id is not None:
                    self.touched.setdefault(alert.issue_id, index)

    async def _open_issues(self) -> None:
        config = self.service._config
        buckets = bucket_new_alerts(self.new_alerts, config.storm, config.channel_for)
        since = self.now - timedelta(seconds=config.storm.window_seconds)
        plan = plan_storms(buckets, await self.issues.recent_in_groups(list(buckets), since), config.storm)

        openings: list[tuple[Bucket, list[NewAlert], bool]] = [(b, [new], False) for b, new in plan.singles]
        openings += [(bucket, bucket.alerts, True) for bucket in plan.new_groups]
        rows = [self._issue_row(bucket, [new.alert for new in alerts], grouped) for bucket, alerts, grouped in openings]
        issue_ids = await self.issues.insert_many(rows)
        writer = self.service._writer
        await writer.render_issues(self.outbox, issue_ids, new=True)
        for issue_id, (bucket, alerts, grouped) in zip(issue_ids, openings):
            first = alerts[0]
            self._event(issue_id, first.alert.source, "opened",
                        "Alert storm grouped into one issue" if grouped else f"Opened from {first.alert.source} alert",
                        {"alertname": first.alert.alertname, "labels": first.alert.labels})
            self._link(alerts, issue_id)
            self.results[first.delivery].issues_opened += 1
            if grouped:
                for reply in self._storm_lines(alerts):
                    await writer.thread_reply(self.outbox, issue_id, reply)
        for issue, bucket in plan.joins:
            self._link(bucket.alerts, issue.id)
            self.service._raise_priority(issue, [new.alert for new in bucket.alerts])
            for reply in self._storm_lines(bucket.alerts):
                await writer.thread_reply(self.outbox, issue.id, reply)
            self._event(issue.id, bucket.alerts[0].alert.source, "alerts_grouped",
                        f"{len(bucket.alerts)} alert(s) joined the group",
                        {"fingerprints": [new.alert.fingerprint for new in bucket.alerts][:200]})
            self.touched.setdefault(issue.id, bucket.alerts[0].delivery)
        await self.alerts.insert_many(self.alert_rows)
        if self.service._lifecycle.on_opened and issue_ids:
            opened = await self.issues.get_many(issue_ids)
            for issue_id, (_, alerts, _) in zip(issue_ids, openings):
                await self.service._lifecycle.opened(self.session, opened[issue_id], alerts[0].alert.source)

    async def _settle_issues(self) -> None:
        """After alerts changed: resolve issues where none still fires, and refresh their messages."""
        issue_ids = sorted(self.touched)
        issues = await self.issues.get_many(issue_ids)
        counts = await self.alerts.counts_for_issues(issue_ids)
        for issue_id, alerts in self.refired.items():
            if issue_id in issues and issues[issue_id].is_open:
                self.service._raise_priority(issues[issue_id], alerts)  # a Warn that became Triggered
        for issue_id in issue_ids:
            issue = issues.get(issue_id)
            total, firing = counts.get(issue_id, (0, 0))
            if issue is None or firing or not total or not issue.is_open:
                continue
            delivery = self.touched[issue_id]
            source = self.batches[delivery].source
            issue.status = IssueStatus.RESOLVED
            issue.resolved_at = self.now
            issue.resolved_by = source
            issue.resolution = issue.resolution or f"Alert resolved ({source})"
            issue.resolution_seconds = max(0, int((self.now - issue.reported_at).total_seconds()))
            issue.updated_at = self.now
            self._event(issue_id, source, "resolved", "All alerts resolved", {})
            await self.service._writer.thread_reply(self.outbox, issue_id, build_resolved_line(issue, source))
            await self.service._lifecycle.resolved(self.session, issue, source)
            self.results[delivery].issues_resolved += 1
        await self.service._writer.render_issues(self.outbox, [i for i in issue_ids if i in issues])

    def _issue_row(self, bucket: Bucket, alerts: list[IncomingAlert], grouped: bool) -> dict[str, Any]:
        first = alerts[0]
        if grouped:
            title = f"{first.alertname}: alert storm"
            description = first.annotations.get("description", "")
        else:
            title = first.annotations.get("summary") or first.annotations.get("title") or first.alertname
            description = first.annotations.get("description") or first.annotations.get("message", "")
        return {
            "reported_at": self.now,
            "reported_by": first.source,
            "source": first.source,
            "title": title[:500],
            "description": description,
            "priority": self.service._highest_priority(alerts),
            "category": self.service._config.category_for(first.labels),
            "status": IssueStatus.OPEN,
            "channel": bucket.channel,
            "group_key": bucket.group_key,
            "is_grouped": grouped,
            "updated_at": self.now,
        }

    def _link(self, alerts: list[NewAlert], issue_id: int) -> None:
        """Point each alert at its issue: an UPDATE for a known alert, a row to insert for a new one."""
        for new in alerts:
            incoming = new.alert
            self.results[new.delivery].new += 1
            values = {
                "alertname": incoming.alertname[:255],
                "status": AlertStatus.FIRING,
                "labels": incoming.labels,
                "annotations": incoming.annotations,
                "starts_at": incoming.starts_at,
                "ends_at": None,
                "generator_url": incoming.generator_url,
                "group_key": new.batch.group_key,
                "last_seen_at": self.now,
                "issue_id": issue_id,
            }
            alert = self.known.get((incoming.source, incoming.fingerprint))
            if alert is None:
                self.alert_rows.append(
                    {"source": incoming.source, "fingerprint": incoming.fingerprint, "times_fired": 1,
                     "first_seen_at": self.now, **values}
                )
                continue
            alert.times_fired += 1  # fired again after it had resolved: a new occurrence, a new issue
            for name, value in values.items():
                setattr(alert, name, value)

    def _storm_lines(self, alerts: list[NewAlert]) -> list[str]:
        """The thread replies listing these alerts: one per chunk, enqueued in order under the issue's key."""
        truncated = sum({new.delivery: new.batch.truncated_alerts for new in alerts}.values())
        return build_storm_thread_lines([new.alert for new in alerts], truncated=truncated)

    def _event(self, issue_id: int, actor: str, kind: str, summary: str, detail: dict[str, Any]) -> None:
        self.event_rows.append(
            {"issue_id": issue_id, "actor": actor, "kind": kind, "summary": summary, "detail": detail, "at": self.now}
        )


def _settle(
    future: asyncio.Future[IngestResult], *, result: IngestResult | None = None, error: BaseException | None = None
) -> None:
    """Hand the outcome to the waiting request, unless it already gave up (withdrawn or cancelled)."""
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)  # type: ignore[arg-type]


def _is_outage(error: BaseException) -> bool:
    """Whether the database failed as a whole, rather than over one delivery's data."""
    return isinstance(error, (OperationalError, InterfaceError, OSError, TimeoutError, StorageUnavailable))


def _as_unavailable(error: BaseException) -> BaseException:
    if isinstance(error, StorageUnavailable) or not _is_outage(error):
        return error
    unavailable = StorageUnavailable(describe_storage_error(error))
    unavailable.__cause__ = error
    return unavailable


class AlertService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        config: AlertRouting,
        outbox_writer: OutboxWriter,
        lifecycle: IssueLifecycle | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._config = config
        self._writer = outbox_writer
        self._lifecycle = lifecycle or IssueLifecycle()
        self._clock = clock
        # Monitoring systems acknowledge through the Acknowledge button's own transition. No Slack
        # role applies to them (the webhook's bearer token is their authority), hence roles left open.
        self._issues = IssueService(sessionmaker, outbox_writer, lifecycle=self._lifecycle, clock=clock)
        self._queue: list[_Pending] = []
        self._committer: asyncio.Task[None] | None = None

    async def ingest(self, batch: AlertBatch, *, writer_wait_seconds: float = WRITER_WAIT_SECONDS) -> IngestResult:
        """Store one delivery; returns once it is committed (possibly together with others).

        A delivery still queued for the writer after `writer_wait_seconds` is withdrawn and refused
        with StorageUnavailable (the webhook answers 503, the sender retries): a held lock or a
        stuck disk must not hold every sender's connection open. Once its transaction has begun it
        is awaited to the end, so an answer never contradicts what was stored.
        """
        pending = _Pending(batch, asyncio.get_running_loop().create_future())
        self._queue.append(pending)
        if self._committer is None or self._committer.done():
            self._committer = asyncio.create_task(self._commit_queued(), name="opsbot-alert-commit")
        try:
            return await asyncio.wait_for(asyncio.shield(pending.done), timeout=writer_wait_seconds)
        except TimeoutError:
            if pending in self._queue:
                self._queue.remove(pending)
                pending.done.cancel()
                raise StorageUnavailable("the database did not take the write in time", retry_after_seconds=2) from None
        return await pending.done

    async def acknowledge_for_source(self, batch: AlertBatch) -> int:
        """Acknowledge the open issues of alerts the sender says were taken (New Relic ACKNOWLEDGED),
        the source as the actor; returns how many. Call after `ingest` stored the delivery.

        One already acknowledged (by a person, or by an earlier delivery of the same news) or no
        longer open is left as it is."""
        fingerprints = [alert.fingerprint for alert in batch.alerts if alert.acknowledged]
        if not fingerprints:
            return 0
        async with self._sessionmaker() as session:
            found = await AlertRepository(session).get_by_fingerprints(batch.source, fingerprints)
        issue_ids = sorted(
            {alert.issue_id for alert in found.values() if alert.issue_id is not None and alert.status == AlertStatus.FIRING}
        )
        acknowledged = 0
        for issue_id in issue_ids:
            try:
                await self._issues.acknowledge(issue_id, batch.source)
            except (Conflict, NotFound):
                continue
            acknowledged += 1
        return acknowledged

    def _take_group(self) -> list[_Pending]:
        """The next deliveries to commit together: in arrival order, stopping before one that
        mentions an alert an earlier one in the group does (so each sees the other's effect)."""
        group: list[_Pending] = []
        keys: set[tuple[str, str]] = set()
        while self._queue and len(group) < MAX_DELIVERIES_PER_TRANSACTION:
            candidate_keys = self._queue[0].keys
            if group and keys & candidate_keys:
                break
            keys |= candidate_keys
            group.append(self._queue.pop(0))
        return group

    async def _commit_queued(self) -> None:
        while self._queue:
            group = self._take_group()
            try:
                results = await self._commit(group)
            except Exception as error:  # noqa: BLE001 - isolate the delivery that failed from the others
                if len(group) == 1 or _is_outage(error):
                    # The database itself failed (down, locked, full): retrying one by one would
                    # only make each sender wait longer for the same 503.
                    for pending in group:
                        _settle(pending.done, error=_as_unavailable(error))
                    continue
                log.warning("%d deliveries failed together; retrying them one by one", len(group))
                for pending in group:
                    await self._commit_alone(pending)
                continue
            self._writer.wake()
            for pending, result in zip(group, results):
                _settle(pending.done, result=result)

    async def _commit_alone(self, pending: _Pending) -> None:
        try:
            [result] = await self._commit([pending])
        except Exception as error:  # noqa: BLE001 - handed to the waiting request, which answers 503
            _settle(pending.done, error=_as_unavailable(error))
        else:
            self._writer.wake()
            _settle(pending.done, result=result)

    async def _commit(self, group: list[_Pending]) -> list[IngestResult]:
        async with self._sessionmaker.begin() as session:
            with session.no_autoflush:
                return await _Ingestion(self, session, [pending.batch for pending in group]).run()

    def _highest_priority(self, alerts: list[IncomingAlert]) -> Priority:
        return min((self._config.priority_for(alert.labels) for alert in alerts), key=PRIORITY_RANK.__getitem__)

    def _raise_priority(self, issue: Any, alerts: list[IncomingAlert]) -> None:
        candidate = self._highest_priority(alerts)
        if PRIORITY_RANK[candidate] < PRIORITY_RANK.get(Priority(issue.priority), 1):
            issue.priority = candidate
