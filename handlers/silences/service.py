"""SilenceService: silences in Alertmanager from an issue's message, lifted from it, noticed when they run out.

The call to Alertmanager is made before the transaction that records it (never HTTP inside a
transaction); the silence's id and end are stored with the issue, the timeline and the thread say
who silenced what until when, and the message is re-rendered to show it. Only Alertmanagers the
config lists are called (settings.py says why).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.outbox import OutboxWriter
from handlers.errors import Conflict, InvalidInput, PermissionDenied
from handlers.roles import Role, RoleChecker
from handlers.silences.alertmanager import AlertmanagerClient, NewSilence
from handlers.silences.blocks import (
    ActiveSilence,
    build_lifted_line,
    build_silence_ran_out_line,
    build_silenced_line,
    until,
)
from handlers.silences.matchers import ALERTMANAGER_SOURCE, EXTERNAL_URL_KEY, build_matchers, describe_matchers
from handlers.silences.settings import AlertmanagerSettings, normalize_url
from storage.models import AlertSilence, utcnow
from storage.repositories.alert import AlertRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.outbox import OutboxRepository
from storage.repositories.silence import EXPIRED, SilenceRepository

log = logging.getLogger(__name__)

COMMENT_LIMIT = 2000


@dataclass(frozen=True)
class SilencePlan:
    """What a silence of the issue would be: where, on which matchers."""

    issue_id: int
    title: str
    alertmanager_url: str  # the alert's externalURL, normalised
    api_url: str
    matchers: list[dict[str, Any]]


@dataclass(frozen=True)
class SilenceRequest:
    issue_id: int
    user_id: str
    duration: timedelta
    user_name: str | None = None  # Slack's username, for Alertmanager's createdBy
    note: str = ""
    permalink: str | None = None  # the issue message's link, for the silence's comment


def created_by(user_id: str, user_name: str | None) -> str:
    """Alertmanager's createdBy: the name people know, and the id that stays true when it changes."""
    return f"{user_name} (Slack {user_id})" if user_name else f"Slack user {user_id}"


def silence_comment(issue_id: int, title: str, permalink: str | None, note: str) -> str:
    comment = f"opsbot issue #{issue_id}: {title}"
    if permalink:
        comment += f" {permalink}"
    if note:
        comment += f"\n{note}"
    return comment[:COMMENT_LIMIT]


async def require_responder(
    roles: RoleChecker, sessionmaker: async_sessionmaker[AsyncSession], now: datetime, issue_id: int, user_id: str,
    to_do: str,
) -> None:
    """Refuse without the responder role, keeping the refusal in the issue's audit trail."""
    if await roles.has(user_id, Role.RESPONDER):
        return
    async with sessionmaker.begin() as session:
        issues = IssueRepository(session)
        if await issues.get(issue_id) is not None:
            await issues.add_event(
                issue_id, actor=user_id, kind="denied", summary=f"Refused: {to_do}",
                detail={"role": Role.RESPONDER.value}, at=now,
            )
    await roles.require(user_id, Role.RESPONDER, to_do)


class SilenceService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        client: AlertmanagerClient,
        settings: AlertmanagerSettings,
        roles: RoleChecker,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._client = client
        self._settings = settings
        self._roles = roles
        self._clock = clock

    @property
    def max_silence(self) -> timedelta:
        return self._settings.max_silence

    async def plan(self, issue_id: int, user_id: str) -> SilencePlan:
        """What silencing the issue would do; refuses (with what to do instead) when it cannot be done."""
        await require_responder(self._roles, self._sessionmaker, self._clock(), issue_id, user_id, "silence alerts")
        async with self._sessionmaker() as session:
            issue = await IssueRepository(session).require(issue_id)
            alerts = [a for a in await AlertRepository(session).list_for_issue(issue_id) if a.source == ALERTMANAGER_SOURCE]
            active = await SilenceRepository(session).active_silence(issue_id)
        if active is not None:
            raise Conflict(
                f"Issue #{issue_id} is already silenced until {until(active.starts_at, active.ends_at)}: "
                "lift that silence first to set another."
            )
        if not issue.is_open:
            raise Conflict(f"Issue #{issue_id} is already {issue.status.lower()}: there is nothing to silence.")
        if not alerts:
            raise InvalidInput(
                f"Issue #{issue_id} did not come from Alertmanager, so there is no silence to set. "
                "Snooze holds opsbot's own notifications for it."
            )
        external_url = normalize_url(alerts[0].annotations.get(EXTERNAL_URL_KEY))
        if external_url is None:
            raise InvalidInput(
                "Alertmanager did not say where it is (its webhook carried no externalURL): "
                "start it with --web.external-url, or silence the alert in Alertmanager itself."
            )
        api_url = self._settings.api_url_for(external_url)
        if api_url is None:
            raise PermissionDenied(
                f"opsbot only creates silences in the Alertmanagers its config lists under `alertmanager.urls`, "
                f"and {external_url} is not one of them: an admin can add it. Meanwhile the Silence link "
                "opens Alertmanager's own form."
            )
        same_place = [a for a in alerts if normalize_url(a.annotations.get(EXTERNAL_URL_KEY)) == external_url]
        matchers = build_matchers([alert.labels for alert in same_place])
        if not matchers:
            raise InvalidInput(f"The alerts of issue #{issue_id} share no label to silence them by.")
        return SilencePlan(issue_id, issue.title, external_url, api_url, matchers)

    async def silence(self, request: SilenceRequest) -> ActiveSilence:
        """Create the silence in Alertmanager, then record it, tell the thread and re-render the message."""
        if request.duration <= timedelta(0) or request.duration > self._settings.max_silence:
            raise InvalidInput("A silence lasts from a minute up to the longest the config allows.")
        plan = await self.plan(request.issue_id, request.user_id)
        now = self._clock()
        ends_at = now + request.duration
        silence = NewSilence(
            matchers=plan.matchers, starts_at=now, ends_at=ends_at,
            created_by=created_by(request.user_id, request.user_name),
            comment=silence_comment(plan.issue_id, plan.title, request.permalink, request.note),
        )
        silence_id = await self._client.create_silence(plan.api_url, silence)
        shown = ActiveSilence(starts_at=now, ends_at=ends_at, created_by=request.user_id)
        async with self._sessionmaker.begin() as session:
            await SilenceRepository(session).add_silence(
                AlertSilence(
                    issue_id=plan.issue_id, alertmanager_url=plan.alertmanager_url, silence_id=silence_id,
                    matchers=plan.matchers, created_by=request.user_id, comment=silence.comment, created_at=now,
                    starts_at=now, ends_at=ends_at,
                )
            )
            await IssueRepository(session).add_event(
                plan.issue_id, actor=request.user_id, kind="silenced",
                summary=f"Silenced in Alertmanager for {_hours(request.duration)}: {describe_matchers(plan.matchers)}",
                detail={"silence_id": silence_id, "alertmanager": plan.alertmanager_url, "ends_at": ends_at.isoformat(),
                        "matchers": plan.matchers, "note": request.note},
                at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(outbox, plan.issue_id, build_silenced_line(request.user_id, shown, plan.matchers))
            await self._writer.render_issue(outbox, plan.issue_id)
        self._writer.wake()
        log.info("issue %s: silence %s in %s until %s by %s", plan.issue_id, silence_id, plan.alertmanager_url,
                 ends_at.isoformat(), request.user_id)
        return shown

    async def lift(self, issue_id: int, user_id: str) -> None:
        """Expire the issue's silence in Alertmanager, then record that it ended."""
        await require_responder(self._roles, self._sessionmaker, self._clock(), issue_id, user_id, "lift silences")
        async with self._sessionmaker() as session:
            active = await SilenceRepository(session).active_silence(issue_id)
        if active is None:
            raise Conflict(f"Issue #{issue_id} has no silence to lift (it may just have run out).")
        api_url = self._settings.api_url_for(active.alertmanager_url)
        if api_url is None:
            raise PermissionDenied(
                f"{active.alertmanager_url} is no longer listed under `alertmanager.urls` in opsbot's config, so "
                f"opsbot cannot lift the silence there: expire silence {active.silence_id} in Alertmanager itself."
            )
        await self._client.expire_silence(api_url, active.silence_id)
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            if not await SilenceRepository(session).end_silence(active.id, at=now, by=user_id):
                return  # the job saw it run out meanwhile and said so
            await IssueRepository(session).add_event(
                issue_id, actor=user_id, kind="silence_lifted", summary="Silence lifted in Alertmanager",
                detail={"silence_id": active.silence_id, "alertmanager": active.alertmanager_url}, at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(outbox, issue_id, build_lifted_line(user_id))
            await self._writer.render_issue(outbox, issue_id)
        self._writer.wake()

    async def note_run_out(self) -> int:
        """The periodic job: silences whose time is up are over; their issues' messages stop showing them."""
        now = self._clock()
        async with self._sessionmaker() as session:
            run_out = await SilenceRepository(session).list_run_out_silences(now)
        noted = 0
        for silence in run_out:
            async with self._sessionmaker.begin() as session:
                if not await SilenceRepository(session).end_silence(silence.id, at=now, by=EXPIRED):
                    continue  # lifted meanwhile, or another replica noted it
                issues = IssueRepository(session)
                await issues.add_event(
                    silence.issue_id, actor="opsbot", kind="silence_expired", summary="The Alertmanager silence ran out",
                    detail={"silence_id": silence.silence_id, "ends_at": silence.ends_at.isoformat()}, at=now,
                )
                issue = await issues.get(silence.issue_id)
                outbox = OutboxRepository(session)
                if issue is not None and issue.is_open:
                    await self._writer.thread_reply(outbox, silence.issue_id, build_silence_ran_out_line())
                await self._writer.render_issue(outbox, silence.issue_id)
            noted += 1
        if noted:
            self._writer.wake()
        return noted


def _hours(duration: timedelta) -> str:
    minutes = int(duration.total_seconds() // 60)
    if minutes % 60:
        return f"{minutes} min"
    return f"{minutes // 60}h"
