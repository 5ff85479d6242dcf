"""The issue message builder: pure dicts, within Slack's limits, escaping whatever alerts carry."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from slack_sdk.models.blocks import Block

from handlers.alerts.blocks import build_storm_thread_lines
from handlers.alerts.parsers import IncomingAlert
from handlers.slack.blockkit import alert_text_to_mrkdwn, cap_blocks, humanize_duration, link, truncate
from handlers.issues.message import build_issue_message
from handlers.issues.message_view import AlertLine, IssueMessageView
from storage.models import AlertStatus, Issue, IssueStatus

NOW = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)


def _issue(**fields) -> Issue:
    values = dict(
        id=42, reported_at=NOW - timedelta(minutes=14), reported_by="alertmanager", source="alertmanager",
        title="High 5xx error rate on checkout-1", description="5xx ratio above 5%", priority="High",
        category="application", status=IssueStatus.OPEN, channel="#alerts", is_grouped=False,
    )
    values.update(fields)
    return Issue(**values)


def _alert(**fields) -> AlertLine:
    values = dict(
        alertname="HighErrorRate", status="firing",
        labels={"alertname": "HighErrorRate", "severity": "critical", "service": "checkout", "instance": "checkout-1"},
        annotations={"summary": "High 5xx", "runbook_url": "https://runbooks.example.com/x", "dashboard": "https://grafana.example.com/d/1"},
        starts_at=NOW - timedelta(minutes=14), generator_url="http://prometheus:9090/graph?g0.expr=x", times_fired=3,
        last_seen_at=NOW,
    )
    values.update(fields)
    return AlertLine(**values)


def _actions(blocks: list[dict]) -> list[str]:
    """The issue's own buttons (the links are buttons too, in a block of their own)."""
    return [e["action_id"] for b in blocks if b.get("block_id") == "issue.actions" for e in b["elements"]]


def _link_buttons(blocks: list[dict]) -> dict[str, str]:
    return {e["text"]["text"]: e["url"] for b in blocks if b.get("block_id") == "issue.links" for e in b["elements"]}


def test_open_alert_message_has_everything_a_responder_needs() -> None:
    view = IssueMessageView(issue=_issue(), alerts=[_alert()], alert_count=1, firing_count=1, autofix_available=True)
    text, blocks = build_issue_message(view)
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert text == "[High] HighErrorRate: High 5xx error rate on checkout-1 (#42, Open)"
    assert "🔴 *HighErrorRate: High 5xx error rate on checkout-1*" in rendered
    assert "<!date^" in rendered and "3× · last seen" in rendered
    assert _link_buttons(blocks) == {
        "Source": "http://prometheus:9090/graph?g0.expr=x",
        "Runbook": "https://runbooks.example.com/x",
        "Dashboard": "https://grafana.example.com/d/1",
    }
    assert "`service=checkout`" in rendered
    assert _actions(blocks) == ["issue.ack", "issue.autofix", "issue.escalate", "issue.resolve"]


def test_acknowledged_message_offers_unacknowledge() -> None:
    issue = _issue(status=IssueStatus.IN_PROGRESS, acknowledged_by="U0ALICE", acknowledged_at=NOW, assignee="U0ALICE")
    _, blocks = build_issue_message(IssueMessageView(issue=issue, alerts=[_alert()], alert_count=1, firing_count=1))
    assert "Acknowledged by <@U0ALICE>" in json.dumps(blocks)
    assert _actions(blocks)[0] == "issue.unack"


def test_resolved_message_is_green_with_time_to_resolve_and_reopen() -> None:
    issue = _issue(status=IssueStatus.RESOLVED, resolved_by="alertmanager", resolved_at=NOW, resolution_seconds=14 * 60,
                   resolution="Alert resolved (alertmanager)", root_cause="Pool too small")
    _, blocks = build_issue_message(IssueMessageView(issue=issue, alerts=[_alert(status="resolved")], alert_count=1))
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "🟢 *Resolved after 14m* by alertmanager" in rendered
    assert "*Root cause:* Pool too small" in rendered
    assert _actions(blocks) == ["issue.reopen", "issue.write_up"]  # "Write it up": handlers/knowledge


def test_grouped_message_shows_counts_and_a_bounded_list() -> None:
    alerts = [_alert(labels={"instance": f"web-{n}"}) for n in range(10)]
    issue = _issue(is_grouped=True, title="HighErrorRate: alert storm")
    _, blocks = build_issue_message(IssueMessageView(issue=issue, alerts=alerts, alert_count=120, firing_count=119))
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "HighErrorRate: 120 alerts (119 firing)" in rendered
    assert "…and 110 more" in rendered


def test_every_text_stays_within_slack_limits() -> None:
    huge = "x" * 50_000
    issue = _issue(title=huge, description=huge, resolution=huge, status=IssueStatus.RESOLVED, resolution_seconds=5)
    alert = _alert(labels={k: huge for k in ("severity", "service", "instance")}, annotations={"summary": huge})
    text, blocks = build_issue_message(IssueMessageView(issue=issue, alerts=[alert], alert_count=1))
    assert len(text) <= 3000 and len(blocks) <= 50
    for block in blocks:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
        for field in block.get("fields", []):
            assert len(field["text"]) <= 2000
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                assert len(element["text"]) <= 2000
            if element.get("type") == "button":
                assert len(element["action_id"]) <= 255 and len(element["value"]) <= 2000


def test_alert_text_cannot_mention_or_link_arbitrarily() -> None:
    converted = alert_text_to_mrkdwn("<!here> ping <@U1> & <https://evil.example|x> **bold** [docs](https://ok.example/a)")
    assert "<!here>" not in converted and "<@U1>" not in converted
    assert "&lt;!here&gt;" in converted and "&amp;" in converted
    assert "*bold*" in converted and "<https://ok.example/a|docs>" in converted


def test_html_in_alert_text_becomes_mrkdwn() -> None:
    converted = alert_text_to_mrkdwn("<p>Disk <b>full</b> on <a href='https://x.example/d'>db-1</a></p><script>alert(1)</script>")
    assert "*full*" in converted and "<https://x.example/d|db-1>" in converted
    assert "<script>" not in converted


def test_links_only_for_http_urls() -> None:
    assert link("javascript:alert(1)", "x") == "x"
    assert link("https://a.example/?q=a|b>c", "t") == "<https://a.example/?q=a%7Cb%3Ec|t>"


def test_helpers() -> None:
    assert truncate("abcdef", 4) == "abc…" and truncate("abc", 4) == "abc"
    assert humanize_duration(59) == "59s" and humanize_duration(14 * 60) == "14m" and humanize_duration(3900) == "1h 5m"
    assert humanize_duration(3 * 86400 + 3600) == "3d 1h"
    capped = cap_blocks([{"type": "divider"}] * 60)
    assert len(capped) == 50 and capped[-1]["type"] == "context"


def test_storm_thread_lists_every_alert_in_replies_within_limits() -> None:
    alerts = [
        IncomingAlert("alertmanager", f"f{n}", AlertStatus.FIRING, {"alertname": "A", "instance": f"i-{n}"}, {}, NOW)
        for n in range(500)
    ]
    replies = build_storm_thread_lines(alerts, truncated=12)
    assert len(replies) > 1 and all(len(reply) <= 3000 for reply in replies)
    assert [reply.splitlines()[0] for reply in replies] == [
        f"*500 alert(s) joined this group ({n}/{len(replies)}):*" for n in range(1, len(replies) + 1)
    ]
    listed = [line for reply in replies for line in reply.splitlines()[1:]]
    assert listed[:-1] == [f"• `i-{n}` A" for n in range(500)]  # every alert, in order
    assert "12 more that the monitoring system left out" in listed[-1]


def test_a_short_storm_list_is_one_reply() -> None:
    alerts = [IncomingAlert("alertmanager", f"fp{n}", AlertStatus.FIRING, {"alertname": "A"}, {}, NOW) for n in range(3)]
    assert build_storm_thread_lines(alerts) == ["*3 alert(s) joined this group:*\n• `fp0` A\n• `fp1` A\n• `fp2` A"]


def test_open_escalations_are_shown_until_the_issue_resolves() -> None:
    from handlers.issues.message_view import EscalationLine

    view = IssueMessageView(
        issue=_issue(), alerts=[_alert()], alert_count=1, firing_count=1,
        escalations=[EscalationLine("DBAs", 2), EscalationLine("Developers", 1, acknowledged_by="U0DEV")],
    )
    rendered = json.dumps(build_issue_message(view)[1], ensure_ascii=False)
    assert "📣 Escalated to *DBAs* (level 2): waiting for them to take it" in rendered
    assert "📣 Escalated to *Developers*: <@U0DEV> is on it" in rendered
    resolved = IssueMessageView(issue=_issue(status=IssueStatus.RESOLVED, resolution_seconds=60), escalations=view.escalations)
    assert "Escalated to" not in json.dumps(build_issue_message(resolved)[1])


def _valid(blocks: list[dict]) -> None:
    for block in blocks:
        Block.parse(block).validate_json()


def test_the_message_names_its_alert_once() -> None:
    named = _issue(title="CPU above 90% on web-1")
    cpu = _alert(alertname="CPUHigh", labels={"alertname": "CPUHigh", "instance": "web-1"})
    text, blocks = build_issue_message(IssueMessageView(issue=named, alerts=[cpu], alert_count=1, firing_count=1))
    assert blocks[0]["text"]["text"].startswith("🔴 *CPUHigh: CPU above 90% on web-1*")
    assert text.startswith("[High] CPUHigh: CPU above 90%")
    # A title that already says the name (a generic alert's title is its name) is not repeated.
    same = _issue(title="Nightly backup failed")
    backup = _alert(alertname="Nightly backup failed")
    _, blocks = build_issue_message(IssueMessageView(issue=same, alerts=[backup], alert_count=1, firing_count=1))
    assert blocks[0]["text"]["text"].startswith("🔴 *Nightly backup failed*\n")
    _valid(blocks)


def test_links_are_url_buttons_in_their_own_block_and_clicks_have_ids() -> None:
    alert = _alert(source="datadog", annotations={
        "runbook_url": "https://runbooks.example.com/cpu", "silence": "https://am.example/#/silences/new?filter=%7B%7D",
        "logs": "https://logs.example/q?x=a b|c",
    })
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(), alerts=[alert], alert_count=1, firing_count=1))
    _valid(blocks)
    [links] = [b for b in blocks if b.get("block_id") == "issue.links"]
    assert [e["action_id"] for e in links["elements"]] == [
        "issue.link.source", "issue.link.runbook", "issue.link.logs", "issue.link.silence",
    ]
    assert _link_buttons(blocks) == {
        "Open in Datadog": "http://prometheus:9090/graph?g0.expr=x",
        "Runbook": "https://runbooks.example.com/cpu",
        "Logs": "https://logs.example/q?x=a%20b%7Cc",
        "Silence": "https://am.example/#/silences/new?filter=%7B%7D",
    }
    assert all(len(e["text"]["text"]) <= 75 for e in links["elements"])
    # The issue's own buttons keep their own block, after the links.
    ids = [b.get("block_id") for b in blocks]
    assert ids.index("issue.links") < ids.index("issue.actions") and _actions(blocks)[0] == "issue.ack"


def test_a_url_too_long_for_a_button_is_left_out_and_said_so_never_cut() -> None:
    long_url = "https://grafana.example.com/d/1?" + "var-host=web&" * 300  # 3,900 characters
    alert = _alert(annotations={"dashboard": long_url, "runbook_url": "https://runbooks.example.com/x"})
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(), alerts=[alert], alert_count=1, firing_count=1))
    _valid(blocks)
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "Dashboard" not in _link_buttons(blocks) and "Runbook" in _link_buttons(blocks)
    assert "grafana.example.com" not in rendered  # no piece of the URL anywhere
    assert "Not shown: the Dashboard link is longer than the 3,000 characters Slack allows a button" in rendered
    exactly = "https://e.example/" + "a" * (3000 - len("https://e.example/"))
    _, blocks = build_issue_message(
        IssueMessageView(issue=_issue(), alerts=[_alert(annotations={"runbook_url": exactly})], alert_count=1)
    )
    assert _link_buttons(blocks)["Runbook"] == exactly


def test_a_link_that_is_not_a_web_address_is_shown_as_text() -> None:
    alert = _alert(generator_url=None, annotations={"runbook": "RB-INF-01 <in the wiki>", "dashboard": "javascript:x"})
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(), alerts=[alert], alert_count=1, firing_count=1))
    _valid(blocks)
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert _link_buttons(blocks) == {}
    assert "*Runbook:* RB-INF-01 &lt;in the wiki&gt; · *Dashboard:* javascript:x" in rendered


def test_grafana_values_and_image_are_shown() -> None:
    alert = _alert(source="grafana", alertname="Memory (copy)", annotations={
        "summary": "High memory usage", "__grafana_values": "A=2.47355e+09, B=0, C=1",
        "__grafana_value_string": "[ var='A' labels={instance=node_exporter:9100} value=2.473545728e+09 ]",
        "__image_url": "https://grafana.com/assets/img/blog/mixed_styles.png",
    })
    view = IssueMessageView(issue=_issue(title="High memory usage"), alerts=[alert], alert_count=1, firing_count=1)
    _, blocks = build_issue_message(view)
    _valid(blocks)
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "📈 *Values:* `A=2.47355e+09, B=0, C=1`" in rendered
    [image] = [b for b in blocks if b["type"] == "image"]
    assert image["image_url"] == "https://grafana.com/assets/img/blog/mixed_styles.png"
    assert image["alt_text"] == "Graph attached to the Memory (copy) alert"
    only_string = _alert(annotations={"__grafana_value_string": "[ var='A' labels={} value=1 ]"})
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(), alerts=[only_string], alert_count=1))
    assert "📈 *Values:* `[ var='A' labels={} value=1 ]`" in json.dumps(blocks, ensure_ascii=False)
    not_web = _alert(annotations={"__image_url": "file:///etc/passwd"})
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(), alerts=[not_web], alert_count=1))
    assert not [b for b in blocks if b["type"] == "image"]


def test_a_state_note_from_the_sender_is_shown() -> None:
    alert = _alert(source="datadog", annotations={"__note": "Datadog: No Data, the monitor stopped receiving data <x>"})
    _, blocks = build_issue_message(IssueMessageView(issue=_issue(priority="Low"), alerts=[alert], alert_count=1))
    _valid(blocks)
    assert "ℹ️ Datadog: No Data, the monitor stopped receiving data &lt;x&gt;" in json.dumps(blocks, ensure_ascii=False)


def test_every_block_of_every_kind_of_message_is_valid_block_kit() -> None:
    alert = _alert(annotations={
        "runbook_url": "https://r.example/x", "silence": "https://am.example/#/silences/new", "__note": "n",
        "__grafana_values": "A=1", "__image_url": "https://img.example/a.png", "dashboard": "https://x/" + "y" * 4000,
    })
    for issue in (
        _issue(), _issue(status=IssueStatus.RESOLVED, resolution_seconds=60, resolution="done"),
        _issue(acknowledged_by="newrelic", acknowledged_at=NOW, assignee="newrelic", status=IssueStatus.IN_PROGRESS),
        _issue(is_grouped=True, title="HighErrorRate: alert storm"),
    ):
        _, blocks = build_issue_message(IssueMessageView(issue=issue, alerts=[alert] * 3, alert_count=3, firing_count=3,
                                                          kb_article=("High CPU usage", None)))
        assert len(blocks) <= 50
        _valid(blocks)
