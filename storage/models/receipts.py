"""Slack requests already taken, so a retry or a replay is acknowledged without being acted on again."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class SlackReceipt(Base):
    """One Slack delivery we acted on: `event:<event_id>` for Events API retries, `request:<hash>` for
    a signed interaction or command, whose exact bytes and signature a replay would repeat.

    Kept in the database, not in memory, so every replica behind a load balancer sees it.
    """

    __tablename__ = "slack_receipts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
