"""Items the worker gives up on are parked: kept with their error, logged, counted, never retried forever.

A message that cannot be rendered is parked at once; a post that keeps failing (network, 5xx) is
retried with backoff for `delivery.give_up_after`, then parked. Neither holds up other issues.
"""

from __future__ import annotations

import re

import pytest

import bot.app as composition_root
from handlers.issues.message import IssueMessageView
from slack_standin import SlackStandIn
from storage.models import OutboxStatus
from tests.harness import WEBHOOK_TOKEN, Clock, RunningBot, eventually, start_bot, stop_bot, test_config
from tests.integration.delivery_support import messages_per_issue, notification, outbox_items


def _config(**delivery_settings: object) -> object:
    return test_config(
        storm={"threshold": 1000},
        delivery={"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 5,
                  **delivery_settings},
    )  # fmt: skip


async def _parked_count(bot: RunningBot, operation: str, reason: str) -> float:
    async with bot.session.get(f"{bot.url}/metrics") as response:
        text = await response.text()
    pattern = rf'^opsbot_outbox_parked_total\{{operation="{re.escape(operation)}",reason="{reason}"\}} (\S+)$'
    found = re.search(pattern, text, re.MULTILINE)
    return float(found.group(1)) if found else 0.0


def _poison_the_builder(monkeypatch: pytest.MonkeyPatch) -> dict[str, bool]:
    """The message builder fails for issues titled Poison while `bug["present"]` (set it False: the fix)."""
    build = composition_root.build_issue_message  # the renderer create_app hands the worker
    bug = {"present": True}

    def build_unless_poisoned(view: IssueMessageView) -> object:
        if bug["present"] and view.issue.title.startswith("Poison"):
            raise ValueError("a builder bug")
        return build(view)

    monkeypatch.setattr(composition_root, "build_issue_message", build_unless_poisoned)
    return bug


async def test_a_message_that_cannot_be_rendered_is_parked_and_the_others_are_delivered(
    database_url: str, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    _poison_the_builder(monkeypatch)
    bot = await start_bot(database_url, standin, config=_config())
    try:
        await bot.post_webhook("alertmanager", notification(1))
        await bot.post_webhook("alertmanager", notification(2, name="Poison"))
        await bot.post_webhook("alertmanager", notification(3))
        await bot.outbox_drained()
        [parked] = [item for item in await outbox_items(bot) if item.status == OutboxStatus.PARKED]
        assert parked.operation == "issue.render" and parked.attempts == 1
        assert parked.last_error == "render failed: ValueError('a builder bug')"
        assert len(messages_per_issue(standin)) == 2  # the other two issues, once each
        assert await _parked_count(bot, "issue.render", "render") == 1

        # The same alerts again: the others update, the poisoned one is tried once more (a new
        # render of a changed issue might build) and parked again, never retried in a loop.
        await bot.post_webhook("alertmanager", notification(2, name="Poison"))
        await bot.outbox_drained()
        assert len([item for item in await outbox_items(bot) if item.status == OutboxStatus.PARKED]) == 2
        assert await _parked_count(bot, "issue.render", "render") == 2
    finally:
        await stop_bot(bot)


async def test_a_post_failing_longer_than_give_up_after_is_parked(database_url: str, standin: SlackStandIn) -> None:
    clock = Clock()
    standin.fail_all("chat.postMessage", status=503)
    bot = await start_bot(database_url, standin, config=_config(give_up_after="2h"), clock=clock)
    try:
        await bot.post_webhook("alertmanager", notification(1))

        async def failing() -> bool:
            return any(item.first_failed_at is not None for item in await outbox_items(bot))

        await eventually(failing, what="a first failure")
        assert [item.status for item in await outbox_items(bot)] == [OutboxStatus.PENDING]  # retried, not dropped

        clock.advance(hours=3)  # Slack has been failing for longer than give_up_after
        bot.opsbot.worker.wake()

        async def parked() -> bool:
            return [item.status for item in await outbox_items(bot)] == [OutboxStatus.PARKED]

        await eventually(parked, what="the item parked")
        [item] = await outbox_items(bot)
        assert item.last_error is not None and item.last_error.startswith("gave up after failing for")
        assert "slack 503" in item.last_error
        assert await _parked_count(bot, "issue.render", "exhausted") == 1
        calls = len(standin.calls_to("chat.postMessage", include_failed=True))
        standin.clear_failures()
        clock.advance(hours=1)
        bot.opsbot.worker.wake()
        await bot.outbox_drained()
        assert len(standin.calls_to("chat.postMessage", include_failed=True)) == calls  # parked: not sent
    finally:
        await stop_bot(bot)


async def test_a_refused_post_is_counted_as_given_up(database_url: str, standin: SlackStandIn) -> None:
    standin.fail_next("chat.postMessage", status=200, error="channel_not_found")
    bot = await start_bot(database_url, standin, config=_config())
    try:
        await bot.post_webhook("alertmanager", notification(1))

        async def failed() -> bool:
            return [item.status for item in await outbox_items(bot)] == [OutboxStatus.FAILED]

        await eventually(failed, what="the item failed")
        assert await _parked_count(bot, "issue.render", "refused") == 1
    finally:
        await stop_bot(bot)


async def test_parked_items_are_listed_with_why_and_requeued_without_a_restart(
    database_url: str, standin: SlackStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once the cause is fixed (here: the builder bug), a person puts them back in line: each issue shown once."""
    bug = _poison_the_builder(monkeypatch)
    bot = await start_bot(database_url, standin, config=_config())
    auth = {"Authorization": f"Bearer {WEBHOOK_TOKEN}"}
    try:
        for n in (1, 2):
            await bot.post_webhook("alertmanager", notification(n, name="Poison"))
        await bot.post_webhook("alertmanager", notification(3))
        await bot.outbox_drained()
        async with bot.session.get(f"{bot.url}/outbox/parked", headers=auth) as response:
            assert response.status == 200
            listed = (await response.json())["parked"]
        assert [(item["operation"], item["ordering_key"], item["error"]) for item in listed] == [
            ("issue.render", "issue:1", "render failed: ValueError('a builder bug')"),
            ("issue.render", "issue:2", "render failed: ValueError('a builder bug')"),
        ]
        assert all(item["parked_at"] for item in listed)
        for method, path in (("GET", "/outbox/parked"), ("POST", "/outbox/parked/requeue")):
            async with bot.session.request(method, f"{bot.url}{path}", headers={"Authorization": "Bearer x"}) as response:
                assert response.status == 401
        async with bot.session.post(f"{bot.url}/outbox/parked/requeue", data=b"{", headers=auth) as response:
            assert response.status == 400
        assert len(messages_per_issue(standin)) == 1

        # The builder bug mended (a deployment), one re-queued by id, then the rest.
        bug["present"] = False
        async with bot.session.post(
            f"{bot.url}/outbox/parked/requeue", json={"ids": [listed[0]["id"]]}, headers=auth
        ) as response:
            assert (response.status, await response.json()) == (200, {"requeued": 1})
        await bot.outbox_drained()
        assert sorted(messages_per_issue(standin)) == [1, 3]
        async with bot.session.post(f"{bot.url}/outbox/parked/requeue", headers=auth) as response:
            assert (response.status, await response.json()) == (200, {"requeued": 1})
        await bot.outbox_drained()
        shown = messages_per_issue(standin)
        assert sorted(shown) == [1, 2, 3] and set(shown.values()) == {1}
        assert [item.status for item in await outbox_items(bot)] == [OutboxStatus.DONE] * 3
        async with bot.session.get(f"{bot.url}/outbox/parked", headers=auth) as response:
            assert (await response.json())["parked"] == []
    finally:
        await stop_bot(bot)
