"""Runbook runs (auto-fix): what was tried on an issue, step by step, and whether it was verified."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class RunbookRunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"  # steps passed; waiting for the alert to resolve (verification)
    VERIFIED = "verified"  # the alert resolved within the verify window
    FAILED = "failed"  # a step failed
    UNVERIFIED = "unverified"  # steps passed but the alert did not resolve in time
    REFUSED = "refused"  # parameters failed validation; nothing was executed


class RunbookRun(Base):
    __tablename__ = "runbook_runs"
    __table_args__ = (
        Index("ix_runbook_runs_issue_id_started_at", "issue_id", "started_at"),
        Index("ix_runbook_runs_status_verify_deadline", "status", "verify_deadline"),
        Index("ix_runbook_runs_started_at_status", "started_at", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    runbook_id: Mapped[str] = mapped_column(String(255))
    trigger: Mapped[str] = mapped_column(String(16))  # button, auto
    requested_by: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(16), default=RunbookRunStatus.RUNNING)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    verify_deadline: Mapped[datetime | None]
    verified_at: Mapped[datetime | None]
    output_excerpt: Mapped[str] = mapped_column(Text, default="")
    output_digest: Mapped[str | None] = mapped_column(String(64))
    error: Mapped[str | None] = mapped_column(Text)
    steps: Mapped[list[dict[str, Any]]] = mapped_column(default=list)
