"""Where each issue lives in Slack, and the outbox of Slack calls not yet made."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class SlackMessage(Base):
    """The top-level message that shows an issue; updated in place, its thread holds the timeline."""

    __tablename__ = "slack_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), unique=True)
    channel: Mapped[str] = mapped_column(String(255))
    ts: Mapped[str] = mapped_column(String(64))
    posted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"  # Slack refused it for good (ok:false that no retry fixes); kept for inspection


class OutboxItem(Base):
    """A Slack call written in the same transaction as the change it announces.

    Items that share an ordering key are sent strictly in id order, so a thread reply never
    overtakes the message it belongs to.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_ordering_key_id", "status", "ordering_key", "id"),
        Index("ix_outbox_status_next_attempt_at", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ordering_key: Mapped[str] = mapped_column(String(255))
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    operation: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(default=0)
    locked_until: Mapped[datetime | None]
    locked_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    done_at: Mapped[datetime | None]
