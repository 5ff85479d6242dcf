"""The outbox of Slack calls not yet made, and the claims that let one worker of all replicas
send one ordering key at a time."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class OutboxStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"  # sent, or superseded by a later render of the same issue
    FAILED = "failed"  # Slack refused it for good (ok:false that no retry fixes); kept for inspection
    PARKED = "parked"  # we gave up: it could not be rendered, or retries ran out; kept to be re-queued


class OutboxItem(Base):
    """A Slack call written in the same transaction as the change it announces.

    Items that share an ordering key are sent strictly in id order, so a thread reply never
    overtakes the message it belongs to.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_status_ordering_key_id", "status", "ordering_key", "id"),
        Index("ix_outbox_status_next_attempt_at_key", "status", "next_attempt_at", "ordering_key"),  # claims skip held keys
        # Ids name post attempts and Slack markers for longer than done items are kept: never reused (SQLite).
        {"sqlite_autoincrement": True},
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
    first_failed_at: Mapped[datetime | None]  # when retries began: how long it has been failing


class DeliveryClaim(Base):
    """One worker holds an ordering key (e.g. `issue:42`) while it sends that key's head item.

    The claim is per key, not per outbox row, so no two workers, on any replica, ever work on one
    issue's Slack messages at once. The holder renews it while the item is in flight (a heartbeat);
    a crashed worker's claim simply expires. The row is deleted when the item's outcome is recorded.
    """

    __tablename__ = "delivery_claims"

    ordering_key: Mapped[str] = mapped_column(String(255), primary_key=True)
    worker_id: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_until: Mapped[datetime]
