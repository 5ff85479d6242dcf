"""PagerDuty Events API v2 against a local stand-in: accepted, refused, retried, resolved, kept over a restart."""

from __future__ import annotations

import copy
from typing import Any, AsyncIterator

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import create_app
from bot.settings import Settings, SettingsError
from slack_standin import SlackStandIn
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config
from tests.integration.escalation_support import (
    TEAMS,
    click,
    escalations,
    issue_events,
    open_issue,
    opened_view,
    submit_escalation,
    wait_post,
    wait_thread,
)

ROUTING_KEY = "R0UTINGKEYDBA0000000000000000000"


class PagerDutyStandIn:
    """/v2/enqueue on 127.0.0.1: answers from a script (default 202), records every event."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.script: list[tuple[int, dict[str, Any]]] = []
        self.always: tuple[int, dict[str, Any]] | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v2/enqueue", self._enqueue)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}/v2/enqueue"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _enqueue(self, request: web.Request) -> web.Response:
        event = await request.json()
        self.events.append(event)
        if self.script:
            status, body = self.script.pop(0)
        elif self.always is not None:
            status, body = self.always
        else:
            status, body = 202, {**fixture_json("pagerduty_events_v2_response_202.json"), "dedup_key": event.get("dedup_key")}
        return web.json_response(body, status=status)


@pytest.fixture
async def pagerduty() -> AsyncIterator[PagerDutyStandIn]:
    stand_in = PagerDutyStandIn()
    await stand_in.start()
    yield stand_in
    await stand_in.stop()


def _config(pagerduty_url: str) -> Any:
    teams = copy.deepcopy(TEAMS)
    teams["dba"]["pagerduty"] = {"routing_key_env": "PD_ROUTING_KEY_DBA", "events_url": pagerduty_url}
    return test_config(teams=teams)


@pytest.fixture
async def pd_bot(
    database_url: str, standin: SlackStandIn, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("PD_ROUTING_KEY_DBA", ROUTING_KEY)
    running = await start_bot(database_url, standin, config=_config(pagerduty.url))
    yield running
    await stop_bot(running)


async def _escalate(bot: RunningBot) -> tuple[int, str]:
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE", note="Lag growing")
    await wait_post(bot, "#dba", drain=False)  # PagerDuty may be down: its events stay pending
    return issue_id, ts


async def _pagerduty_events(bot: RunningBot, issue_id: int, outcome: str, count: int = 1) -> list[Any]:
    async def arrived() -> bool:
        found = [e for e in await issue_events(bot, issue_id) if e.kind == "pagerduty" and e.detail["outcome"] == outcome]
        return len(found) >= count

    await bot.wait_until(arrived)
    return [e for e in await issue_events(bot, issue_id) if e.kind == "pagerduty" and e.detail["outcome"] == outcome]


async def test_trigger_is_accepted_and_the_incident_resolves_with_the_issue(
    pd_bot: RunningBot, pagerduty: PagerDutyStandIn
) -> None:
    bot = pd_bot
    issue_id, _ = await _escalate(bot)
    [accepted] = await _pagerduty_events(bot, issue_id, "accepted")
    [trigger] = pagerduty.events
    shape = fixture_json("pagerduty_events_v2_trigger.json")
    assert set(trigger) <= set(shape) and {"routing_key", "event_action", "dedup_key", "payload"} <= set(trigger)
    assert trigger["routing_key"] == ROUTING_KEY and trigger["event_action"] == "trigger"
    assert trigger["dedup_key"] == f"opsbot-issue-{issue_id}-dba"
    payload = trigger["payload"]
    assert set(payload) <= set(shape["payload"])
    assert payload["severity"] == "critical" and payload["source"] == "db-2:9187" and payload["component"] == "postgres"
    assert payload["summary"].startswith(f"[DBAs] #{issue_id}")
    assert payload["custom_details"]["labels"]["alertname"] == "PostgresReplicationLag"
    assert payload["custom_details"]["note"] == "Lag growing"
    assert {"href": "https://runbooks.example.com/pg-lag", "text": "Runbook"} in trigger["links"]
    assert ROUTING_KEY not in str(accepted.detail)
    [row] = await escalations(bot, issue_id)
    assert row.pagerduty_dedup_key == trigger["dedup_key"]

    await bot.opsbot.issues.resolve(issue_id, "U0BOB", resolution="Replica rebuilt")
    await _pagerduty_events(bot, issue_id, "accepted", count=2)
    resolve = pagerduty.events[-1]
    assert resolve == {"event_action": "resolve", "dedup_key": trigger["dedup_key"], "routing_key": ROUTING_KEY}


async def test_acknowledging_the_issue_acknowledges_the_incident(pd_bot: RunningBot, pagerduty: PagerDutyStandIn) -> None:
    bot = pd_bot
    issue_id, ts = await _escalate(bot)
    await _pagerduty_events(bot, issue_id, "accepted")
    await click(bot, "issue.ack", issue_id, "U0BOB", ts=ts)
    await _pagerduty_events(bot, issue_id, "accepted", count=2)
    assert [e["event_action"] for e in pagerduty.events] == ["trigger", "acknowledge"]


async def test_a_refused_event_is_recorded_and_said_in_the_thread(pd_bot: RunningBot, pagerduty: PagerDutyStandIn) -> None:
    bot = pd_bot
    pagerduty.script.append((400, fixture_json("pagerduty_events_v2_response_400_error.json")))
    issue_id, ts = await _escalate(bot)
    [refused] = await _pagerduty_events(bot, issue_id, "refused")
    assert "Event object format is unrecognized" in refused.summary and "JSON parse error" in refused.summary
    await wait_thread(bot, ts, "PagerDuty refused the trigger (400)")
    await bot.outbox_drained()
    assert len(pagerduty.events) == 1  # a 400 is not retried


async def test_server_errors_are_retried_until_accepted(pd_bot: RunningBot, pagerduty: PagerDutyStandIn) -> None:
    bot = pd_bot
    pagerduty.script += [(503, {"status": "unavailable"}), (500, {"status": "error"})]
    issue_id, _ = await _escalate(bot)
    [retrying] = await _pagerduty_events(bot, issue_id, "retrying")
    assert "503" in retrying.summary
    for expected in (2, 3):
        bot.clock.advance(minutes=5)  # past the worker's backoff
        await bot.wait_until(lambda n=expected: _arrived(pagerduty, n))
    [accepted] = await _pagerduty_events(bot, issue_id, "accepted")
    assert accepted.detail["attempts"] == 3
    assert [e["event_action"] for e in pagerduty.events] == ["trigger"] * 3


async def _arrived(pagerduty: PagerDutyStandIn, count: int) -> bool:
    return len(pagerduty.events) >= count


async def test_an_undelivered_page_survives_a_restart(
    database_url: str, standin: SlackStandIn, pagerduty: PagerDutyStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PD_ROUTING_KEY_DBA", ROUTING_KEY)
    pagerduty.always = (503, {"status": "unavailable"})
    bot = await start_bot(database_url, standin, config=_config(pagerduty.url))
    try:
        issue_id, _ = await _escalate(bot)
        await _pagerduty_events(bot, issue_id, "retrying")
    finally:
        await stop_bot(bot)

    pagerduty.always = None
    restarted = await start_bot(database_url, standin, config=_config(pagerduty.url))
    try:
        restarted.clock.advance(minutes=5)
        [accepted] = await _pagerduty_events(restarted, issue_id, "accepted")
        assert accepted.detail["action"] == "trigger" and accepted.detail["attempts"] >= 2
    finally:
        await stop_bot(restarted)


async def test_a_team_without_pagerduty_sends_nothing(pd_bot: RunningBot, pagerduty: PagerDutyStandIn) -> None:
    bot = pd_bot
    from tests.integration.escalation_support import alertmanager_body

    issue_id, ts = await open_issue(bot, alertmanager_body("CheckoutErrors", category="application", fingerprint="a1"))
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    await submit_escalation(bot, await opened_view(bot), "U0ALICE", team="developers")
    await wait_post(bot, "#dev")
    [row] = await escalations(bot, issue_id)
    assert row.pagerduty_dedup_key is None and pagerduty.events == []


def test_a_missing_routing_key_stops_the_bot_from_starting(sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PD_ROUTING_KEY_DBA", raising=False)
    settings = Settings(
        slack_bot_token=SecretStr("xoxb-test"), slack_signing_secret=SecretStr("s"), alert_webhook_token=SecretStr("t"),
        database_url=sqlite_url,
    )
    with pytest.raises(SettingsError, match="PD_ROUTING_KEY_DBA"):
        create_app(settings, _config("http://127.0.0.1:9/v2/enqueue"), environ={})
