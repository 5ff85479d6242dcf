"""On-call overrides: someone covers a team's rota for a while ("I'll take it until Friday")."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class OnCallOverride(Base):
    """Who covers `team` from starts_at until ends_at (or until released); the latest one wins while
    several overlap. Nothing needs to end it: a lookup at a time past ends_at no longer finds it."""

    __tablename__ = "on_call_overrides"
    __table_args__ = (Index("ix_on_call_overrides_team_ends_at", "team", "ends_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    team: Mapped[str] = mapped_column(String(64))  # the key in the config's `teams:`
    user_id: Mapped[str] = mapped_column(String(64))  # who is on call instead of the rota
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    created_by: Mapped[str] = mapped_column(String(64))  # who took it, or gave it to user_id
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_at: Mapped[datetime | None]  # ended early by /oncall release
    released_by: Mapped[str | None] = mapped_column(String(64))
    end_announced_at: Mapped[datetime | None]  # the team's channel was told it ran out (once, by one replica)
