"""What we know of Slack's side: where each issue's message lives, which posts may have landed
(for exactly-once posting), which methods a 429 paused, and which Slack requests we already took."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
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


class SlackReceipt(Base):
    """One Slack delivery we acted on: `event:<event_id>` for Events API retries, `request:<hash>` for
    a signed interaction or command, whose exact bytes and signature a replay would repeat.

    Kept in the database, not in memory, so every replica behind a load balancer sees it.
    """

    __tablename__ = "slack_receipts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
