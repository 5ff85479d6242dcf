"""What people tell us: questions asked of the knowledge base, and satisfaction surveys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.models.base import Base, utcnow


class QuestionOutcome(StrEnum):
    ANSWERED = "answered"  # an answer was shown; no feedback yet
    NO_ANSWER = "no_answer"  # nothing confident enough to show
    SOLVED = "solved"  # "This solved it"
    NOT_HELPFUL = "not_helpful"  # "Didn't help"
    TICKET = "ticket"  # it became an issue


class KbQuestion(Base):
    __tablename__ = "kb_questions"
    __table_args__ = (
        Index("ix_kb_questions_asked_at", "asked_at"),
        Index("ix_kb_questions_asked_at_outcome", "asked_at", "outcome"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    asked_at: Mapped[datetime] = mapped_column(default=utcnow)
    asked_by: Mapped[str] = mapped_column(String(255))
    channel: Mapped[str | None] = mapped_column(String(255))
    question: Mapped[str] = mapped_column(Text)
    article_path: Mapped[str | None] = mapped_column(Text)
    section: Mapped[str | None] = mapped_column(Text)
    score: Mapped[float | None]
    confident: Mapped[bool] = mapped_column(default=False)
    outcome: Mapped[str] = mapped_column(String(16), default=QuestionOutcome.ANSWERED)
    feedback_at: Mapped[datetime | None]
    issue_id: Mapped[int | None] = mapped_column(ForeignKey("issues.id", ondelete="SET NULL"))


class SurveyStatus(StrEnum):
    PENDING = "pending"
    ANSWERED = "answered"
    CANCELLED = "cancelled"  # the issue was reopened before anyone answered


class SurveyResponse(Base):
    """One survey sent to one person about one issue; answered at most once."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        UniqueConstraint("issue_id", "user_id", name="uq_survey_responses_issue_id_user_id"),
        Index("ix_survey_responses_sent_at", "sent_at"),
        Index("ix_survey_responses_status_sent_at", "status", "sent_at"),
        Index("ix_survey_responses_sent_at_scores", "sent_at", "status", "helpful", "speed", "professional"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=SurveyStatus.PENDING)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)
    reminder_sent_at: Mapped[datetime | None]
    answered_at: Mapped[datetime | None]
    helpful: Mapped[int | None]  # 1-5: was the solution helpful
    speed: Mapped[int | None]  # 1-5: how quickly was it resolved
    professional: Mapped[int | None]  # 1-5: was the support efficient and professional
    comment: Mapped[str | None] = mapped_column(Text)


class ReportRun(Base):
    """Claimed by inserting: the unique key makes the daily report go out once across replicas."""

    __tablename__ = "report_runs"
    __table_args__ = (UniqueConstraint("kind", "period", name="uq_report_runs_kind_period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    period: Mapped[str] = mapped_column(String(32))
    claimed_by: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[datetime] = mapped_column(default=utcnow)
