"""Where each issue lives in Slack, the outbox of Slack calls not yet made, and what the delivery
workers share across replicas: who holds an ordering key, which posts may have landed, and which
Slack methods are paused by a 429."""

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


class SlackPostAttempt(Base):
    """A chat.postMessage that was about to be made and whose outcome is not recorded yet.

    Written (committed) before the call, deleted with the recorded outcome. Finding one means an
    earlier attempt may have landed (a timeout, a crash): the worker looks for the message's
    metadata marker in the channel before posting again. `key` is `issue:<id>` for an issue's
    message and `outbox:<id>` for any other post.
    """

    __tablename__ = "slack_post_attempts"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255))
    thread_ts: Mapped[str | None] = mapped_column(String(64))
    attempted_at: Mapped[datetime]  # the first attempt: where the search in the channel starts
    last_attempt_at: Mapped[datetime]
    attempts: Mapped[int] = mapped_column(default=1)


class SlackRateLimit(Base):
    """Slack answered 429 for `method` (in `channel`, or workspace-wide when ""): nobody calls it before `until`.

    In the database so every replica's worker backs off, not only the one that was told.
    """

    __tablename__ = "slack_rate_limits"

    method: Mapped[str] = mapped_column(String(64), primary_key=True)
    channel: Mapped[str] = mapped_column(String(255), primary_key=True)
    until: Mapped[datetime]
