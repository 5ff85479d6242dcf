"""Escalations: which team was called about an issue, at which level, and whether it answered."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class EscalationStatus(StrEnum):
    ACTIVE = "active"  # waiting for the team to acknowledge
    ACKNOWLEDGED = "acknowledged"
    SUPERSEDED = "superseded"  # moved on to the next level
    CLOSED = "closed"  # the issue was resolved


class Escalation(Base):
    __tablename__ = "escalations"
    __table_args__ = (
        Index("ix_escalations_issue_id", "issue_id"),
        Index("ix_escalations_status_next_level_at", "status", "next_level_at"),
        Index("ix_escalations_created_at_team", "created_at", "team"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    team: Mapped[str] = mapped_column(String(64))
    level: Mapped[int] = mapped_column(default=1)
    urgency: Mapped[str] = mapped_column(String(16), default="high")
    note: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(String(32), default="manual")  # manual, autofix_failed, unverified, chain
    requested_by: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=EscalationStatus.ACTIVE)
    on_call: Mapped[str | None] = mapped_column(String(64))
    next_level_at: Mapped[datetime | None]
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    pagerduty_dedup_key: Mapped[str | None] = mapped_column(String(255))
