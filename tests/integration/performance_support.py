"""Shared by the performance tests: a bot whose clock stands still on the data's eventful day, reading
the session's Prometheus; the issue log of that day; the report's KPI lines parsed back."""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.config import OpsConfig
from slack_standin import SlackStandIn
from slack_standin.signing import slash_command_body
from storage.models import Issue, IssueEvent, IssueStatus
from tests.harness import Clock, RunningBot, start_bot, test_config
from tests.integration.kpi_expectations import midnight

MANAGER = "U0BOSS"
_KPI_LINE = re.compile(
    r"^(?P<marker>\S+) \*(?P<name>[^*]+)\* (?P<value>.+?) · target (?P<target>.+?) · was (?P<was>.+?)"
    r" · (?P<arrow>\S) (?P<trend>[\w/]+)(?: \((?P<change>[^)]+)\))?$"
)


class FrozenClock(Clock):
    """A clock that stands still (the report's figures depend on the exact evaluation time)."""

    def __init__(self, at: datetime) -> None:
        super().__init__(at)
        self._at = at

    def __call__(self) -> datetime:
        return self._at

    def advance(self, **delta: float) -> None:
        self._at += timedelta(**delta)


def last_second_of(day: date) -> datetime:
    return midnight(day) + timedelta(days=1) - timedelta(seconds=1)


async def start_kpi_bot(
    database_url: str, standin: SlackStandIn, prometheus_url: str, at: datetime, *, config: OpsConfig | None = None
) -> RunningBot:
    return await start_bot(
        database_url,
        standin,
        config=config or test_config(roles={"manager": [MANAGER]}),
        clock=FrozenClock(at),
        settings_overrides={"prometheus_url": prometheus_url},
    )


async def ask(bot: RunningBot, text: str, user: str = MANAGER, name: str = "perf") -> dict[str, Any]:
    """`/summary <text>` as Slack sends it; returns the ephemeral reply's arguments."""
    response_url = bot.standin.response_url(name)
    status, _ = await bot.post_slack(slash_command_body("/summary", text, user_id=user, response_url=response_url))
    assert status == 200
    [reply] = await bot.standin.wait_for("response_url", timeout=30, where=lambda c: c.path == f"/response_url/{name}")
    return reply.args


def section(blocks: list[dict[str, Any]], name: str) -> str:
    """The text of the report's section `name` (all its blocks, if it was split)."""
    texts = [
        b["text"]["text"] for b in blocks if b.get("block_id", "").split(".")[:2] == ["performance", name]
    ]
    return "\n".join(texts)


@dataclass(frozen=True)
class KpiLine:
    marker: str
    value: str
    target: str
    was: str
    arrow: str
    trend: str
    change: str | None


def kpi_lines(blocks: list[dict[str, Any]]) -> dict[str, KpiLine]:
    """KPI name -> its line in the report, unescaped."""
    lines: dict[str, KpiLine] = {}
    for line in html.unescape(section(blocks, "kpis")).splitlines()[1:]:
        match = _KPI_LINE.match(line)
        assert match is not None, line
        lines[match["name"]] = KpiLine(
            match["marker"], match["value"], match["target"], match["was"], match["arrow"], match["trend"], match["change"]
        )
    return lines


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def at(day: date, clock: str) -> datetime:
    hours, minutes = (int(part) for part in clock.split(":"))
    return midnight(day) + timedelta(hours=hours, minutes=minutes)


async def seed_issues(session: AsyncSession, day: date) -> None:
    """The eventful day's issue log: the outage (High, resolved), the slow API (Medium, escalated, open),
    and one issue of the day before (not in the day's report)."""
    outage = Issue(
        reported_at=at(day, "10:14"), reported_by="alertmanager", source="alertmanager",
        title="Shop unreachable: probe failing", priority="High", category="infrastructure",
        status=IssueStatus.RESOLVED, channel="#alerts", acknowledged_at=at(day, "10:16"), acknowledged_by="U0OPS",
        ack_seconds=120, resolved_at=at(day, "11:02"), resolved_by="U0OPS", resolution_seconds=48 * 60,
        resolution="Restarted the load balancer", root_cause="A full conntrack table on the balancer",
        root_cause_category="infrastructure", updated_at=at(day, "11:02"),
    )
    slow = Issue(
        reported_at=at(day, "09:20"), reported_by="U0STAFF", source="slack", title="The API is slow for customers",
        priority="Medium", category="application", status=IssueStatus.IN_PROGRESS, channel="#help-desk",
        updated_at=at(day, "09:40"),
    )
    earlier = Issue(
        reported_at=at(day - timedelta(days=1), "03:07"), reported_by="alertmanager", source="alertmanager",
        title="Probe blip", priority="Low", category="infrastructure", status=IssueStatus.RESOLVED,
        resolved_at=at(day - timedelta(days=1), "03:09"), resolution="Went away by itself",
        updated_at=at(day - timedelta(days=1), "03:09"),
    )
    session.add_all([outage, slow, earlier])
    await session.flush()
    session.add_all(
        [
            IssueEvent(issue_id=outage.id, at=at(day, "10:14"), actor="alertmanager", kind="opened", summary="Opened"),
            IssueEvent(issue_id=outage.id, at=at(day, "10:16"), actor="U0OPS", kind="acknowledged", summary="Acknowledged"),
            IssueEvent(issue_id=outage.id, at=at(day, "10:30"), actor="U0OPS", kind="autofix_run",
                       summary="Runbook Restart the web tier: failed"),
            IssueEvent(issue_id=outage.id, at=at(day, "11:02"), actor="U0OPS", kind="resolved", summary="Resolved"),
            IssueEvent(issue_id=slow.id, at=at(day, "09:20"), actor="U0STAFF", kind="opened", summary="Opened"),
            IssueEvent(issue_id=slow.id, at=at(day, "09:40"), actor="U0LEAD", kind="escalated",
                       summary="Escalated to Developers"),
        ]
    )
