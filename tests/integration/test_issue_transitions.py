"""IssueRepository.transition: the one conditional UPDATE every change of an issue's state goes through.

A person's click changes one issue; alert ingestion resolves a whole batch in one statement, with values
that differ per issue. Either way an issue no longer in the expected state is left alone, and the issues
the session holds show what the database holds afterwards.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.database import create_engine, create_sessionmaker
from storage.errors import NotFound
from storage.migrations import upgrade_to_head
from storage.models import OPEN_STATUSES, IssueStatus
from storage.repositories.issue import IssueRepository

REPORTED = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
async def sessionmaker(database_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(database_url)
    await upgrade_to_head(engine)
    try:
        yield create_sessionmaker(engine)
    finally:
        await engine.dispose()


async def _open_issues(sessionmaker: async_sessionmaker[AsyncSession], count: int) -> list[int]:
    rows = [
        {"reported_at": REPORTED + timedelta(minutes=n), "reported_by": "alertmanager", "source": "alertmanager",
         "title": f"Disk full on db-{n}", "description": "", "priority": "High", "category": "infrastructure",
         "status": IssueStatus.OPEN, "channel": "#ops", "is_grouped": False, "updated_at": REPORTED}
        for n in range(count)
    ]
    async with sessionmaker.begin() as session:
        return await IssueRepository(session).insert_many(rows)


async def test_a_batch_gets_each_issue_its_own_values_and_skips_issues_in_another_state(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    first, second, closed = await _open_issues(sessionmaker, 3)
    async with sessionmaker.begin() as session:
        issues = IssueRepository(session)
        await issues.transition({closed: {"status": IssueStatus.CLOSED}}, from_statuses=OPEN_STATUSES)
    resolved_at = REPORTED + timedelta(hours=1)
    async with sessionmaker.begin() as session:
        issues = IssueRepository(session)
        loaded = await issues.get_many([first, second, closed])
        changed = await issues.transition(
            {
                issue_id: {"status": IssueStatus.RESOLVED, "resolved_at": resolved_at, "resolved_by": source,
                           "resolution_seconds": seconds}
                for issue_id, source, seconds in [(first, "grafana", 3600), (second, "datadog", 3540), (closed, "x", 1)]
            },
            from_statuses=OPEN_STATUSES,
        )
        assert changed == {first, second}
        assert (loaded[first].resolved_by, loaded[first].resolution_seconds) == ("grafana", 3600)
        assert (loaded[second].resolved_by, loaded[second].resolution_seconds) == ("datadog", 3540)
        assert loaded[closed].status == IssueStatus.CLOSED and loaded[closed].resolved_by is None
    async with sessionmaker() as session:
        stored = await IssueRepository(session).get_many([first, second, closed])
    assert [(stored[i].status, stored[i].resolved_by, stored[i].resolved_at) for i in (first, second)] == [
        (IssueStatus.RESOLVED, "grafana", resolved_at),
        (IssueStatus.RESOLVED, "datadog", resolved_at),
    ]
    assert stored[closed].status == IssueStatus.CLOSED


async def test_the_acknowledged_condition_and_a_refused_change_show_the_current_state(
    sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    [issue_id] = await _open_issues(sessionmaker, 1)
    take = {"acknowledged_by": "U0ALICE", "assignee": "U0ALICE", "status": IssueStatus.IN_PROGRESS}
    async with sessionmaker.begin() as session:
        issues = IssueRepository(session)
        assert await issues.transition({issue_id: take}, from_statuses=OPEN_STATUSES, acknowledged=False) == {issue_id}
    async with sessionmaker.begin() as session:
        issues = IssueRepository(session)
        issue = await issues.require(issue_id)
        bob = take | {"acknowledged_by": "U0BOB", "assignee": "U0BOB"}
        assert await issues.transition({issue_id: bob}, from_statuses=OPEN_STATUSES, acknowledged=False) == set()
        assert issue.acknowledged_by == "U0ALICE"  # who got there first, for the refusal


async def test_require_names_the_missing_issue(sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    async with sessionmaker() as session:
        with pytest.raises(NotFound, match=r"^Issue #404 does not exist\. Try `/issue list all`\.$"):
            await IssueRepository(session).require(404, hint="Try `/issue list all`.")


async def test_a_change_made_meanwhile_by_another_transaction_wins(
    sessionmaker: async_sessionmaker[AsyncSession], database_url: str
) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite transactions begin IMMEDIATE: a second writer waits, so there is no race to lose")
    [issue_id] = await _open_issues(sessionmaker, 1)
    async with sessionmaker.begin() as ingestion:
        issues = IssueRepository(ingestion)
        stale = await issues.require(issue_id)
        async with sessionmaker.begin() as person:  # the Resolve button, committed in between
            await IssueRepository(person).transition(
                {issue_id: {"status": IssueStatus.RESOLVED, "resolved_by": "U0ALICE"}}, from_statuses=OPEN_STATUSES
            )
        alert = {"status": IssueStatus.RESOLVED, "resolved_by": "alertmanager"}
        assert await issues.transition({issue_id: alert}, from_statuses=OPEN_STATUSES) == set()
        assert stale.resolved_by == "U0ALICE"
