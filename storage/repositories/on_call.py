"""On-call overrides: who covers a team's rota at a moment, and the changes /oncall makes.

Like every repository: takes the caller's AsyncSession and never commits. Releasing and announcing
an ended override are conditional UPDATEs, so two replicas (or two commands) never both move one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Sequence

from sqlalchemy import ColumnElement, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OnCallOverride


def _in_force(moment: datetime) -> list[ColumnElement[bool]]:
    return [
        OnCallOverride.starts_at <= moment,
        OnCallOverride.ends_at > moment,
        or_(OnCallOverride.released_at.is_(None), OnCallOverride.released_at > moment),
    ]


class OnCallOverrideRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, override: OnCallOverride) -> OnCallOverride:
        self.session.add(override)
        await self.session.flush()
        return override

    async def in_force(self, team: str, moment: datetime) -> OnCallOverride | None:
        """The override covering `team` at `moment`: the latest made, when several overlap."""
        query = (
            select(OnCallOverride)
            .where(OnCallOverride.team == team, *_in_force(moment))
            .order_by(OnCallOverride.id.desc())
            .limit(1)
        )
        return (await self.session.execute(query)).scalar_one_or_none()

    async def in_force_for_teams(self, teams: Sequence[str], moment: datetime) -> dict[str, OnCallOverride]:
        """{team: its override at `moment`} for the teams that have one (one query for /oncall's list)."""
        if not teams:
            return {}
        query = (
            select(OnCallOverride)
            .where(OnCallOverride.team.in_(list(teams)), *_in_force(moment))
            .order_by(OnCallOverride.id)
        )
        return {row.team: row for row in (await self.session.execute(query)).scalars()}  # the latest wins

    async def release(self, team: str, moment: datetime, *, released_by: str) -> list[OnCallOverride]:
        """End every override covering `team` at `moment`; returns those this call ended (oldest first)."""
        result = await self.session.execute(
            update(OnCallOverride)
            .where(OnCallOverride.team == team, OnCallOverride.released_at.is_(None))
            .where(OnCallOverride.starts_at <= moment, OnCallOverride.ends_at > moment)
            .values(released_at=moment, released_by=released_by)
            .returning(OnCallOverride)
            .execution_options(synchronize_session=False)
        )
        return sorted(result.scalars(), key=lambda row: row.id)

    async def list_ended_unannounced(self, moment: datetime, *, limit: int = 50) -> list[int]:
        """Overrides that ran out by themselves (not released) and whose end nobody announced yet."""
        query = (
            select(OnCallOverride.id)
            .where(OnCallOverride.ends_at <= moment, OnCallOverride.released_at.is_(None))
            .where(OnCallOverride.end_announced_at.is_(None))
            .order_by(OnCallOverride.ends_at)
            .limit(limit)
        )
        return list((await self.session.execute(query)).scalars())

    async def claim_end_announcement(self, override_id: int, moment: datetime) -> OnCallOverride | None:
        """Mark an ended override as announced; only one caller ever gets it back."""
        result = await self.session.execute(
            update(OnCallOverride)
            .where(OnCallOverride.id == override_id, OnCallOverride.end_announced_at.is_(None))
            .values(end_announced_at=moment)
            .returning(OnCallOverride)
            .execution_options(synchronize_session=False)
        )
        return result.scalar_one_or_none()
