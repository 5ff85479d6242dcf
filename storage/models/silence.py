"""Holds on an issue's noise: silences opsbot created in Alertmanager, and snoozes of its own notifications."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class AlertSilence(Base):
    """A silence opsbot created in an Alertmanager for an issue's alerts (POST /api/v2/silences).

    `ended_at` is set once opsbot knows it no longer holds: lifted from Slack (`ended_by` the person)
    or run out (`ended_by` "expired", by the periodic job); until then the issue's message shows it.
    """

    __tablename__ = "alert_silences"
    __table_args__ = (
        Index("ix_alert_silences_issue_id_ended_at", "issue_id", "ended_at"),
        Index("ix_alert_silences_ended_at_ends_at", "ended_at", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    alertmanager_url: Mapped[str] = mapped_column(Text)  # the allowed externalURL the silence lives behind
    silence_id: Mapped[str] = mapped_column(String(64))  # Alertmanager's id (a UUID)
    matchers: Mapped[list[dict[str, Any]]] = mapped_column(default=list)  # as sent: name, value, isRegex, isEqual
    created_by: Mapped[str] = mapped_column(String(255))  # the Slack user id
    comment: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    starts_at: Mapped[datetime]
    ends_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(255))


class IssueSnooze(Base):
    """Notifications for an issue held until `until`: no escalation steps, no announced repeats.

    `ended_at` is set when the snooze is over: ended early from Slack (`ended_by` the person), or at
    `until` by the periodic job that brings the issue back (`ended_by` "expired")."""

    __tablename__ = "issue_snoozes"
    __table_args__ = (
        Index("ix_issue_snoozes_issue_id_ended_at", "issue_id", "ended_at"),
        Index("ix_issue_snoozes_ended_at_until", "ended_at", "until"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    snoozed_by: Mapped[str] = mapped_column(String(255))
    snoozed_at: Mapped[datetime] = mapped_column(default=utcnow)
    until: Mapped[datetime]
    ended_at: Mapped[datetime | None]
    ended_by: Mapped[str | None] = mapped_column(String(255))
