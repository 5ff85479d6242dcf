"""PagerDuty Events API v2: page a team that uses PagerDuty, and resolve the incident with the issue.

Events go through the outbox (operation "pagerduty.event", delivered by the delivery worker): they
are written in the escalation's own transaction, so a crash or a restart never loses one, and the
worker's backoff retries 429, 5xx and network failures. The outcome (accepted, refused, gave up)
is written to issue_events, and failures also to the issue's thread. Routing keys are secrets:
they never reach the database; the outbox row names the team and the key is looked up on delivery.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Literal, Mapping

import aiohttp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.slack.blockkit import escape, truncate
from handlers.escalations.blocks import REASON_TEXT, EscalationNotice
from handlers.escalations.ids import Urgency
from handlers.escalations.teams import Team, TeamSettings
from handlers.issues.message import LINK_ANNOTATIONS
from delivery.outbox import OutboxWriter
from storage.models import OutboxItem, utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository

log = logging.getLogger(__name__)

PAGERDUTY_OPERATION = "pagerduty.event"
EventAction = Literal["trigger", "acknowledge", "resolve"]


class PagerDutyUnavailable(aiohttp.ClientError):
    """429, 5xx or no answer: worth retrying.

    A ClientError on purpose: the delivery worker reschedules those with backoff without having
    to know about PagerDuty.
    """


@dataclass(frozen=True)
class PagerDutyAnswer:
    status: int
    message: str
    dedup_key: str | None = None
    errors: tuple[str, ...] = ()

    @property
    def accepted(self) -> bool:
        return 200 <= self.status < 300


class PagerDutyClient:
    """One POST per event; events are rare, so a session per call keeps nothing open between them."""

    def __init__(self, timeout_seconds: float = 10.0) -> None:
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def send(self, url: str, event: dict[str, Any]) -> PagerDutyAnswer:
        try:
            async with aiohttp.ClientSession(timeout=self._timeout) as session:
                async with session.post(url, json=event) as response:
                    status = response.status
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = {"message": (await response.text())[:500]}
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as error:
            raise PagerDutyUnavailable(f"no answer from PagerDuty: {error!r}") from error
        body = body if isinstance(body, dict) else {}
        if status == 429 or status >= 500:
            raise PagerDutyUnavailable(f"PagerDuty answered {status}: {body.get('message') or body.get('status')}")
        return PagerDutyAnswer(
            status=status,
            message=str(body.get("message") or body.get("status") or ""),
            dedup_key=body.get("dedup_key"),
            errors=tuple(str(error) for error in body.get("errors") or ()),
        )


@dataclass(frozen=True)
class PagerDutyTarget:
    events_url: str
    routing_key: str
    max_attempts: int


def resolve_targets(
    teams: Mapping[str, TeamSettings], environ: Mapping[str, str]
) -> tuple[dict[str, PagerDutyTarget], dict[str, str]]:
    """(targets by team key, the environment variable each team without its routing key is missing)."""
    targets: dict[str, PagerDutyTarget] = {}
    missing: dict[str, str] = {}
    for key, team in teams.items():
        if team.pagerduty is None:
            continue
        routing_key = environ.get(team.pagerduty.routing_key_env, "").strip()
        if not routing_key:
            missing[key] = team.pagerduty.routing_key_env
            continue
        targets[key] = PagerDutyTarget(team.pagerduty.events_url, routing_key, team.pagerduty.max_attempts)
    return targets, missing


def dedup_key_for(issue_id: int, team_key: str) -> str:
    return f"opsbot-issue-{issue_id}-{team_key}"


def build_trigger_event(notice: EscalationNotice, dedup_key: str) -> dict[str, Any]:
    """The trigger event without its routing key (added on delivery, never stored)."""
    ctx = notice.context
    issue = ctx.issue
    first = ctx.alerts[0] if ctx.alerts else None
    labels = first.labels if first else {}
    annotations = first.annotations if first else {}
    payload: dict[str, Any] = {
        "summary": truncate(f"[{notice.team_name}] #{issue.id} {issue.title}", 1024),
        "timestamp": issue.reported_at.isoformat(),
        "severity": "critical" if notice.urgency == Urgency.HIGH else "warning",
        "source": labels.get("instance") or labels.get("service") or labels.get("job") or "opsbot",
        "class": (first.alertname if first else None) or issue.category,
        "custom_details": {
            "issue": issue.id,
            "priority": issue.priority,
            "category": issue.category,
            "escalated_by": notice.requested_by,
            "reason": REASON_TEXT.get(notice.reason, notice.reason),
            "note": notice.note,
            "labels": dict(labels),
            "annotations": {key: value for key, value in annotations.items() if not key.startswith("__")},
        },
    }
    if labels.get("service") or labels.get("job"):
        payload["component"] = labels.get("service") or labels.get("job")
    if labels.get("namespace") or labels.get("cluster"):
        payload["group"] = labels.get("namespace") or labels.get("cluster")
    links = []
    if first and first.generator_url and first.generator_url.startswith(("http://", "https://")):
        links.append({"href": first.generator_url, "text": "Generator"})
    for key, text in LINK_ANNOTATIONS:
        url = annotations.get(key, "")
        if url.startswith(("http://", "https://")) and all(existing["href"] != url for existing in links):
            links.append({"href": url, "text": text})
    event: dict[str, Any] = {"event_action": "trigger", "dedup_key": dedup_key, "payload": payload, "client": "opsbot"}
    if links:
        event["links"] = links
    return event


class PagerDutyEvents:
    """Enqueues events in the caller's transaction and delivers them for the delivery worker."""

    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        client: PagerDutyClient,
        targets: Mapping[str, PagerDutyTarget],
        missing: Mapping[str, str],
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._client = client
        self._targets = dict(targets)
        self._missing = dict(missing)
        self._clock = clock

    @staticmethod
    def pages(team: Team) -> bool:
        return team.pagerduty is not None

    async def trigger(self, session: AsyncSession, notice: EscalationNotice, team: Team, dedup_key: str) -> None:
        issue_id = notice.context.issue.id
        if team.key in self._missing:
            await IssueRepository(session).add_event(
                issue_id,
                actor="pagerduty",
                kind="pagerduty",
                summary=f"PagerDuty not paged: {self._missing[team.key]} is not set",
                detail={"team": team.key, "action": "trigger", "outcome": "not_configured"},
                at=self._clock(),
            )
            return
        await self._enqueue(session, issue_id, team.key, build_trigger_event(notice, dedup_key))

    async def follow_up(
        self, session: AsyncSession, issue_id: int, team_key: str, dedup_key: str, action: EventAction
    ) -> None:
        """Acknowledge or resolve the incident a trigger opened (same dedup_key)."""
        if team_key in self._targets:
            await self._enqueue(session, issue_id, team_key, {"event_action": action, "dedup_key": dedup_key})

    @staticmethod
    async def _enqueue(session: AsyncSession, issue_id: int, team_key: str, event: dict[str, Any]) -> None:
        # One ordering key per issue: trigger, acknowledge and resolve reach PagerDuty in that order,
        # and a PagerDuty outage never holds up the issue's Slack messages.
        await OutboxRepository(session).enqueue(
            PAGERDUTY_OPERATION, {"team": team_key, "event": event}, ordering_key=f"pagerduty:{issue_id}", issue_id=issue_id
        )

    async def deliver(self, item: OutboxItem) -> None:
        """Send one event; raise PagerDutyUnavailable to be retried, return once the outcome is recorded."""
        team_key, event = item.payload["team"], item.payload["event"]
        action = event.get("event_action", "trigger")
        target = self._targets.get(team_key)
        if target is None:
            await self._record(item, f"PagerDuty {action} not sent: team {team_key} no longer pages", "not_configured")
            return
        try:
            answer = await self._client.send(target.events_url, {**event, "routing_key": target.routing_key})
        except PagerDutyUnavailable as error:
            attempt = item.attempts + 1
            if attempt >= target.max_attempts:
                await self._record(item, f"PagerDuty {action} gave up after {attempt} attempts: {error}", "gave_up")
                return
            if item.attempts == 0:
                await self._record(item, f"PagerDuty {action} delayed, retrying: {error}", "retrying", thread=False)
            raise
        if answer.accepted:
            await self._record(
                item, f"PagerDuty accepted the {action} (dedup key {answer.dedup_key or event.get('dedup_key')})",
                "accepted", thread=False,
            )
            return
        reason = "; ".join((answer.message, *answer.errors)).strip("; ") or f"HTTP {answer.status}"
        await self._record(item, f"PagerDuty refused the {action} ({answer.status}): {reason}", "refused")

    async def _record(self, item: OutboxItem, summary: str, outcome: str, *, thread: bool = True) -> None:
        assert item.issue_id is not None
        event = item.payload["event"]
        detail = {
            "team": item.payload["team"],
            "action": event.get("event_action"),
            "dedup_key": event.get("dedup_key"),
            "outcome": outcome,
            "attempts": item.attempts + 1,
        }
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            if await issues.get(item.issue_id) is None:
                return
            await issues.add_event(
                item.issue_id, actor="pagerduty", kind="pagerduty", summary=summary, detail=detail, at=self._clock()
            )
            if thread:
                await self._writer.thread_reply(OutboxRepository(session), item.issue_id, f"⚠️ {escape(summary)}")
        self._writer.wake()
        log.info("issue %s: %s", item.issue_id, summary)
