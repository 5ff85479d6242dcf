"""The adjustments log: `/adjustment` opens a modal, a submission is checked in the modal and recorded,
and the owner is reminded by DM (through the outbox) on the follow-up date, with the KPI's change."""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any, AsyncIterator

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import slash_command_body, view_submission_body
from storage.models.performance import Adjustment
from tests.harness import RunningBot, stop_bot, test_config
from tests.integration.kpi_expectations import Samples, Span, api_p95_ms
from tests.integration.performance_support import at, last_second_of, start_kpi_bot
from tests.support.prometheus import PrometheusServer

DEV = "U0DEV"


@pytest.fixture
async def kpi_bot(database_url: str, standin: SlackStandIn, prometheus_kpis: PrometheusServer) -> AsyncIterator[RunningBot]:
    config = test_config(roles={"responder": [DEV], "manager": ["U0BOSS"]})
    running = await start_kpi_bot(
        database_url, standin, prometheus_kpis.url, last_second_of(prometheus_kpis.day), config=config
    )
    yield running
    await stop_bot(running)


async def _open_modal(bot: RunningBot, text: str, user: str = DEV) -> dict[str, Any]:
    body = slash_command_body("/adjustment", text, user_id=user, response_url=bot.standin.response_url("adj"))
    status, answer = await bot.post_slack(body)
    assert status == 200 and answer == ""
    [opened] = await bot.standin.wait_for("views.open")
    return opened.args["view"]


def _values(area: str, change: str, impact: str = "", kpi: str | None = None, follow_up: date | None = None) -> dict:
    return {
        "adjustment.area": {"adjustment.area": area},
        "adjustment.change": {"adjustment.change": change},
        "adjustment.impact": {"adjustment.impact": impact},
        "adjustment.kpi": {"adjustment.kpi": {"type": "static_select",
                                              "selected_option": {"value": kpi} if kpi else None}},
        "adjustment.follow_up": {"adjustment.follow_up": {"type": "datepicker",
                                                          "selected_date": follow_up.isoformat() if follow_up else None}},
    }


async def _submit(bot: RunningBot, view: dict[str, Any], values: dict, user: str = DEV) -> tuple[int, Any]:
    body = view_submission_body(view["callback_id"], values, user_id=user, private_metadata=view["private_metadata"])
    status, text = await bot.post_slack(body)
    return status, json.loads(text) if text.strip().startswith("{") else text


async def _adjustments(bot: RunningBot) -> list[Adjustment]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Adjustment).order_by(Adjustment.id))).scalars())


async def test_an_adjustment_is_logged_from_the_modal(kpi_bot: RunningBot, prometheus_kpis: PrometheusServer) -> None:
    view = await _open_modal(kpi_bot, "API")
    assert view["callback_id"] == "performance.adjustment.modal" and view["blocks"][0]["element"]["initial_value"] == "API"
    follow_up = prometheus_kpis.day + timedelta(days=7)
    values = _values("API", "Redis cache in front of the product API", "p95 under 450 ms", "api_p95", follow_up)
    status, answer = await _submit(kpi_bot, view, values)
    assert status == 200 and answer == ""

    [told] = await kpi_bot.standin.wait_for("chat.postEphemeral")
    assert told.args["user"] == DEV and told.args["channel"] == "C0LOCAL"  # where /adjustment was typed
    assert told.args["text"].startswith("📝 Logged adjustment #") and f"{follow_up:%a %d %b}" in told.args["text"]
    [adjustment] = await _adjustments(kpi_bot)
    assert (adjustment.area, adjustment.change, adjustment.expected_impact) == (
        "API", "Redis cache in front of the product API", "p95 under 450 ms"
    )
    assert (adjustment.kpi, adjustment.follow_up_on, adjustment.made_by) == ("api_p95", follow_up, DEV)
    assert adjustment.made_at == kpi_bot.clock() and adjustment.reminded_at is None


async def test_answers_that_cannot_be_logged_come_back_into_the_modal(
    kpi_bot: RunningBot, prometheus_kpis: PrometheusServer
) -> None:
    view = await _open_modal(kpi_bot, "")
    yesterday = prometheus_kpis.day - timedelta(days=1)
    status, answer = await _submit(kpi_bot, view, _values("Caching", "   ", kpi="no_such_kpi", follow_up=yesterday))
    assert status == 200 and answer["response_action"] == "errors"
    assert set(answer["errors"]) == {"adjustment.change", "adjustment.kpi", "adjustment.follow_up"}
    assert await _adjustments(kpi_bot) == []


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_someone_without_a_role_may_not_log_adjustments(kpi_bot: RunningBot) -> None:
    body = slash_command_body("/adjustment", "", user_id="U0MALLORY", response_url=kpi_bot.standin.response_url("no"))
    assert (await kpi_bot.post_slack(body))[0] == 200
    [reply] = await kpi_bot.standin.wait_for("response_url")
    assert reply.args["text"] == "You need the responder or the manager role to log adjustments."
    assert not kpi_bot.standin.calls_to("views.open")


async def test_the_owner_is_reminded_once_on_the_follow_up_date_with_the_kpi_change(
    kpi_bot: RunningBot, samples_file: Samples, prometheus_kpis: PrometheusServer
) -> None:
    day = prometheus_kpis.day
    made = at(day, "11:00")
    async with kpi_bot.opsbot.sessionmaker.begin() as session:
        session.add_all(
            [
                Adjustment(made_at=made, made_by=DEV, area="API", change="Redis cache", expected_impact="p95 down",
                           kpi="api_p95", follow_up_on=day),
                Adjustment(made_at=made, made_by="U0DBA", area="Database", change="Index on orders",
                           kpi="db_query", follow_up_on=day + timedelta(days=1)),  # not due yet
            ]
        )
    adjustments = kpi_bot.opsbot.performance.adjustments
    assert await adjustments.remind_due() == 1
    assert await adjustments.remind_due() == 0  # once

    dm = kpi_bot.standin.workspace.open_dm(DEV)
    [reminder] = await kpi_bot.standin.wait_for("chat.postMessage", where=lambda c: c.args["channel"] == dm)
    now, edge = kpi_bot.clock(), timedelta(milliseconds=1)
    before = api_p95_ms(samples_file, Span(made - (now - made) - edge, made - edge))
    after = api_p95_ms(samples_file, Span(made - edge, now - edge))
    text = reminder.args["text"]
    assert text.startswith(f"⏰ Follow-up due today for your adjustment of {day:%a %d %b %Y}: *API*: Redis cache")
    assert f"*API response time (p95) −{before - after:.0f} ms* since the change" in text
    [due, later] = await _adjustments(kpi_bot)
    assert due.reminded_at == now and later.reminded_at is None


@pytest.fixture(scope="module")
def samples_file(prometheus_kpis: PrometheusServer) -> Samples:
    assert prometheus_kpis.openmetrics is not None
    return Samples.read(prometheus_kpis.openmetrics)
