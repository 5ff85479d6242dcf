"""What an issue's message shows of silences and snoozes, read in the message's own short read
(handlers/issues/message_view.py calls `load_holds`)."""

from __future__ import annotations

from typing import Mapping, Protocol, Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from handlers.silences.blocks import ActiveSilence, ActiveSnooze, IssueHolds
from handlers.silences.matchers import ALERTMANAGER_SOURCE, EXTERNAL_URL_KEY
from storage.models import Issue
from storage.repositories.silence import SilenceRepository


class ShownAlert(Protocol):
    """The little of an alert this needs (the issue message's AlertLine has it)."""

    @property
    def source(self) -> str | None: ...

    @property
    def annotations(self) -> Mapping[str, str]: ...


async def load_holds(session: AsyncSession, issue: Issue, alerts: Sequence[ShownAlert]) -> IssueHolds | None:
    """None for an issue people reported (no alert to silence or hold). A silence is looked for only
    where Alertmanager alerts are (no query otherwise), a snooze only while the issue is open."""
    if not alerts:
        return None
    repo = SilenceRepository(session)
    silence = snooze = None
    if any(alert.source == ALERTMANAGER_SOURCE for alert in alerts):
        row = await repo.active_silence(issue.id)
        if row is not None:
            silence = ActiveSilence(starts_at=row.starts_at, ends_at=row.ends_at, created_by=row.created_by)
    if issue.is_open:
        held = await repo.active_snooze(issue.id)
        if held is not None:
            snooze = ActiveSnooze(snoozed_at=held.snoozed_at, until=held.until, snoozed_by=held.snoozed_by)
    first = alerts[0]
    silenceable = first.source == ALERTMANAGER_SOURCE and bool(first.annotations.get(EXTERNAL_URL_KEY))
    return IssueHolds(
        issue.id, silenceable=issue.is_open and silenceable, snoozable=issue.is_open, silence=silence, snooze=snooze
    )
