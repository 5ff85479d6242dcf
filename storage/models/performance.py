"""What the performance report remembers: optimisations made (the adjustments log) and post-incident reviews."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class Adjustment(Base):
    """One optimisation, as the team's "Adjustments Made" table records it; its owner is reminded on follow_up_on."""

    __tablename__ = "performance_adjustments"
    __table_args__ = (
        Index("ix_performance_adjustments_made_at", "made_at"),
        Index("ix_performance_adjustments_follow_up_on_reminded_at", "follow_up_on", "reminded_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    made_at: Mapped[datetime] = mapped_column(default=utcnow)
    made_by: Mapped[str] = mapped_column(String(64))  # the owner: a Slack user id
    area: Mapped[str] = mapped_column(String(200))  # "API", "Caching", "Database indexing", ...
    change: Mapped[str] = mapped_column(Text)  # what was changed
    expected_impact: Mapped[str] = mapped_column(Text, default="")
    kpi: Mapped[str | None] = mapped_column(String(64))  # the KPI key to watch (handlers/performance/defaults.py)
    follow_up_on: Mapped[date | None] = mapped_column(Date)  # a calendar day in the team's time zone
    reminded_at: Mapped[datetime | None]


class IncidentReview(Base):
    """A post-incident review drafted from a High-priority issue: one per issue, kept as its Markdown."""

    __tablename__ = "incident_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), unique=True)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_by: Mapped[str] = mapped_column(String(64))
    markdown: Mapped[str] = mapped_column(Text)
    saved_path: Mapped[str | None] = mapped_column(Text)  # where "Save to KB drafts" wrote it
    saved_at: Mapped[datetime | None]
    saved_by: Mapped[str | None] = mapped_column(String(64))
