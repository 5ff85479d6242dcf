"""Webhooks are stored before their 202 and processed after (handlers/alerts/processor.py), issue 13.

What a sender is promised: a 202 means the body is committed; it is then processed exactly once, in
the order webhooks were accepted, across a crash between the two; a webhook that cannot be processed
is parked and reported, and holds up no other. `Prefer: return=representation` waits for processing.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from sqlalchemy import select, text

from bot.lifecycle import SUPERVISOR
from handlers.alerts import ingestion
from slack_standin import SlackStandIn
from storage.models import Alert, Issue, ReceivedWebhook, ReceivedWebhookStatus, utcnow
from storage.repositories.received_webhook import ReceivedWebhookRepository, store_received
from tests.harness import WEBHOOK_TOKEN, RunningBot, eventually, start_bot, stop_bot, test_config
from tests.integration.delivery_support import messages_per_issue, notification

POSTGRES_ONLY = pytest.mark.parametrize(
    "database_url", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)


async def _post(bot: RunningBot, body: dict[str, Any], **headers: str) -> tuple[int, dict[str, str], Any]:
    """As Alertmanager posts: no Prefer header unless given."""
    async with aiohttp.ClientSession() as session:
        async with session.post(
            f"{bot.url}/webhooks/alertmanager", json=body, headers={"Authorization": f"Bearer {WEBHOOK_TOKEN}", **headers}
        ) as response:
            return response.status, dict(response.headers), await response.json()


async def _stored(bot: RunningBot) -> list[ReceivedWebhook]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(ReceivedWebhook).order_by(ReceivedWebhook.id))).scalars())


async def _alerts(bot: RunningBot) -> dict[str, tuple[str, int | None]]:
    async with bot.opsbot.sessionmaker() as session:
        rows = await session.execute(select(Alert.fingerprint, Alert.status, Alert.issue_id))
    return {fingerprint: (status, issue_id) for fingerprint, status, issue_id in rows}


async def _issues(bot: RunningBot) -> list[Issue]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Issue).order_by(Issue.id))).scalars())


async def _processor_stopped(bot: RunningBot) -> None:
    await bot.app[SUPERVISOR].kill("webhook-processor")


def _poison(monkeypatch: pytest.MonkeyPatch) -> Any:
    """A bug only alerts named Poison reach: their webhook fails to process. Returns the real code (the fix)."""
    real_issue_row = ingestion.Ingestion._issue_row

    def issue_row(self: Any, bucket: Any, alerts: Any, grouped: bool) -> dict[str, Any]:
        if alerts[0].alertname == "Poison":
            raise RuntimeError("a bug only this alert reaches")
        return real_issue_row(self, bucket, alerts, grouped)

    monkeypatch.setattr(ingestion.Ingestion, "_issue_row", issue_row)
    return real_issue_row


async def test_a_webhook_is_answered_once_stored_and_its_issue_then_reaches_slack(bot: RunningBot) -> None:
    status, headers, answer = await _post(bot, notification(1))
    assert status == 202 and answer == {"status": "accepted", "alerts": 1}
    assert "Preference-Applied" not in headers
    await bot.webhooks_processed()
    assert (await _alerts(bot))["fp000001"][0] == "firing"
    await eventually(lambda: _async(len(messages_per_issue(bot.standin)) == 1), what="the issue posted")
    assert await _stored(bot) == []  # processed bodies are not kept


async def test_prefer_return_representation_answers_with_what_processing_did(bot: RunningBot) -> None:
    prefer = {"Prefer": "return=representation"}
    status, headers, first = await _post(bot, notification(2), **prefer)
    assert status == 202 and headers["Preference-Applied"] == "return=representation"
    assert first["processed"] is True and first["new"] == 1 and first["issues_opened"] == 1
    _, _, again = await _post(bot, notification(2), **prefer)
    assert again["repeated"] == 1 and again["issues_opened"] == 0
    _, _, resolved = await _post(bot, notification(2, status="resolved"), **prefer)
    assert resolved["resolved"] == 1 and resolved["issues_resolved"] == 1


async def test_webhooks_stored_before_a_crash_are_processed_once_after_the_restart(
    database_url: str, standin: SlackStandIn
) -> None:
    config = test_config(storm={"threshold": 1000})
    first = await start_bot(database_url, standin, config=config)
    try:
        await _processor_stopped(first)  # as if killed between the 202 and processing
        for body in (notification(10), notification(11), notification(10, status="resolved")):
            status, _, _ = await _post(first, body)
            assert status == 202
        assert [row.status for row in await _stored(first)] == ["received"] * 3
        assert await _alerts(first) == {}
    finally:
        await stop_bot(first)

    second = await start_bot(database_url, standin, config=config)
    try:
        await second.webhooks_processed()
        alerts = await _alerts(second)
        assert {fingerprint: status for fingerprint, (status, _) in alerts.items()} == {
            "fp000010": "resolved", "fp000011": "firing"  # the resolve applied after its firing, as sent
        }
        issues = await _issues(second)
        assert sorted(issue.status for issue in issues) == ["Open", "Resolved"]
        await second.outbox_drained()
        assert sorted(messages_per_issue(standin).values()) == [1, 1]  # each issue posted once
    finally:
        await stop_bot(second)


async def test_deliveries_about_one_alert_are_applied_in_the_order_they_were_accepted(bot: RunningBot) -> None:
    await _processor_stopped(bot)
    for body in (notification(20), notification(20, status="resolved"), notification(20)):
        assert (await _post(bot, body))[0] == 202
    assert await bot.opsbot.webhook_processor.process_waiting() == 3  # all three in one transaction
    issues = await _issues(bot)
    # fired, resolved, fired again: the second firing is a new occurrence, so a second issue
    assert [issue.status for issue in issues] == ["Resolved", "Open"]
    assert (await _alerts(bot))["fp000020"] == ("firing", issues[1].id)


async def test_a_webhook_that_cannot_be_processed_is_parked_holds_up_no_other_and_is_retried_after_a_restart(
    database_url: str, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_issue_row = _poison(monkeypatch)
    bot = await start_bot(database_url, standin)
    try:
        await _processor_stopped(bot)
        for body in (notification(30), notification(31, name="Poison"), notification(32)):
            assert (await _post(bot, body))[0] == 202
        processor = bot.opsbot.webhook_processor
        await processor.process_waiting()  # together they fail; one by one, the two healthy ones go through
        assert set(await _alerts(bot)) == {"fp000030", "fp000032"}
        [poison] = await _stored(bot)
        assert (poison.status, poison.attempts) == (ReceivedWebhookStatus.RECEIVED, 1)
        await processor.process_waiting()
        await processor.process_waiting()
        [poison] = await _stored(bot)
        assert (poison.status, poison.attempts) == (ReceivedWebhookStatus.PARKED, 3)
        assert "RuntimeError: a bug only this alert reaches" in (poison.last_error or "")
        assert await processor.process_waiting() == 0  # parked: not tried again
        async with bot.session.get(f"{bot.url}/metrics") as response:
            assert "opsbot_webhooks_parked_total 1.0" in await response.text()
    finally:
        await stop_bot(bot)

    monkeypatch.setattr(ingestion.Ingestion, "_issue_row", real_issue_row)  # the fix, deployed with a restart
    restarted = await start_bot(database_url, standin)
    try:
        async def processed_after_the_restart() -> bool:  # the start puts it back in line, then processes it
            return "fp000031" in await _alerts(restarted) and await _stored(restarted) == []

        await eventually(processed_after_the_restart, what="the parked webhook processed after the restart")
    finally:
        await stop_bot(restarted)


async def test_parked_webhooks_are_listed_with_why_and_requeued_without_a_restart(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_issue_row = _poison(monkeypatch)
    await _processor_stopped(bot)
    for n in (70, 71):
        assert (await _post(bot, notification(n, name="Poison")))[0] == 202
    processor = bot.opsbot.webhook_processor
    for _ in range(3):
        await processor.process_waiting()
    auth = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    async with bot.session.get(f"{bot.url}/webhooks/parked", headers=auth) as response:
        assert response.status == 200
        listed = (await response.json())["parked"]
    assert [(item["source"], item["attempts"]) for item in listed] == [("alertmanager", 3)] * 2
    assert all("RuntimeError: a bug only this alert reaches" in item["error"] and item["bytes"] > 0 for item in listed)
    first, second = (item["id"] for item in listed)

    for method, path in (("GET", "/webhooks/parked"), ("POST", "/webhooks/parked/requeue")):
        async with bot.session.request(method, f"{bot.url}{path}", headers={"Authorization": "Bearer wrong"}) as response:
            assert response.status == 401
    for body, status in ((b"[1]", 422), (b"{", 400), (b'{"ids": ["1"]}', 422), (b'{"ids": [1], "all": true}', 422)):
        async with bot.session.post(f"{bot.url}/webhooks/parked/requeue", data=body, headers=auth) as response:
            assert response.status == status, body
    assert len(await _stored(bot)) == 2 and all(row.status == ReceivedWebhookStatus.PARKED for row in await _stored(bot))

    monkeypatch.setattr(ingestion.Ingestion, "_issue_row", real_issue_row)  # the fix, deployed
    async with bot.session.post(f"{bot.url}/webhooks/parked/requeue", json={"ids": [first, 10**6]}, headers=auth) as response:
        assert (response.status, await response.json()) == (200, {"requeued": 1})
    assert await processor.process_waiting() == 1
    assert "fp000070" in await _alerts(bot) and "fp000071" not in await _alerts(bot)
    async with bot.session.post(f"{bot.url}/webhooks/parked/requeue", headers=auth) as response:  # all the rest
        assert (response.status, await response.json()) == (200, {"requeued": 1})
    assert await processor.process_waiting() == 1
    assert {"fp000070", "fp000071"} <= set(await _alerts(bot)) and await _stored(bot) == []
    async with bot.session.get(f"{bot.url}/webhooks/parked", headers=auth) as response:
        assert (await response.json())["parked"] == []
    assert second > first


async def test_a_stored_body_that_no_longer_parses_is_parked_at_once(bot: RunningBot) -> None:
    await _processor_stopped(bot)
    async with bot.opsbot.sessionmaker.begin() as session:  # as an older version might have stored it
        await store_received(await session.connection(), [("alertmanager", b'{"alerts": "?"}')], utcnow(), with_ids=False)
    assert (await _post(bot, notification(40)))[0] == 202
    await bot.opsbot.webhook_processor.process_waiting()
    [parked] = await _stored(bot)
    assert parked.status == ReceivedWebhookStatus.PARKED and "no longer parses" in (parked.last_error or "")
    assert "fp000040" in await _alerts(bot)  # the one behind it was not held up


async def test_a_processor_that_read_webhooks_another_replica_then_processed_loses_none_stored_since(
    bot: RunningBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The processor reads webhooks before its transaction and finds them again in it by id. Before:
    SQLite handed a deleted row's id to the next webhook, so a replica that had read webhook 1 before
    another processed it found the *new* webhook 1 "still waiting", processed the old body again and
    deleted the new one (14 of 30 alerts lost in the two-replica rate-limit test, about 1 run in 20)."""
    await _processor_stopped(bot)
    processor = bot.opsbot.webhook_processor
    assert (await _post(bot, notification(60)))[0] == 202
    take_lock = ReceivedWebhookRepository.lock_for_processing
    interleaved = False

    async def another_replica_first(repository: ReceivedWebhookRepository) -> bool:
        nonlocal interleaved
        if not interleaved:  # between this processor's read of webhook 60 and its transaction:
            interleaved = True
            assert await processor.process_waiting() == 1  # another replica processes (and deletes) it
            assert (await _post(bot, notification(61)))[0] == 202  # and a new webhook is stored
        return await take_lock(repository)

    monkeypatch.setattr(ReceivedWebhookRepository, "lock_for_processing", another_replica_first)
    assert await processor.process_waiting() == 0  # what it read is gone: it takes nothing
    assert interleaved
    monkeypatch.undo()
    [waiting] = await _stored(bot)
    assert waiting.status == ReceivedWebhookStatus.RECEIVED
    assert await processor.process_waiting() == 1
    alerts = await _alerts(bot)
    assert {"fp000060", "fp000061"} <= set(alerts) and len(await _issues(bot)) == 2
    assert await _stored(bot) == []


@POSTGRES_ONLY
async def test_one_replica_processes_at_a_time(bot: RunningBot) -> None:
    """Another replica's processing transaction holds the advisory lock: this one leaves the webhooks to it."""
    await _processor_stopped(bot)
    assert (await _post(bot, notification(50)))[0] == 202
    async with bot.opsbot.sessionmaker.begin() as other_replica:
        assert await ReceivedWebhookRepository(other_replica).lock_for_processing()
        assert await bot.opsbot.webhook_processor.process_waiting() == 0
        assert len(await _stored(bot)) == 1
    assert await bot.opsbot.webhook_processor.process_waiting() == 1
    assert "fp000050" in await _alerts(bot)


async def test_metrics_and_healthz_show_what_waits_to_be_processed(bot: RunningBot) -> None:
    async with bot.session.get(f"{bot.url}/metrics") as response:
        body = await response.text()
    assert "opsbot_webhooks_waiting" in body and "opsbot_webhooks_processing_lag_seconds" in body
    assert "opsbot_webhooks_parked_stored" in body
    async with bot.session.get(f"{bot.url}/healthz") as response:
        health = await response.json()
    assert response.status == 200 and health["database"] == "ok"
    assert {"webhooks_waiting", "processing_lag_seconds", "webhooks_parked"} <= set(health)
    async with bot.opsbot.sessionmaker() as session:
        assert (await session.execute(text("SELECT count(*) FROM received_webhooks"))).scalar() == 0


async def _async(value: bool) -> bool:
    return value
