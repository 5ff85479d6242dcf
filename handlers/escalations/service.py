"""Escalating an issue to a team: by hand from the modal, or automatically when auto-fix gives up.

One transaction writes the escalation row, the issue's timeline event and every message it causes
(team channel with its user group, DMs to whoever is on call, a line in the issue's thread, the
PagerDuty trigger) to the outbox, so an escalation is either announced completely or not at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers.errors import Conflict, InvalidInput, NotFound
from handlers.escalations.blocks import (
    EscalationForm,
    EscalationNotice,
    build_escalation_message,
    build_escalation_thread_line,
    mention_user,
)
from handlers.escalations.context import ViewLoader, load_context
from handlers.escalations.ids import AUTOMATIC_REASONS, EscalationReason, Urgency
from handlers.escalations.on_call import on_call_for
from handlers.escalations.pagerduty import PagerDutyEvents, dedup_key_for
from handlers.escalations.teams import Team, TeamDirectory
from handlers.issues.classification import make_complex
from handlers.issues.service import IssueService
from delivery.outbox import OutboxWriter
from handlers.roles import Role, RoleChecker
from storage.models import Escalation, EscalationStatus, Issue, utcnow
from storage.repositories.outbox import OutboxRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.escalation import EscalationRepository

log = logging.getLogger(__name__)
# Why an automatic escalation turns a minor issue complex, in the timeline's words.
_WHY_COMPLEX = {
    EscalationReason.AUTOFIX_FAILED: "auto-fix failed",
    EscalationReason.AUTOFIX_REFUSED: "auto-fix refused to run",
    EscalationReason.UNVERIFIED: "auto-fix did not make the alert resolve",
    EscalationReason.MANUAL: "escalated",
    EscalationReason.CHAIN: "escalated",
}


@dataclass(frozen=True)
class EscalationRequest:
    issue_id: int
    user_id: str
    team: str
    urgency: str = Urgency.HIGH
    note: str = ""


@dataclass(frozen=True)
class EscalationResult:
    escalation_id: int
    issue_id: int
    team_name: str
    channel: str
    on_call: str | None


async def announce(writer: OutboxWriter, outbox: OutboxRepository, notice: EscalationNotice, *, channel: str | None) -> None:
    """Queue the team's channel post, a DM to each person called, and the line in the issue's thread."""
    issue_id = notice.context.issue.id
    if channel:
        text, blocks = build_escalation_message(notice, audience="channel")
        await writer.post_message(outbox, channel=channel, text=text, blocks=blocks, issue_id=issue_id)
    for person in notice.people:
        text, blocks = build_escalation_message(notice, audience="dm")
        await writer.direct_message(outbox, user=person, text=text, blocks=blocks, issue_id=issue_id)
    where = channel or ", ".join(mention_user(person) for person in notice.people) or "nobody"
    await writer.thread_reply(outbox, issue_id, build_escalation_thread_line(notice, where))
    await writer.render_issue(outbox, issue_id)  # the message says who it is escalated to


class EscalationService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        teams: TeamDirectory,
        *,
        issues: IssueService,
        roles: RoleChecker,
        pagerduty: PagerDutyEvents,
        load_view: ViewLoader,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._teams = teams
        self._issues = issues
        self._roles = roles
        self._pagerduty = pagerduty
        self._load_view = load_view
        self._clock = clock

    def knows_team(self, key: str) -> bool:
        return self._teams.get(key) is not None

    async def form(self, issue_id: int, user_id: str, *, private_metadata: str = "") -> EscalationForm:
        """What the Escalate modal offers; refuses (and audits) before the user types anything."""
        await self._issues.require_role(issue_id, user_id, Role.RESPONDER, "escalate issues")
        issue = await self._issues.get(issue_id)
        if not issue.is_open:
            raise Conflict(f"Issue #{issue_id} is {issue.status.lower()}: reopen it before escalating.")
        suggested = self._teams.for_category(issue.category)
        return EscalationForm(
            issue_id=issue.id,
            title=issue.title,
            category=issue.category,
            priority=issue.priority,
            teams=[(team.key, team.name) for team in self._teams.teams],
            preselected=suggested.key if suggested else None,
            configured=self._teams.configured,
            default_channel=self._teams.default_channel,
            private_metadata=private_metadata,
        )

    async def escalate(self, request: EscalationRequest) -> EscalationResult:
        await self._issues.require_role(request.issue_id, request.user_id, Role.RESPONDER, "escalate issues")
        team = self._teams.get(request.team)
        if team is None:
            raise InvalidInput("That team is no longer in the opsbot config: open Escalate again and pick another.")
        if request.urgency not in Urgency._value2member_map_:
            raise InvalidInput("Urgency must be high or low.")
        result = await self._open(
            request.issue_id, team, urgency=request.urgency, note=request.note.strip(),
            requested_by=request.user_id, reason=EscalationReason.MANUAL,
        )
        assert result is not None  # manual escalations raise instead of skipping
        return result

    async def escalate_automatically(self, issue_id: int, *, reason: str, detail: str) -> None:
        """For auto-fix: escalate to the team of the issue's category, with `detail` as the note.

        Skips quietly (with a timeline entry) when the issue is no longer open or that team already
        has an unacknowledged escalation for it, so a retried caller never pages twice.
        """
        why = EscalationReason(reason)
        if why not in AUTOMATIC_REASONS:
            raise ValueError(f"not an automatic escalation reason: {reason}")
        async with self._sessionmaker() as session:
            issue = await IssueRepository(session).get(issue_id)
        if issue is None:
            raise NotFound(f"Issue #{issue_id} does not exist.")
        team = self._teams.for_automatic(issue.category)
        urgency = Urgency.HIGH if issue.priority == "High" else Urgency.LOW
        await self._open(issue_id, team, urgency=urgency, note=detail.strip(), requested_by="opsbot", reason=why)

    async def _open(
        self, issue_id: int, team: Team, *, urgency: str, note: str, requested_by: str, reason: EscalationReason
    ) -> EscalationResult | None:
        automatic = reason in AUTOMATIC_REASONS
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await issues.get(issue_id, for_update=True)
            if issue is None:
                raise NotFound(f"Issue #{issue_id} does not exist.")
            skipped = await self._refusal(session, issue, team)
            if skipped is not None:
                if not automatic:
                    raise Conflict(skipped)
                await issues.add_event(
                    issue_id, actor=requested_by, kind="escalation_skipped", summary=skipped,
                    detail={"team": team.key, "reason": reason.value, "detail": note}, at=now,
                )
                log.info("automatic escalation of issue %s skipped: %s", issue_id, skipped)
                await make_complex(session, issue, actor=requested_by, reason=_WHY_COMPLEX[reason], at=now)
                return None
            context = await load_context(session, issue, self._load_view)
            on_call = (await on_call_for(session, team, now)).person  # the rota, or an /oncall override
            notice = EscalationNotice(
                context=context, team_name=team.name, requested_by=requested_by, urgency=urgency, reason=reason,
                note=note, usergroup=team.usergroup, people=(on_call,) if on_call else (),
                configured=self._teams.configured,
            )
            dedup_key = dedup_key_for(issue_id, team.key) if self._pagerduty.pages(team) else None
            escalation = await EscalationRepository(session).add(
                Escalation(
                    issue_id=issue_id, team=team.key, level=1, urgency=urgency, note=note, reason=reason.value,
                    requested_by=requested_by, created_at=now, status=EscalationStatus.ACTIVE, on_call=on_call,
                    next_level_at=team.next_level_at(1, now), pagerduty_dedup_key=dedup_key,
                )
            )
            called = f" (on call: {on_call})" if on_call else ""
            await issues.add_event(
                issue_id, actor=requested_by, kind="escalated", summary=f"Escalated to {team.name}{called}",
                detail={
                    "escalation_id": escalation.id, "team": team.key, "level": 1, "urgency": urgency,
                    "reason": reason.value, "note": note, "on_call": on_call, "channel": team.channel,
                },
                at=now,
            )
            why = _WHY_COMPLEX[reason] if automatic else f"escalated to {team.name}"
            await make_complex(session, issue, actor=requested_by, reason=why, at=now)
            outbox = OutboxRepository(session)
            await announce(self._writer, outbox, notice, channel=team.channel)
            if dedup_key is not None:
                await self._pagerduty.trigger(session, notice, team, dedup_key)
        self._writer.wake()
        return EscalationResult(escalation.id, issue_id, team.name, team.channel, on_call)

    @staticmethod
    async def _refusal(session: AsyncSession, issue: Issue, team: Team) -> str | None:
        """Why this escalation should not happen now, or None."""
        if not issue.is_open:
            return f"Issue #{issue.id} is {issue.status.lower()}: reopen it before escalating."
        waiting = await EscalationRepository(session).active_for_team(issue.id, team.key)
        if waiting is not None:
            return (
                f"Issue #{issue.id} is already escalated to {team.name} (level {waiting.level}) "
                "and waiting for them to acknowledge."
            )
        return None

    async def acknowledge(self, issue_id: int, user_id: str) -> list[str]:
        """"I'm on it" on an escalation: stops the chain. Returns the names of the teams taken over.

        The people the escalation called may take it even without the responder role.
        """
        now = self._clock()
        async with self._sessionmaker() as session:
            if await IssueRepository(session).get(issue_id) is None:
                raise NotFound(f"Issue #{issue_id} does not exist.")
            waiting = await EscalationRepository(session).list_for_issue(issue_id, statuses=[EscalationStatus.ACTIVE])
        if not waiting:
            raise Conflict(await self._nothing_waiting(issue_id))
        if user_id not in self._called(waiting):
            await self._issues.require_role(issue_id, user_id, Role.RESPONDER, "take escalations")
        async with self._sessionmaker.begin() as session:
            repo = EscalationRepository(session)
            moved = await repo.set_status(
                [e.id for e in waiting], EscalationStatus.ACKNOWLEDGED,
                only_from=[EscalationStatus.ACTIVE], acknowledged_by=user_id, at=now,
            )
            if not moved:
                raise Conflict(await self._nothing_waiting(issue_id))
            names = sorted({self._team_name(m.team) for m in moved})
            await IssueRepository(session).add_event(
                issue_id, actor=user_id, kind="escalation_acknowledged",
                summary=f"Took the escalation to {', '.join(names)}",
                detail={"escalations": [m.id for m in moved]}, at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.thread_reply(
                outbox, issue_id, f"✋ {mention_user(user_id)} is on it for {', '.join(names)}: the escalation stops here."
            )
            await self._writer.render_issue(outbox, issue_id)
            for item in moved:
                if item.pagerduty_dedup_key:
                    await self._pagerduty.follow_up(session, issue_id, item.team, item.pagerduty_dedup_key, "acknowledge")
        self._writer.wake()
        return names

    def _called(self, escalations: list[Escalation]) -> set[str]:
        """Everyone the waiting escalations called, as the config said when each was sent."""
        people: set[str] = set()
        for escalation in escalations:
            if escalation.on_call:
                people.add(escalation.on_call)
            team = self._teams.get(escalation.team)
            level = team.level(escalation.level) if team else None
            if level is not None:
                people.update(level.people(escalation.created_at))
        return people

    def _team_name(self, key: str) -> str:
        return self._teams.name_of(key)

    async def _nothing_waiting(self, issue_id: int) -> str:
        async with self._sessionmaker() as session:
            taken = await EscalationRepository(session).list_for_issue(
                issue_id, statuses=[EscalationStatus.ACKNOWLEDGED]
            )
        if taken and taken[-1].acknowledged_by:
            return f"{mention_user(taken[-1].acknowledged_by)} already took the escalation of issue #{issue_id}."
        return f"Issue #{issue_id} has no escalation waiting for someone."
