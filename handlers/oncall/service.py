"""On call: who is on call now and next per team, and temporary overrides of the rota.

An override is one row (storage/models/on_call.py) that escalations consult through
handlers.escalations.on_call.on_call_for. A team has one override at a time: a new one ends the one
before it. Making or releasing one and its announcement in the team's channel are one transaction
(the announcement rides the outbox), so an override is never in force unannounced. An override ends
by itself when its time passes; a periodic job then tells the team's channel, once across replicas.
"""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import Callable
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.text import escape
from delivery.outbox import OutboxWriter
from handlers.errors import Conflict, InvalidInput
from handlers.escalations.blocks import mention_user
from handlers.escalations.on_call import OnCallShift, next_handover, on_call_for, on_call_for_teams
from handlers.escalations.teams import Team, TeamDirectory
from handlers.oncall.blocks import (
    CoverChange,
    TeamOnCall,
    build_cover_announcement,
    build_cover_ended_announcement,
    build_cover_given_dm,
    build_release_announcement,
    build_unknown_team,
)
from handlers.oncall.parsing import CoverOnCall
from handlers.oncall.when import parse_end
from handlers.roles import Role, RoleChecker
from storage.models import OnCallOverride, utcnow
from storage.repositories.on_call import OnCallOverrideRepository
from storage.repositories.outbox import OutboxRepository

log = logging.getLogger(__name__)


class OnCallService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        teams: TeamDirectory,
        roles: RoleChecker,
        *,
        default_zone: str = "UTC",
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`default_zone` is the deployment's time zone, for teams without a rota (whose hand-over names one)."""
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._teams = teams
        self._roles = roles
        self._default_zone = default_zone
        self._clock = clock

    def now(self) -> datetime:
        return self._clock()

    def team(self, asked: str) -> Team:
        """A team by its key or its name (any case); InvalidInput listing the teams otherwise."""
        wanted = asked.strip().lstrip("#").lower()
        for team in self._teams.teams:
            if wanted in (team.key.lower(), team.name.lower()):
                return team
        raise InvalidInput(build_unknown_team(asked, [(team.key, team.name) for team in self._teams.teams]))

    def zone_of(self, team: Team) -> str:
        """The team's time zone: its rota's hand-over zone, else the deployment's."""
        if team.on_call is not None and team.on_call.rota:
            return team.on_call.handover.timezone
        return self._default_zone

    @staticmethod
    def _day_starts(team: Team) -> time:
        """A day named without a time ("until friday") ends at the team's hand-over time."""
        return team.on_call.handover.time if team.on_call is not None and team.on_call.rota else time(9, 0)

    def _view(self, team: Team, shift: OnCallShift, now: datetime) -> TeamOnCall:
        has_rota = bool(team.on_call and team.on_call.rota)
        if shift.cover is not None:
            next_at: datetime | None = shift.cover.ends_at
        else:
            next_at = next_handover(team.on_call, now) if team.on_call is not None else None
        return TeamOnCall(
            key=team.key, name=team.name, channel=team.channel, zone=self.zone_of(team), person=shift.person,
            scheduled=shift.scheduled, cover=shift.cover, has_rota=has_rota,
            next_person=team.on_call_at(next_at) if next_at is not None else None, next_at=next_at,
        )

    async def overview(self, asked: str | None = None) -> list[TeamOnCall]:
        """Every team (or the one asked for): who is on call now, and who takes over next and when."""
        teams = [self.team(asked)] if asked else self._teams.teams
        now = self._clock()
        async with self._sessionmaker() as session:
            shifts = await on_call_for_teams(session, teams, now)
        return [self._view(team, shifts[team.key], now) for team in teams]

    async def cover(self, request: CoverOnCall, actor: str) -> CoverChange:
        """`request.user_id` is on call for the team until the time asked, instead of the rota."""
        team = self.team(request.team)
        to_do = "give on-call to someone else" if request.user_id != actor else "take on-call"
        await self._roles.require(actor, Role.RESPONDER, to_do)
        now = self._clock()
        zone = self.zone_of(team)
        ends_at = parse_end(request.when, now=now, zone=ZoneInfo(zone), day_starts=self._day_starts(team))
        change = CoverChange(
            team_key=team.key, team_name=team.name, zone=zone, user_id=request.user_id, actor=actor,
            ends_at=ends_at, then=team.on_call_at(ends_at),
        )
        async with self._sessionmaker.begin() as session:
            repo = OnCallOverrideRepository(session)
            replaced = await repo.release(team.key, now, released_by=actor)
            await repo.add(
                OnCallOverride(
                    team=team.key, user_id=request.user_id, starts_at=now, ends_at=ends_at, created_by=actor,
                    created_at=now,
                )
            )
            outbox = OutboxRepository(session)
            text, blocks = build_cover_announcement(change)
            await self._writer.post_message(outbox, channel=team.channel, text=text, blocks=blocks)
            if request.user_id != actor:
                text, blocks = build_cover_given_dm(change)
                await self._writer.direct_message(outbox, user=request.user_id, text=text, blocks=blocks)
        self._writer.wake()
        log.info(
            "on-call override for %s: %s until %s by %s (replacing %s)",
            team.key, request.user_id, ends_at.isoformat(), actor, [row.id for row in replaced],
        )
        return change

    async def release(self, asked: str, actor: str) -> CoverChange:
        """End the team's cover now: the rota's person is on call again."""
        team = self.team(asked)
        await self._roles.require(actor, Role.RESPONDER, "release on-call")
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            released = await OnCallOverrideRepository(session).release(team.key, now, released_by=actor)
            if not released:
                scheduled = team.on_call_at(now)
                raise Conflict(
                    f"Nobody covers *{escape(team.name)}* now, so there is nothing to release: "
                    f"{mention_user(scheduled) if scheduled else 'nobody'} is on call as the rota says."
                )
            change = CoverChange(
                team_key=team.key, team_name=team.name, zone=self.zone_of(team), user_id=released[-1].user_id,
                actor=actor, ends_at=now, then=(await on_call_for(session, team, now)).person,
            )
            text, blocks = build_release_announcement(change)
            await self._writer.post_message(OutboxRepository(session), channel=team.channel, text=text, blocks=blocks)
        self._writer.wake()
        return change

    async def announce_ended(self) -> int:
        """The periodic job: tell each team's channel once that a cover ran out; returns how many."""
        now = self._clock()
        async with self._sessionmaker() as session:
            ended = await OnCallOverrideRepository(session).list_ended_unannounced(now)
        announced = 0
        for override_id in ended:
            async with self._sessionmaker.begin() as session:
                row = await OnCallOverrideRepository(session).claim_end_announcement(override_id, now)
                team = self._teams.get(row.team) if row is not None else None
                if row is None or team is None:
                    continue  # another replica got it, or the team left the config (nothing to tell)
                change = CoverChange(
                    team_key=team.key, team_name=team.name, zone=self.zone_of(team), user_id=row.user_id,
                    actor="opsbot", ends_at=row.ends_at, then=(await on_call_for(session, team, now)).person,
                )
                text, blocks = build_cover_ended_announcement(change)
                await self._writer.post_message(OutboxRepository(session), channel=team.channel, text=text, blocks=blocks)
                announced += 1
        if announced:
            self._writer.wake()
        return announced
