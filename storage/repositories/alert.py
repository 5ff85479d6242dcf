"""Alerts as monitoring reported them: look-ups by fingerprint and counts per issue."""

from __future__ import annotations

from typing import Any, Sequence

from sqlalchemy import bindparam, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.bulk import insert_rows

from storage.models import (
    Alert,
    AlertStatus,
)


# Built once: every alert group commit runs it, and building a statement costs more than running it.
_BY_FINGERPRINTS = select(Alert).where(
    Alert.source == bindparam("source"), Alert.fingerprint.in_(bindparam("fingerprints", expanding=True))
)


class AlertRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get_by_fingerprints(self, source: str, fingerprints: Sequence[str]) -> dict[str, Alert]:
        if not fingerprints:
            return {}
        parameters = {"source": source, "fingerprints": list(fingerprints)}
        return {alert.fingerprint: alert for alert in (await self.session.execute(_BY_FINGERPRINTS, parameters)).scalars()}

    async def add(self, alert: Alert) -> Alert:
        self.session.add(alert)
        return alert

    async def insert_many(self, rows: Sequence[dict[str, Any]]) -> None:
        """One executemany (storage/bulk.py)."""
        await insert_rows(self.session, Alert.__table__, rows)

    async def list_for_issue(self, issue_id: int, *, limit: int | None = None) -> Sequence[Alert]:
        query = select(Alert).where(Alert.issue_id == issue_id).order_by(Alert.id)
        if limit is not None:
            query = query.limit(limit)
        return (await self.session.execute(query)).scalars().all()

    async def counts_for_issues(self, issue_ids: Sequence[int]) -> dict[int, tuple[int, int]]:
        """{issue id: (alerts linked, of which still firing)} in one query."""
        if not issue_ids:
            return {}
        firing = func.sum(case((Alert.status == AlertStatus.FIRING, 1), else_=0))
        query = (
            select(Alert.issue_id, func.count(), func.coalesce(firing, 0))
            .where(Alert.issue_id.in_(list(issue_ids)))
            .group_by(Alert.issue_id)
        )
        return {row[0]: (int(row[1]), int(row[2])) for row in await self.session.execute(query)}

    async def count_for_issue(self, issue_id: int) -> tuple[int, int]:
        """(alerts linked, of which still firing)."""
        firing = func.sum(case((Alert.status == AlertStatus.FIRING, 1), else_=0))
        query = select(func.count(), func.coalesce(firing, 0)).where(Alert.issue_id == issue_id)
        total, still_firing = (await self.session.execute(query)).one()
        return int(total), int(still_firing)
