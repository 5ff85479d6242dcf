"""Webhooks in, issue log and Slack messages out: real HTTP on loopback, SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json

import pytest
from sqlalchemy import select

from storage.models import Alert, Issue, IssueEvent, IssueStatus
from tests.harness import RunningBot, fixture_json


async def _issues(bot: RunningBot) -> list[Issue]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Issue).order_by(Issue.id))).scalars())


def _all_text(message: dict) -> str:
    parts = [message.get("text", "")]
    for block in message.get("blocks") or []:
        if "text" in block and isinstance(block["text"], dict):
            parts.append(block["text"]["text"])
        for item in block.get("fields", []) + block.get("elements", []):
            if isinstance(item, dict) and isinstance(item.get("text"), str):
                parts.append(item["text"])
            elif isinstance(item, dict) and isinstance(item.get("text"), dict):
                parts.append(item["text"]["text"])
    return "\n".join(parts)


async def test_firing_alerts_open_issues_and_post_messages_with_buttons(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    assert status == 202
    assert body["new"] == 2 and body["issues_opened"] == 2

    posts = await bot.standin.wait_for("chat.postMessage", count=2)
    assert {call.args["channel"] for call in posts} == {bot.standin.workspace.resolve_channel("#alerts")}  # by id
    text = _all_text(posts[0].args)
    assert "High 5xx error rate on checkout-" in text
    assert "<!date^" in text
    blocks = posts[0].args["blocks"]
    action_ids = [e["action_id"] for b in blocks if b.get("block_id") == "issue.actions" for e in b["elements"]]
    # no runbook configured, but the bundled RB-APP-04 (its article lists HighErrorRate) is walked through
    assert action_ids == ["issue.ack", "issue.autofix", "issue.escalate", "issue.resolve"]
    assert blocks[0]["text"]["text"].startswith("🔴 *HighErrorRate: High 5xx error rate on checkout-")
    links = {e["text"]["text"]: e["url"] for b in blocks if b.get("block_id") == "issue.links" for e in b["elements"]}
    assert links["Runbook"] == "https://runbooks.example.com/HighErrorRate"
    assert links["Source"].startswith("http://prometheus.example.com:9090/graph?g0.expr=")
    # Alertmanager's own silence form, its matchers this alert's labels (externalURL http://127.0.0.1:9093).
    assert links["Silence"].startswith(
        "http://127.0.0.1:9093/#/silences/new?filter=%7Balertname%3D%22HighErrorRate%22%2Cinstance%3D%22checkout-"
    )

    issues = await _issues(bot)
    assert [issue.priority for issue in issues] == ["High", "High"]
    assert all(issue.status == IssueStatus.OPEN and issue.reported_by == "alertmanager" for issue in issues)


async def test_repeat_firing_updates_the_message_instead_of_posting(bot: RunningBot) -> None:
    firing = fixture_json("alertmanager_real_firing.json")
    await bot.post_webhook("alertmanager", firing)
    await bot.standin.wait_for("chat.postMessage", count=2)
    await bot.outbox_drained()

    status, body = await bot.post_webhook("alertmanager", firing)
    assert status == 202 and body["repeated"] == 2 and body["issues_opened"] == 0
    updates = await bot.standin.wait_for("chat.update", count=2)
    await bot.outbox_drained()
    assert len(bot.standin.calls_to("chat.postMessage")) == 2
    assert "2×" in _all_text(updates[-1].args)


async def test_resolved_alert_resolves_issue_and_says_so_in_thread(bot: RunningBot) -> None:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=2)
    await bot.outbox_drained()

    status, body = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_resolved.json"))
    assert status == 202 and body["resolved"] == 2 and body["issues_resolved"] == 2
    await bot.outbox_drained()

    replies = [c for c in bot.standin.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert len(replies) == 2 and all("Resolved by alertmanager after" in c.args["text"] for c in replies)
    updates = bot.standin.calls_to("chat.update")
    assert updates and "Resolved after" in _all_text(updates[-1].args)
    assert "issue.reopen" in json.dumps(updates[-1].args["blocks"])
    issues = await _issues(bot)
    assert all(i.status == IssueStatus.RESOLVED and i.resolved_by == "alertmanager" for i in issues)
    assert all(i.resolution_seconds is not None for i in issues)

    # Alertmanager sends resolved alerts once more: nothing new happens.
    status, body = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_resolved.json"))
    assert body["ignored"] == 2


async def test_partially_resolved_group_resolves_only_that_alert(bot: RunningBot) -> None:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=2)
    status, body = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_partially_resolved.json"))
    assert status == 202 and body["resolved"] == 1 and body["repeated"] == 1
    await bot.outbox_drained()
    statuses = sorted(issue.status for issue in await _issues(bot))
    assert statuses == [IssueStatus.OPEN, IssueStatus.RESOLVED]


async def test_truncated_notification_is_accepted(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing_truncated.json"))
    assert status == 202 and body["alerts"] == 2


async def test_grafana_bodies_open_and_resolve(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("grafana", fixture_json("grafana_webhook_firing_docs.json"))
    assert status == 202 and body["issues_opened"] == 2
    status, body = await bot.post_webhook("grafana", fixture_json("grafana_webhook_resolved_derived.json"))
    assert status == 202 and body["issues_resolved"] == 2
    for name in ("grafana_webhook_firing_integration_test.json", "grafana_webhook_firing_v11_zulip.json"):
        status, _ = await bot.post_webhook("grafana", fixture_json(name))
        assert status == 202


async def test_generic_shape_fires_and_resolves_by_dedup_key(bot: RunningBot) -> None:
    alert = {"title": "Nightly backup failed", "severity": "warning", "dedup_key": "backup-nightly",
             "description": "pg_dump exited 1", "links": {"runbook": "https://runbooks.example.com/backup"},
             "source": "cron"}
    status, body = await bot.post_webhook("generic", alert)
    assert status == 202 and body["issues_opened"] == 1
    status, body = await bot.post_webhook("generic", {**alert, "status": "resolved"})
    assert status == 202 and body["issues_resolved"] == 1
    [issue] = await _issues(bot)
    assert issue.priority == "Medium" and issue.status == IssueStatus.RESOLVED


async def test_authentication_and_bad_input_get_clear_4xx(bot: RunningBot) -> None:
    firing = fixture_json("alertmanager_real_firing.json")
    assert (await bot.post_webhook("alertmanager", firing, token=None))[0] == 401
    assert (await bot.post_webhook("alertmanager", firing, token="wrong"))[0] == 401
    status, body = await bot.post_webhook("alertmanager", None, raw=b"{not json")
    assert status == 400 and "malformed JSON" in body["error"]
    status, body = await bot.post_webhook("alertmanager", {"alerts": [{"labels": {}}]})
    assert status == 422 and "alerts.0.status" in body["error"]
    status, body = await bot.post_webhook("alertmanager", ["not", "an", "object"])
    assert status == 422
    status, body = await bot.post_webhook("generic", {"status": "firing"})
    assert status == 422 and "title" in body["error"]
    status, body = await bot.post_webhook("alertmanager", None, raw=b"[" + b"1," * 600_000 + b"1]")
    assert status == 413
    status, _ = await bot.post_webhook("alertmanager", None, raw=b"\xff\xfe garbage")
    assert status == 400
    assert await _issues(bot) == []


async def test_hostile_alert_text_is_escaped_and_truncated(bot: RunningBot) -> None:
    body = fixture_json("alertmanager_real_amtool_firing.json")
    alert = body["alerts"][0]
    alert["annotations"]["summary"] = "<!channel> <@U123> disk <script>alert(1)</script> & more"
    alert["annotations"]["description"] = "x" * 10_000 + " <a href='javascript:alert(1)'>click</a>"
    alert["labels"]["instance"] = "db-1\n`; rm -rf /`"
    status, _ = await bot.post_webhook("alertmanager", body)
    assert status == 202
    [post] = await bot.standin.wait_for("chat.postMessage", count=1)
    text = json.dumps(post.args["blocks"], ensure_ascii=False)
    assert "<!channel>" not in text and "<@U123>" not in text and "<script>" not in text
    assert "&lt;!channel&gt;" in text
    assert "<javascript:" not in text  # only http(s) links become live links
    for block in post.args["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= 3000
    assert "…" in text


async def test_alert_storm_posts_one_grouped_message(bot: RunningBot) -> None:
    template = fixture_json("alertmanager_real_firing.json")
    storm = copy.deepcopy(template)
    base = storm["alerts"][0]
    storm["alerts"] = []
    for n in range(40):
        alert = copy.deepcopy(base)
        alert["labels"]["instance"] = f"checkout-{n}:8080"
        alert["fingerprint"] = f"storm{n:011d}"
        alert["annotations"]["summary"] = f"High 5xx error rate on checkout-{n}"
        storm["alerts"].append(alert)
    status, body = await bot.post_webhook("alertmanager", storm)
    assert status == 202 and body["issues_opened"] == 1 and body["new"] == 40
    await bot.outbox_drained()
    posts = bot.standin.calls_to("chat.postMessage")
    top_level = [c for c in posts if not c.args.get("thread_ts")]
    thread = [c for c in posts if c.args.get("thread_ts")]
    assert len(top_level) == 1 and len(thread) == 1
    assert "40 alerts (40 firing)" in _all_text(top_level[0].args) or "40 alerts (40 firing)" in _all_text(
        bot.standin.calls_to("chat.update")[-1].args
    )
    assert "checkout-39:8080" in thread[0].args["text"]

    async with bot.opsbot.sessionmaker() as session:
        linked = (await session.execute(select(Alert.issue_id).distinct())).scalars().all()
    assert len(linked) == 1


async def test_many_alerts_of_one_name_within_the_window_fold_into_a_group(bot: RunningBot) -> None:
    for n in range(8):
        alert = {"title": "DiskFull", "dedup_key": f"disk-{n}", "labels": {"instance": f"db-{n}"}}
        status, _ = await bot.post_webhook("generic", alert)
        assert status == 202
    await bot.outbox_drained()
    top_level = [c for c in bot.standin.calls_to("chat.postMessage") if not c.args.get("thread_ts")]
    assert len(top_level) == 5  # four single messages, then one grouped message for the rest
    issues = await _issues(bot)
    assert [issue.is_grouped for issue in issues] == [False, False, False, False, True]


async def test_timeline_events_are_recorded(bot: RunningBot) -> None:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_resolved.json"))
    async with bot.opsbot.sessionmaker() as session:
        kinds = (await session.execute(select(IssueEvent.kind).order_by(IssueEvent.id))).scalars().all()
    assert kinds == ["opened", "resolved"]


async def test_healthz_and_metrics(bot: RunningBot) -> None:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=2)
    async with bot.session.get(f"{bot.url}/healthz") as response:
        assert response.status == 200
    await bot.outbox_drained()
    await bot.wait_until(lambda: _metric_present(bot, 'opsbot_slack_calls_total{method="chat.postMessage",outcome="ok"} 2.0'))
    async with bot.session.get(f"{bot.url}/metrics") as response:
        text = await response.text()
    assert 'opsbot_alerts_received_total{source="alertmanager",status="firing"} 2.0' in text
    assert "opsbot_outbox_depth" in text and "opsbot_outbox_delivery_lag_seconds" in text


async def _metric_present(bot: RunningBot, line: str) -> bool:
    async with bot.session.get(f"{bot.url}/metrics") as response:
        return line in await response.text()


async def test_a_long_read_does_not_hold_up_webhooks(bot: RunningBot) -> None:
    """A manager's summary reads on its own connections: alerts keep flowing meanwhile."""
    import asyncio

    from sqlalchemy import text

    async with bot.opsbot.read_engine.connect() as reader:
        await reader.execute(text("SELECT count(*) FROM issues"))  # holds a read transaction open
        status, body = await asyncio.wait_for(
            bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json")), timeout=3
        )
        assert status == 202 and body["issues_opened"] == 1
        if bot.opsbot.read_engine is not bot.opsbot.engine:  # SQLite's read-only connections refuse writes
            with pytest.raises(Exception, match="readonly"):
                await reader.execute(text("DELETE FROM issues"))
