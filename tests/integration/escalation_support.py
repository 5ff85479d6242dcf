"""Shared by the escalation, resolve and action tests: a bot with teams, an alert, signed clicks and submits."""

from __future__ import annotations

import json
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body, view_submission_body
from storage.models import Escalation, Issue, IssueEvent
from tests.harness import RunningBot, start_bot, stop_bot, test_config

ROTA_STARTS_ON = "2026-01-05"  # a Monday
TEAMS: dict[str, Any] = {
    "dba": {
        "name": "DBAs",
        "channel": "#dba",
        "usergroup": "S0DBA",
        "categories": ["database"],
        "on_call": {
            "rota": ["U0DBA1", "U0DBA2", "U0DBA3"],
            "starts_on": ROTA_STARTS_ON,
            "handover": {"day": "monday", "time": "09:00", "timezone": "Europe/Berlin"},
        },
        "levels": [
            {"after_minutes": 15, "name": "team lead", "users": ["U0LEAD"]},
            {"after_minutes": 30, "name": "managers", "channel": "#ops-managers", "usergroup": "S0MGR"},
        ],
    },
    "developers": {"name": "Developers", "channel": "#dev", "categories": ["application"], "on_call": {"user": "U0DEV"}},
}


def alertmanager_body(
    alertname: str = "PostgresReplicationLag", *, category: str = "database", fingerprint: str = "pglag01"
) -> dict[str, Any]:
    labels = {"alertname": alertname, "category": category, "instance": "db-2:9187", "service": "postgres",
              "severity": "critical"}
    return {
        "receiver": "opsbot",
        "status": "firing",
        "alerts": [
            {
                "status": "firing",
                "labels": labels,
                "annotations": {
                    "summary": "Replica db-2 is 45s behind the primary",
                    "description": "pg_replication_lag_seconds > 30 for 5m",
                    "runbook_url": "https://runbooks.example.com/pg-lag",
                    "dashboard": "https://grafana.example.com/d/pg",
                    "logs": "https://logs.example.com/search?q=db-2",
                },
                "startsAt": "2026-11-22T04:49:51.01Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example.com:9090/graph?g0.expr=pg_replication_lag_seconds",
                "fingerprint": fingerprint,
            }
        ],
        "groupLabels": {"alertname": alertname},
        "commonLabels": labels,
        "commonAnnotations": {},
        "externalURL": "http://127.0.0.1:9093",
        "version": "4",
        "groupKey": f'{{}}:{{alertname="{alertname}"}}',
        "truncatedAlerts": 0,
    }


@pytest.fixture
async def team_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin, config=test_config(teams=TEAMS))
    yield running
    await stop_bot(running)


async def open_issue(bot: RunningBot, body: dict[str, Any] | None = None) -> tuple[int, str]:
    """Fire one alert and wait for its message: (issue id, message ts)."""
    before = len(bot.standin.calls_to("chat.postMessage"))
    status, answer = await bot.post_webhook("alertmanager", body or alertmanager_body())
    assert status == 202 and answer["issues_opened"] == 1, answer
    posts = await bot.standin.wait_for("chat.postMessage", count=before + 1)
    await bot.outbox_drained()
    async with bot.opsbot.sessionmaker() as session:
        issue_id = (await session.execute(select(Issue.id).order_by(Issue.id.desc()).limit(1))).scalar_one()
    return issue_id, posts[before].response["ts"]


async def click(
    bot: RunningBot, action_id: str, issue_id: int, user_id: str, *, ts: str = "1.1", reply_to: str = "r1"
) -> int:
    body = block_actions_body(
        action_id, str(issue_id), user_id=user_id, message_ts=ts, response_url=bot.standin.response_url(reply_to),
    )
    status, _ = await bot.post_slack(body)
    return status


def select_state(value: str, kind: str = "static_select") -> dict[str, Any]:
    return {"type": kind, "selected_option": {"value": value}}


async def submit_view(bot: RunningBot, view: dict[str, Any], values: dict[str, Any], user_id: str) -> tuple[int, Any]:
    body = view_submission_body(view["callback_id"], values, user_id=user_id, private_metadata=view["private_metadata"])
    status, text = await bot.post_slack(body)
    return status, json.loads(text) if text.strip().startswith("{") else text


async def submit_escalation(
    bot: RunningBot, view: dict[str, Any], user_id: str, *, team: str = "dba", urgency: str = "high", note: str = ""
) -> tuple[int, Any]:
    values = {
        "escalation.team": {"escalation.team": select_state(team)},
        "escalation.urgency": {"escalation.urgency": select_state(urgency, "radio_buttons")},
        "escalation.note": {"escalation.note": note},
    }
    return await submit_view(bot, view, values, user_id)


async def opened_view(bot: RunningBot, count: int = 1) -> dict[str, Any]:
    calls = await bot.standin.wait_for("views.open", count=count)
    return calls[count - 1].args["view"]


async def issue_events(bot: RunningBot, issue_id: int) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return list((await session.execute(query)).scalars())


async def escalations(bot: RunningBot, issue_id: int) -> list[Escalation]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(Escalation).where(Escalation.issue_id == issue_id).order_by(Escalation.id)
        return list((await session.execute(query)).scalars())


async def get_issue(bot: RunningBot, issue_id: int) -> Issue:
    async with bot.opsbot.sessionmaker() as session:
        issue = await session.get(Issue, issue_id)
    assert issue is not None
    return issue


def blocks_text(args: dict[str, Any]) -> str:
    """Every string in a message (text and blocks), to assert on what people read."""
    return args.get("text", "") + "\n" + json.dumps(args.get("blocks") or [], ensure_ascii=False)


def dms_to(bot: RunningBot, user_id: str) -> list[Any]:
    channel = bot.standin.workspace.open_dm(user_id)
    return [call for call in bot.standin.calls_to("chat.postMessage") if call.args.get("channel") == channel]


def posts_to(bot: RunningBot, channel: str, *, threaded: bool = False) -> list[Any]:
    return [
        call for call in bot.standin.calls_to("chat.postMessage")
        if bot.standin.same_channel(call.args.get("channel", ""), channel) and bool(call.args.get("thread_ts")) == threaded
    ]


async def wait_post(
    bot: RunningBot, channel: str, count: int = 1, *, containing: str = "", drain: bool = True
) -> list[Any]:
    """Wait for posts to a channel (name, or a user id for DMs): the bot works after acking."""
    target = bot.standin.workspace.open_dm(channel) if channel[:1] in ("U", "W") else channel
    calls = await bot.standin.wait_for(
        "chat.postMessage", count=count,
        where=lambda c: bot.standin.same_channel(c.args.get("channel", ""), target) and not c.args.get("thread_ts")
        and containing in blocks_text(c.args),
    )
    if drain:
        await bot.outbox_drained()
    return calls


async def wait_thread(bot: RunningBot, ts: str, containing: str, count: int = 1) -> list[Any]:
    calls = await bot.standin.wait_for(
        "chat.postMessage", count=count, where=lambda c: c.args.get("thread_ts") == ts and containing in c.args["text"]
    )
    return calls
