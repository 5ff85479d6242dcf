"""Who is on call for a team at a moment: the rota's person, unless an override covers it.

`on_call_for` is the one question escalations (and /oncall) ask, inside the caller's transaction: an
override recorded with `/oncall take|give` answers while it lasts and stops answering by itself once
its end passes, so nothing has to run for the rota to come back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Sequence
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.escalations.teams import WEEKDAYS, OnCall, Team
from storage.models import OnCallOverride
from storage.repositories.on_call import OnCallOverrideRepository


@dataclass(frozen=True)
class Cover:
    """An override in force: `user_id` is on call instead of the rota until `ends_at`."""

    override_id: int
    user_id: str
    ends_at: datetime
    created_by: str


@dataclass(frozen=True)
class OnCallShift:
    """The answer for one team at one moment."""

    person: str | None  # who is called: the cover's person, else the rota's (None: nobody, the channel only)
    scheduled: str | None  # who the rota (or the fixed `user`) names at that moment
    cover: Cover | None = None


def _shift(team: Team, moment: datetime, override: OnCallOverride | None) -> OnCallShift:
    scheduled = team.on_call_at(moment)
    if override is None:
        return OnCallShift(person=scheduled, scheduled=scheduled)
    cover = Cover(override.id, override.user_id, override.ends_at, override.created_by)
    return OnCallShift(person=override.user_id, scheduled=scheduled, cover=cover)


async def on_call_for(session: AsyncSession, team: Team, moment: datetime) -> OnCallShift:
    """Who is on call for `team` at `moment`, overrides included: what an escalation pages."""
    override = await OnCallOverrideRepository(session).in_force(team.key, moment)
    return _shift(team, moment, override)


async def on_call_for_teams(session: AsyncSession, teams: Sequence[Team], moment: datetime) -> dict[str, OnCallShift]:
    """`on_call_for` for several teams in one query (/oncall's list)."""
    overrides = await OnCallOverrideRepository(session).in_force_for_teams([team.key for team in teams], moment)
    return {team.key: _shift(team, moment, overrides.get(team.key)) for team in teams}


def next_handover(on_call: OnCall, moment: datetime) -> datetime | None:
    """The first weekly hand-over strictly after `moment` (UTC), at the rota's local wall-clock time;
    None for a fixed person, who never hands over."""
    if not on_call.rota:
        return None
    zone = ZoneInfo(on_call.handover.timezone)
    local_day = moment.astimezone(zone).date()
    days_ahead = (WEEKDAYS.index(on_call.handover.day) - local_day.weekday()) % 7
    for weeks in (0, 1):
        day = local_day + timedelta(days=days_ahead + 7 * weeks)
        candidate = datetime.combine(day, on_call.handover.time, tzinfo=zone).astimezone(timezone.utc)
        if candidate > moment:  # compared in UTC: same-zone aware datetimes compare by wall clock
            return candidate
    raise AssertionError("a weekly hand-over is always within eight days")  # pragma: no cover
