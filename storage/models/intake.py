"""Alert webhooks as received: stored before the sender gets its 202, turned into issues afterwards.

A row is the raw body of one webhook, kept until processing has committed what it says (alerts,
issues, outbox items) in the same transaction that deletes it: a crash in between leaves it here to
be processed again, so an accepted alert is never lost and never processed twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class ReceivedWebhookStatus(StrEnum):
    RECEIVED = "received"  # stored and answered 202; not processed yet
    ACKNOWLEDGING = "acknowledging"  # processed; the acknowledgements the sender reported are still to apply
    PARKED = "parked"  # processing failed on every attempt: kept, counted in /healthz and /metrics


class ReceivedWebhook(Base):
    __tablename__ = "received_webhooks"
    # AUTOINCREMENT: an id is never handed out again once its row is deleted (SQLite would reuse the
    # largest). The processor reads rows before its transaction and finds them again there by id.
    __table_args__ = (Index("ix_received_webhooks_status_id", "status", "id"), {"sqlite_autoincrement": True})

    # 64-bit on PostgreSQL (rows come and go, ids only grow); SQLite's INTEGER PRIMARY KEY is its rowid.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    body: Mapped[bytes] = mapped_column(LargeBinary)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default=ReceivedWebhookStatus.RECEIVED)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
