"""The adjustments log: `/adjustment` records an optimisation; its owner is reminded on the follow-up date.

The reminder is a DM through the outbox, written in the same transaction that marks the adjustment
reminded (a conditional UPDATE), so with several replicas an owner is reminded exactly once. It
carries the KPI's change since the adjustment, read before that transaction opens.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, time as time_of_day, tzinfo
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.outbox import OutboxWriter
from handlers.performance.blocks import AREA_MAX_LENGTH, TEXT_MAX_LENGTH
from handlers.performance.ids import AdjustmentModal
from handlers.performance.rendering import REMINDER_TEMPLATE, PerformanceTemplates
from handlers.performance.service import PerformanceReports, adjustment_line
from storage.models import utcnow
from storage.models.performance import Adjustment
from storage.repositories.outbox import OutboxRepository
from storage.repositories.performance import AdjustmentRepository

log = logging.getLogger(__name__)

REMINDER_CHECK_SECONDS = 60.0


@dataclass(frozen=True)
class AdjustmentInput:
    """The modal's answers, trimmed; empty optional answers are None."""

    area: str
    change: str
    expected_impact: str
    kpi: str | None
    follow_up_on: date | None


class AdjustmentService:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        reports: PerformanceReports,
        templates: PerformanceTemplates,
        *,
        tz: tzinfo,
        reminder_time: time_of_day,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._sessionmaker = sessionmaker
        self._writer = writer
        self._reports = reports
        self._templates = templates
        self._tz = tz
        self._reminder_time = reminder_time
        self._clock = clock

    def today(self) -> date:
        return self._clock().astimezone(self._tz).date()

    def kpi_choices(self) -> list[tuple[str, str]]:
        return [(kpi.key, kpi.name) for kpi in self._reports.source.kpis]

    def problems(self, answers: AdjustmentInput) -> dict[str, str]:
        """What to show beside the modal's inputs; empty when the answers can be recorded."""
        errors: dict[str, str] = {}
        if not answers.area:
            errors[AdjustmentModal.AREA] = "Name the area you changed (API, caching, database, ...)."
        elif len(answers.area) > AREA_MAX_LENGTH:
            errors[AdjustmentModal.AREA] = f"Keep it under {AREA_MAX_LENGTH} characters."
        if not answers.change:
            errors[AdjustmentModal.CHANGE] = "Say what was changed, even in a few words."
        elif len(answers.change) > TEXT_MAX_LENGTH:
            errors[AdjustmentModal.CHANGE] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        if len(answers.expected_impact) > TEXT_MAX_LENGTH:
            errors[AdjustmentModal.IMPACT] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        if answers.kpi is not None and self._reports.source.kpi(answers.kpi) is None:
            errors[AdjustmentModal.KPI] = "That KPI is not configured any more: choose another."
        if answers.follow_up_on is not None and answers.follow_up_on < self.today():
            errors[AdjustmentModal.FOLLOW_UP] = "Pick today or a later day."
        return errors

    async def record(self, answers: AdjustmentInput, user: str) -> Adjustment:
        async with self._sessionmaker.begin() as session:
            return await AdjustmentRepository(session).add(
                Adjustment(
                    made_at=self._clock(),
                    made_by=user,
                    area=answers.area,
                    change=answers.change,
                    expected_impact=answers.expected_impact,
                    kpi=answers.kpi,
                    follow_up_on=answers.follow_up_on,
                )
            )

    async def remind_due(self) -> int:
        """Remind the owners whose follow-up is due (on the day, from `reminder_time` local); returns how many."""
        now = self._clock()
        local = now.astimezone(self._tz)
        if local.time() < self._reminder_time:
            return 0
        async with self._sessionmaker() as session:
            due = list(await AdjustmentRepository(session).list_due(local.date()))
        reminded = 0
        for adjustment in due:
            effect = await self._reports.effect_of(adjustment, now)  # HTTP before the transaction opens
            text = self._templates.sections(REMINDER_TEMPLATE, {"adjustment": adjustment_line(adjustment, effect)})["text"]
            async with self._sessionmaker.begin() as session:
                if not await AdjustmentRepository(session).mark_reminded(adjustment.id, at=now):
                    continue  # another replica got there first
                await self._writer.direct_message(OutboxRepository(session), user=adjustment.made_by, text=text)
            reminded += 1
        if reminded:
            self._writer.wake()
            log.info("reminded %d adjustment owner(s) of their follow-up", reminded)
        return reminded
