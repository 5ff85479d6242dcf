"""The issue log: one row per problem, from an alert or a person, and its timeline."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.models.base import Base, utcnow


class IssueStatus(StrEnum):
    OPEN = "Open"
    IN_PROGRESS = "In progress"
    RESOLVED = "Resolved"
    CLOSED = "Closed"


OPEN_STATUSES = (IssueStatus.OPEN, IssueStatus.IN_PROGRESS)


class Issue(Base):
    __tablename__ = "issues"
    __table_args__ = (
        Index("ix_issues_reported_at", "reported_at"),
        Index("ix_issues_resolved_at", "resolved_at"),
        Index("ix_issues_status_priority", "status", "priority"),
        Index("ix_issues_group_key_reported_at", "group_key", "reported_at"),
        # Covering indexes for the summary figures (migration 0003, bench/summary_1m.py).
        Index("ix_issues_reported_at_summary", "reported_at", "priority", "category", "source", "ack_seconds"),
        Index("ix_issues_resolved_at_summary", "resolved_at", "priority", "resolution_seconds", "reported_at"),
        Index("ix_issues_status_reported_at_priority", "status", "reported_at", "priority"),
        Index("ix_issues_reported_at_class", "reported_at", "issue_class"),  # migration 0008
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reported_at: Mapped[datetime] = mapped_column(default=utcnow)
    reported_by: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(32))  # alertmanager, grafana, generic, slack
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[str] = mapped_column(String(10))
    category: Mapped[str] = mapped_column(String(32))
    # "minor" or "complex" (core.vocabulary.IssueClass), set when it opens; None: opened before migration 0008.
    issue_class: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(20), default=IssueStatus.OPEN)
    channel: Mapped[str | None] = mapped_column(String(255))
    assignee: Mapped[str | None] = mapped_column(String(255))
    acknowledged_at: Mapped[datetime | None]
    acknowledged_by: Mapped[str | None] = mapped_column(String(255))
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(255))
    resolution: Mapped[str | None] = mapped_column(Text)
    root_cause: Mapped[str | None] = mapped_column(Text)
    root_cause_category: Mapped[str | None] = mapped_column(String(32))
    link_url: Mapped[str | None] = mapped_column(Text)  # a screenshot or page the reporter pointed at
    # Seconds from report to acknowledgement / resolution, set when those happen (MTTA / MTTR).
    ack_seconds: Mapped[int | None]
    resolution_seconds: Mapped[int | None]
    # Alerts that arrive as a storm share one issue; the key is "<channel>|<alertname>" or the group key.
    group_key: Mapped[str | None] = mapped_column(String(500))
    is_grouped: Mapped[bool] = mapped_column(default=False)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    events: Mapped[list["IssueEvent"]] = relationship(
        back_populates="issue", order_by="IssueEvent.id", cascade="all, delete-orphan", lazy="raise"
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES


class IssueEvent(Base):
    """One line of an issue's timeline and audit trail: who did what, when, with what outcome."""

    __tablename__ = "issue_events"
    __table_args__ = (Index("ix_issue_events_kind_issue_id", "kind", "issue_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)

    issue: Mapped[Issue] = relationship(back_populates="events", lazy="raise")
