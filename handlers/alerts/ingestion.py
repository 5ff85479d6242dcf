"""One transaction's worth of alert deliveries, processed in bulk phases (run by processor.py).

Known alerts are loaded with one query per source; new ones open issues (or join a storm's grouped
issue, see storms.py) with one multi-row INSERT; issues whose alerts all resolved are resolved with the
issue repository's transition, the same conditional UPDATE a person's Resolve goes through, for the
whole batch at once; events and outbox items are written with one statement per table.

Every statement is a round trip (on SQLite a hop to the connection's thread), so what the group already
knows is not asked again: the outbox items are held and written at the end in call order
(OutboxBuffer, which also answers "is a render already last in line?" for the issues it holds items
for), only issues where an alert resolved are counted for what still fires, and issues the storm plan
already loaded are not read again. A storm's group commit is five statements, a group of new alerts seven.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.vocabulary import PRIORITY_RANK, Priority
from handlers.alerts.blocks import build_resolved_line, build_storm_thread_lines
from handlers.alerts.parsers import AlertBatch, IncomingAlert
from handlers.alerts.settings import AlertRouting
from handlers.alerts.storms import Bucket, NewAlert, bucket_new_alerts, plan_storms
from handlers.alerts.triage import AlertTriage
from handlers.issues.lifecycle import IssueLifecycle
from delivery.outbox import OutboxWriter
from storage.models import OPEN_STATUSES, Alert, AlertStatus, Issue, IssueStatus
from storage.repositories.alert import AlertRepository
from storage.repositories.outbox import OutboxBuffer
from storage.repositories.issue import IssueRepository
from storage.repositories.silence import SilenceRepository


@dataclass
class IngestResult:
    new: int = 0
    repeated: int = 0
    resolved: int = 0
    ignored: int = 0
    issues_opened: int = 0
    issues_resolved: int = 0
    issues_acknowledged: int = 0  # by the sender (New Relic ACKNOWLEDGED), applied after the transaction


class Ingestion:
    """One transaction's worth of deliveries, processed in bulk phases."""

    def __init__(
        self,
        session: AsyncSession,
        batches: list[AlertBatch],
        *,
        config: AlertRouting,
        writer: OutboxWriter,
        lifecycle: IssueLifecycle,
        now: datetime,
        triage: AlertTriage | None = None,
    ) -> None:
        self.config = config
        self.triage = triage or AlertTriage(config)
        self.writer = writer
        self.lifecycle = lifecycle
        self.session = session
        self.issues = IssueRepository(session)
        self.alerts = AlertRepository(session)
        self.outbox = OutboxBuffer(session)
        self.batches = batches
        self.results = [IngestResult() for _ in batches]
        self.now = now
        self.known: dict[tuple[str, str], Alert] = {}
        self.touched: dict[int, int] = {}  # issue id -> delivery index that touched it first
        self.resolving: set[int] = set()  # issues one of whose alerts resolved: they may have none firing
        self.loaded: dict[int, Issue] = {}  # issues this transaction has read already
        self.refired: dict[int, list[IncomingAlert]] = {}  # issue id -> its alerts that fired again
        self.new_alerts: list[NewAlert] = []
        self.alert_rows: list[dict[str, Any]] = []
        self.event_rows: list[dict[str, Any]] = []

    async def run(self) -> list[IngestResult]:
        await self._load_known()
        self._apply_updates()
        if self.new_alerts:
            await self._open_issues()
        if self.session.dirty or self.session.new or self.session.deleted:  # else flushing has nothing to do
            await self.session.flush()  # the UPDATEs of known alerts, before counting what still fires
        if self.touched:
            await self._settle_issues()
        await self.outbox.flush()
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
                    if alert.issue_id is not None:
                        self.resolving.add(alert.issue_id)
                else:
                    result.ignored += 1  # Alertmanager repeats a resolved alert once more
                    continue
                alert.last_seen_at = self.now
                if alert.issue_id is not None:
                    self.touched.setdefault(alert.issue_id, index)

    async def _open_issues(self) -> None:
        config = self.config
        buckets = bucket_new_alerts(self.new_alerts, config.storm, config.channel_for)
        since = self.now - timedelta(seconds=config.storm.window_seconds)
        recent = await self.issues.recent_in_groups(list(buckets), since)
        self.loaded.update((issue.id, issue) for issue in recent)
        plan = plan_storms(buckets, recent, config.storm)

        openings: list[tuple[Bucket, list[NewAlert], bool]] = [(b, [new], False) for b, new in plan.singles]
        openings += [(bucket, bucket.alerts, True) for bucket in plan.new_groups]
        rows = [self._issue_row(bucket, [new.alert for new in alerts], grouped) for bucket, alerts, grouped in openings]
        category_sources = [row.pop("_category_from") for row in rows]  # for the "opened" events, not a column
        issue_ids = await self.issues.insert_many(rows)
        writer = self.writer
        await writer.render_issues(self.outbox, issue_ids, new=True)
        for issue_id, row, category_from, (bucket, alerts, grouped) in zip(issue_ids, rows, category_sources, openings):
            first = alerts[0]
            self._event(issue_id, first.alert.source, "opened",
                        "Alert storm grouped into one issue" if grouped else f"Opened from {first.alert.source} alert",
                        {"alertname": first.alert.alertname, "labels": first.alert.labels, "category": str(row["category"]),
                         "category_from": category_from, "issue_class": str(row["issue_class"])})
            self._link(alerts, issue_id)
            self.results[first.delivery].issues_opened += 1
            if grouped:
                for reply in self._storm_lines(alerts):
                    await writer.thread_reply(self.outbox, issue_id, reply)
        # A snoozed issue records who joined it (the event below) without announcing them (handlers/silences).
        snoozed = await SilenceRepository(self.session).snoozed_among([i.id for i, _ in plan.joins], self.now)
        for issue, bucket in plan.joins:
            self._link(bucket.alerts, issue.id)
            self._raise_priority(issue, [new.alert for new in bucket.alerts])
            for reply in self._storm_lines(bucket.alerts) if issue.id not in snoozed else ():
                await writer.thread_reply(self.outbox, issue.id, reply)
            self._event(issue.id, bucket.alerts[0].alert.source, "alerts_grouped",
                        f"{len(bucket.alerts)} alert(s) joined the group",
                        {"fingerprints": [new.alert.fingerprint for new in bucket.alerts][:200]})
            self.touched.setdefault(issue.id, bucket.alerts[0].delivery)
        await self.alerts.insert_many(self.alert_rows)
        if self.lifecycle.on_opened and issue_ids:
            await self.outbox.flush()  # a hook may enqueue through a repository of its own: ours go first
            opened = await self.issues.get_many(issue_ids)
            for issue_id, (_, alerts, _) in zip(issue_ids, openings):
                await self.lifecycle.opened(self.session, opened[issue_id], alerts[0].alert.source)

    async def _settle_issues(self) -> None:
        """After alerts changed: resolve issues where none still fires, and refresh their messages."""
        issue_ids = sorted(self.touched)
        issues = {issue_id: self.loaded[issue_id] for issue_id in issue_ids if issue_id in self.loaded}
        issues.update(await self.issues.get_many([issue_id for issue_id in issue_ids if issue_id not in issues]))
        # Only where an alert resolved can none be firing any more (a repeat or a join fires).
        counts = await self.alerts.counts_for_issues(sorted(self.resolving))
        for issue_id, alerts in self.refired.items():
            if issue_id in issues and issues[issue_id].is_open:
                self._raise_priority(issues[issue_id], alerts)  # a Warn that became Triggered
        resolving: dict[int, dict[str, Any]] = {}
        for issue_id in issue_ids:
            issue = issues.get(issue_id)
            if issue is None or issue_id not in counts:
                continue
            total, firing = counts[issue_id]
            if firing or not total or not issue.is_open:
                continue
            source = self.batches[self.touched[issue_id]].source
            resolving[issue_id] = {
                "status": IssueStatus.RESOLVED,
                "resolved_at": self.now,
                "resolved_by": source,
                "resolution": issue.resolution or f"Alert resolved ({source})",
                "resolution_seconds": max(0, int((self.now - issue.reported_at).total_seconds())),
                "updated_at": self.now,
            }
        resolved = await self.issues.transition(resolving, from_statuses=OPEN_STATUSES)
        for issue_id in issue_ids:
            if issue_id not in resolved:  # still firing, or a person resolved it meanwhile
                continue
            delivery = self.touched[issue_id]
            source = self.batches[delivery].source
            self._event(issue_id, source, "resolved", "All alerts resolved", {})
            await self.writer.thread_reply(self.outbox, issue_id, build_resolved_line(issues[issue_id], source))
            if self.lifecycle.on_resolved:
                await self.outbox.flush()  # a hook may enqueue through a repository of its own: ours go first
            await self.lifecycle.resolved(self.session, issues[issue_id], source)
            self.results[delivery].issues_resolved += 1
        await self.writer.render_issues(self.outbox, [i for i in issue_ids if i in issues])

    def _issue_row(self, bucket: Bucket, alerts: list[IncomingAlert], grouped: bool) -> dict[str, Any]:
        first = alerts[0]
        if grouped:
            title = f"{first.alertname}: alert storm"
            description = first.annotations.get("description", "")
        else:
            title = first.annotations.get("summary") or first.annotations.get("title") or first.alertname
            description = first.annotations.get("description") or first.annotations.get("message", "")
        priority = self._highest_priority(alerts)
        category = self.triage.category(first.alertname, first.labels)
        return {
            "reported_at": self.now,
            "reported_by": first.source,
            "source": first.source,
            "title": title[:500],
            "description": description,
            "priority": priority,
            "category": category.category,
            "_category_from": category.source,  # taken out before the INSERT: it goes in the "opened" event
            "issue_class": self.triage.issue_class(priority, [alert.labels for alert in alerts]),
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

    def _highest_priority(self, alerts: list[IncomingAlert]) -> Priority:
        return min((self.config.priority_for(alert.labels) for alert in alerts), key=PRIORITY_RANK.__getitem__)

    def _raise_priority(self, issue: Issue, alerts: list[IncomingAlert]) -> None:
        candidate = self._highest_priority(alerts)
        if PRIORITY_RANK[candidate] < PRIORITY_RANK.get(Priority(issue.priority), 1):
            issue.priority = candidate
