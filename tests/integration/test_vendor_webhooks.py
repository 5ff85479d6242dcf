"""Datadog, New Relic and Grafana through the bot: recoveries resolve what they opened, New Relic's
ACKNOWLEDGED acknowledges, priorities follow the vendor's words, links become buttons."""

from __future__ import annotations

import json

from sqlalchemy import select

from slack_standin.signing import block_actions_body
from storage.models import Issue, IssueEvent, IssueStatus
from tests.harness import RunningBot, fixture_json
from tests.integration.escalation_support import open_issue
from tests.unit.test_vendor_parsers import datadog, newrelic


async def _issues(bot: RunningBot) -> list[Issue]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Issue).order_by(Issue.id))).scalars())


async def _events(bot: RunningBot, issue_id: int) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return list((await session.execute(query)).scalars())


def _buttons(message: dict) -> dict[str, str]:
    return {e["text"]["text"]: e["url"] for b in message["blocks"] if b.get("block_id") == "issue.links"
            for e in b["elements"]}


async def test_datadog_recovery_resolves_the_issue_its_trigger_opened(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("datadog", datadog("Triggered"))
    assert status == 202 and body["issues_opened"] == 1
    [post] = await bot.standin.wait_for("chat.postMessage", count=1)
    assert post.args["blocks"][0]["text"]["text"].startswith("🔴 *CPU high*")
    assert _buttons(post.args) == {"Open in Datadog": "https://app.datadoghq.com/monitors/12345?group=host%3Aweb-1"}

    status, body = await bot.post_webhook("datadog", datadog("Recovered"))
    assert status == 202 and body["resolved"] == 1 and body["issues_resolved"] == 1 and body["issues_opened"] == 0
    [issue] = await _issues(bot)
    assert issue.status == IssueStatus.RESOLVED and issue.resolved_by == "datadog" and issue.priority == "High"
    await bot.outbox_drained()
    replies = [c for c in bot.standin.calls_to("chat.postMessage") if c.args.get("thread_ts")]
    assert [c.args["text"].split(" after")[0] for c in replies] == ["🟢 Resolved by datadog"]


async def test_datadog_warn_no_data_and_re_triggered(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("datadog", datadog("Warn"))
    assert status == 202 and body["issues_opened"] == 1
    status, body = await bot.post_webhook("datadog", datadog("No Data", alert_id="999", title="[No Data] Disk probe"))
    assert status == 202 and body["issues_opened"] == 1
    await bot.outbox_drained()
    warn, no_data = await _issues(bot)
    assert (warn.priority, no_data.priority) == ("Medium", "Low")
    [no_data_post] = [c for c in bot.standin.calls_to("chat.postMessage") if "Disk probe" in c.args["text"]]
    assert "ℹ️ Datadog: No Data, the monitor stopped receiving data" in json.dumps(no_data_post.args["blocks"],
                                                                                ensure_ascii=False)

    # The warning became an alert: the same issue, fired again, at the alert's priority.
    status, body = await bot.post_webhook("datadog", datadog("Re-Triggered"))
    assert status == 202 and body["repeated"] == 1 and body["issues_opened"] == 0
    status, body = await bot.post_webhook("datadog", datadog("Recovered"))
    assert body["issues_resolved"] == 1
    [warn, _] = await _issues(bot)
    assert warn.priority == "High" and warn.status == IssueStatus.RESOLVED
    # Triggered again after the recovery: a new occurrence, a new issue.
    status, body = await bot.post_webhook("datadog", datadog("Re-Triggered"))
    assert status == 202 and body["issues_opened"] == 1


async def test_newrelic_issue_opens_high_is_acknowledged_by_new_relic_then_closes(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("newrelic", newrelic("ACTIVATED"))
    assert status == 202 and body["issues_opened"] == 1
    [post] = await bot.standin.wait_for("chat.postMessage", count=1)
    issue_url = fixture_json("newrelic_webhook_default_activated.json")["issueUrl"]
    assert _buttons(post.args) == {"Open in New Relic": issue_url}
    # New Relic's title already names its condition: the message does not say it twice.
    assert post.args["text"] == "[High] zulip_app query result is &gt; 1.0 for 1 minutes on 'Zulip Server Low Storage' (#1, Open)"
    [issue] = await _issues(bot)
    assert issue.priority == "High"

    status, body = await bot.post_webhook("newrelic", newrelic("ACKNOWLEDGED"))
    assert status == 202 and body["issues_acknowledged"] == 1 and body["issues_opened"] == 0
    [issue] = await _issues(bot)
    assert issue.acknowledged_by == "newrelic" and issue.status == IssueStatus.IN_PROGRESS
    [*_, update] = await bot.standin.wait_for("chat.update", where=lambda c: "Acknowledged by newrelic" in json.dumps(c.args))
    assert "issue.unack" in json.dumps(update.args["blocks"])
    # New Relic says it again (a retry): nothing changes.
    status, body = await bot.post_webhook("newrelic", newrelic("ACKNOWLEDGED"))
    assert status == 202 and body["issues_acknowledged"] == 0

    status, body = await bot.post_webhook("newrelic", newrelic("CLOSED"))
    assert status == 202 and body["issues_resolved"] == 1 and body["issues_opened"] == 0
    [issue] = await _issues(bot)
    assert issue.status == IssueStatus.RESOLVED and issue.resolved_by == "newrelic"
    kinds = [(e.kind, e.actor) for e in await _events(bot, issue.id)]
    assert kinds == [("opened", "newrelic"), ("acknowledged", "newrelic"), ("resolved", "newrelic")]

    # A late ACKNOWLEDGED (after CLOSED) opens nothing.
    status, body = await bot.post_webhook("newrelic", newrelic("ACKNOWLEDGED"))
    assert status == 202 and body["ignored"] == 1 and len(await _issues(bot)) == 1


async def test_newrelic_does_not_take_an_issue_a_person_already_took(bot: RunningBot) -> None:
    await bot.post_webhook("newrelic", newrelic("CREATED"))
    [issue] = await _issues(bot)
    await bot.opsbot.issues.acknowledge(issue.id, "U0ALICE")
    status, body = await bot.post_webhook("newrelic", newrelic("ACKNOWLEDGED"))
    assert status == 202 and body["issues_acknowledged"] == 0
    [issue] = await _issues(bot)
    assert issue.acknowledged_by == "U0ALICE"


async def test_newrelic_acknowledged_first_opens_the_issue_already_taken(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("newrelic", newrelic("ACKNOWLEDGED"))
    assert status == 202 and body["issues_opened"] == 1 and body["issues_acknowledged"] == 1
    [issue] = await _issues(bot)
    assert issue.acknowledged_by == "newrelic"


async def test_vendor_webhooks_refuse_what_they_cannot_read_and_need_the_token(bot: RunningBot) -> None:
    status, body = await bot.post_webhook("datadog", fixture_json("datadog_webhook_payload_template.json"))
    assert status == 422 and "unexpected datadog payload: title" in body["error"]
    status, body = await bot.post_webhook("newrelic", {"title": "no id, no state"})
    assert status == 422 and "unexpected newrelic payload: id" in body["error"]
    status, _ = await bot.post_webhook("datadog", None, raw=b"{not json")
    assert status == 400
    assert (await bot.post_webhook("newrelic", newrelic("ACTIVATED"), token="wrong"))[0] == 401
    assert (await bot.post_webhook("datadog", datadog("Triggered"), token=None))[0] == 401
    assert await _issues(bot) == []


async def test_grafana_values_and_image_reach_the_message(bot: RunningBot) -> None:
    status, _ = await bot.post_webhook("grafana", fixture_json("grafana_webhook_firing_v11_zulip.json"))
    assert status == 202
    [post] = await bot.standin.wait_for("chat.postMessage", count=1)
    blocks = post.args["blocks"]
    assert "📈 *Values:* `A=2473545728, B=0, C=1, minute=9`" in json.dumps(blocks, ensure_ascii=False)
    [image] = [b for b in blocks if b["type"] == "image"]
    assert image["image_url"] == "https://grafana.com/assets/img/blog/mixed_styles.png" and image["alt_text"]
    assert set(_buttons(post.args)) == {"Source", "Dashboard", "Panel", "Silence"}


async def test_a_click_on_a_link_button_is_acked(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot)
    body = block_actions_body("issue.link.runbook", "runbook", user_id="U0ALICE", message_ts=ts,
                              response_url=bot.standin.response_url("link"))
    status, _ = await bot.post_slack(body)
    assert status == 200
    status, _ = await bot.post_slack(block_actions_body("no.such.action", "x", user_id="U0ALICE", message_ts=ts,
                                                         response_url=bot.standin.response_url("other")))
    assert status == 404  # what an unhandled click gets: the link buttons' listener is what answers 200
    assert issue_id
