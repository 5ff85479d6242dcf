"""Whatever text an alert, a reporter or a runbook carries, the builders render it: no exception,
nothing beyond Slack's limits, nothing Slack would read as a mention, a broadcast or a link we did not make.

A poison alert used to be accepted and then retried for ever by the delivery worker, because the
conversion of alert text raised on its own in-band markers; these properties keep any text from
doing that again.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from slack_sdk.models.blocks import Block

from handlers.alerts.blocks import build_resolved_line, build_storm_thread_lines
from handlers.alerts.parsers import IncomingAlert
from handlers.slack.blockkit import (
    CONTEXT_TEXT_LIMIT,
    FALLBACK_TEXT_LIMIT,
    FIELD_TEXT_LIMIT,
    MESSAGE_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    alert_text_to_mrkdwn,
    escape,
    link,
)
from handlers.issues.command_blocks import build_issue_detail
from handlers.escalations.blocks import (
    EscalationContext,
    EscalationNotice,
    RunbookAttempt,
    TimelineEntry,
    build_escalation_message,
    build_escalation_thread_line,
)
from handlers.issues.message import build_issue_message
from handlers.issues.message_view import AlertLine, EscalationLine, IssueMessageView
from handlers.issues.notices import build_assignee_message, build_reporter_confirmation
from handlers.issues.queries import IssueTimeline
from handlers.questions.blocks import build_reply
from handlers.questions.service import Answer
from knowledge_base import SearchResult, SearchResults
from storage.models import AlertStatus, Issue, IssueStatus

NOW = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)
PEOPLE = ("U0ALICE", "U0DBA1")
USERGROUP = "S0DBA"
CHANNEL = "C0ALERTS"

# What the builders themselves may write between < and >: dates, the configured user group, http(s)
# links, and references to whatever has the shape of a user or channel id (actors are ids or source
# names; a reference cannot notify anyone the way <!channel> does). Anything else is hostile text leaking.
_OUR_MARKUP = re.compile(
    r"<(?:!date\^\d+\^[^|<>]*\|[^<>]*"
    rf"|@[UW][A-Z0-9]*|#[CG][A-Z0-9]*|!subteam\^{USERGROUP}"
    r"|(?i:https?)://[^|<>\s]+(?:\|[^<>]*)?)>"
)
_BARE_AMPERSAND = re.compile(r"&(?!amp;|lt;|gt;)")
_UNSENDABLE = re.compile("[\x00\ud800-\udfff]")

HOSTILE_PIECES = [
    "\x000\x00", "\x001\x00", "\x0099\x00", "\x00", "\x00\x00", "\ud800", "\udfff", "\x07", "\r\n", "\n", "\t",
    "<!channel>", "<!here|here>", "<!everyone>", "<@U123ABC>", "<@W1|bob>", "<#C123>", "<!subteam^S1>",
    "<https://evil.example|click>", "<mailto:x@y.z>", "https://evil.example/?a=1&b=<2>", "javascript:alert(1)",
    "&", "&amp;", "&lt;", "&#0;", "&#xd800;", "<", ">", "|", "*", "**", "_", "~", "`", "```", "#", "# ",
    "[docs](https://ok.example/a)", "[x](javascript:alert(1))", "**bold**", "<b>", "</b>",
    "<a href='https://a.example/'>",
    "<a href=\"https://b.example/?q=|<>\">", "</a>", "<p>", "<li>", "<![foo[", "<![CDATA[", "<!--", "-->", "<script>",
    "<br/>", "<a", "ˋ", "…", "🔥", "\u202e", "\ufeff",
]  # fmt: skip

any_character = st.characters(exclude_categories=())  # surrogates and control characters included
hostile_piece = st.sampled_from(HOSTILE_PIECES)
hostile_text = st.one_of(
    st.text(any_character, max_size=60),
    st.lists(st.one_of(hostile_piece, st.text(any_character, max_size=8)), max_size=25).map("".join),
    st.builds(lambda piece, count: piece * count, hostile_piece, st.integers(0, 6000)),  # huge
)
hostile_dict = st.dictionaries(hostile_text, hostile_text, max_size=6)
LINK_KEYS = ("runbook_url", "dashboard", "summary", "description")


def _issue(title: str, description: str, resolution: str, **fields: Any) -> Issue:
    values: dict[str, Any] = dict(
        id=42, reported_at=NOW - timedelta(minutes=14), reported_by="alertmanager", source="alertmanager",
        title=title, description=description, priority="High", category="application", status=IssueStatus.OPEN,
        channel="#alerts", is_grouped=False, resolution=resolution, root_cause=resolution, link_url=description,
    )
    values.update(fields)
    return Issue(**values)


def _alert_line(alertname: str, labels: dict[str, str], annotations: dict[str, str], url: str) -> AlertLine:
    return AlertLine(
        alertname=alertname, status="firing", labels=labels, annotations=annotations, starts_at=NOW,
        generator_url=url, last_seen_at=NOW,
    )


def _texts(blocks: list[dict[str, Any]]) -> Iterator[tuple[str, int]]:
    """Every mrkdwn/plain text in the blocks, with the limit Slack puts on it."""
    for block in blocks:
        if isinstance(block.get("text"), dict):
            yield block["text"]["text"], SECTION_TEXT_LIMIT
        for field in block.get("fields", []):
            yield field["text"], FIELD_TEXT_LIMIT
        for element in block.get("elements", []):
            if element.get("type") == "mrkdwn":
                yield element["text"], CONTEXT_TEXT_LIMIT
            elif element.get("type") == "button":
                yield element["text"]["text"], 75
                yield element["value"], 2000


def _assert_safe_mrkdwn(text: str) -> None:
    assert not _UNSENDABLE.search(text), "NUL or a lone surrogate would not survive JSON/UTF-8/PostgreSQL"
    rest = _OUR_MARKUP.sub("", text)
    assert "<" not in rest, f"markup we did not write: {text!r}"
    assert not _BARE_AMPERSAND.search(rest), f"unescaped & in {text!r}"


def _assert_sendable(fallback: str, blocks: list[dict[str, Any]]) -> None:
    assert len(fallback) <= FALLBACK_TEXT_LIMIT and fallback.strip()
    _assert_safe_mrkdwn(fallback)
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    json.dumps({"text": fallback, "blocks": blocks}, ensure_ascii=False).encode("utf-8")
    for block in blocks:
        Block.parse(block).validate_json()
        if block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
        if block["type"] == "section":
            assert "text" in block or 1 <= len(block["fields"]) <= 10
    for text, limit in _texts(blocks):
        assert 1 <= len(text) <= limit
        _assert_safe_mrkdwn(text)


common = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large]
)


@common
@given(title=hostile_text, description=hostile_text, labels=hostile_dict, annotations=hostile_dict,
       link_values=st.lists(hostile_text, min_size=len(LINK_KEYS), max_size=len(LINK_KEYS)), other=hostile_text)
@example(title="<!channel> disk full", description="a \x000\x00 b \x007\x00", labels={}, annotations={},
         link_values=["\x000\x00"] * len(LINK_KEYS), other="<![foo[")
def test_issue_message_renders_any_text(
    title: str, description: str, labels: dict[str, str], annotations: dict[str, str], link_values: list[str],
    other: str,
) -> None:
    annotations = {**annotations, **dict(zip(LINK_KEYS, link_values))}
    alert = _alert_line(other, {**labels, "instance": other, "severity": title}, annotations, other)
    for issue, alerts in (
        (_issue(title, description, other), [alert]),
        (_issue(title, description, other, is_grouped=True), [alert] * 10),
        (_issue(title, description, other, status=IssueStatus.RESOLVED, resolution_seconds=60, resolved_by=other,
                root_cause_category=other), [alert]),
        (_issue(title, description, other, acknowledged_by=other, assignee=other), []),
    ):
        view = IssueMessageView(
            issue=issue, alerts=alerts, alert_count=len(alerts) * 30, firing_count=len(alerts),
            kb_article=(other, description), extra_context=(escape(other), ""),  # extra_context is mrkdwn by contract
            escalations=[EscalationLine(other, 2, other)],
        )
        fallback, blocks = build_issue_message(view)
        _assert_sendable(fallback, blocks)
        if title.strip():
            assert "<!channel>" not in fallback
    _assert_safe_mrkdwn(build_resolved_line(_issue(title, description, other, resolution_seconds=5), other))


@common
@given(title=hostile_text, description=hostile_text, labels=hostile_dict, annotations=hostile_dict, other=hostile_text,
       audience=st.sampled_from(["channel", "dm"]))
@example(title="<!channel> replica lag", description="\x000\x00", labels={"a": "`x`"}, annotations={"d": "\x001\x00"},
         other="<@U0EVIL> &", audience="channel")
def test_escalation_message_renders_any_text(
    title: str, description: str, labels: dict[str, str], annotations: dict[str, str], other: str, audience: str
) -> None:
    issue = _issue(title, description, other, assignee=other)
    alert = _alert_line(other, labels, {**annotations, "runbook_url": other}, other)
    alerts = (alert,) if labels or annotations else ()
    context = EscalationContext(
        issue=issue, alerts=alerts, alert_count=len(alerts) * 3,
        timeline=tuple(TimelineEntry(NOW, actor, other) for actor in (*PEOPLE, other)),
        runbook_runs=tuple(RunbookAttempt(other, other, NOW, other, description, other) for _ in range(7)),
        kb_article=(other, description), message_channel=CHANNEL,
    )
    notice = EscalationNotice(
        context=context, team_name=other, requested_by=PEOPLE[0], urgency=other, note=description, level=2,
        level_name=other, usergroup=USERGROUP, people=PEOPLE, waited_minutes=5,
    )
    fallback, blocks = build_escalation_message(notice, audience=audience)  # type: ignore[arg-type]
    _assert_sendable(fallback, blocks)
    assert "<!channel>" not in fallback
    for reason in ("manual", "chain", "autofix_failed"):
        line = build_escalation_thread_line(replace(notice, reason=reason), other)
        _assert_safe_mrkdwn(line)


@common
@given(alerts=st.lists(st.tuples(hostile_text, hostile_dict, hostile_dict), min_size=1, max_size=40),
       truncated=st.integers(0, 10_000))
@example(alerts=[("\x000\x00", {"instance": "<!channel>"}, {"summary": "\x001\x00 ```"})] * 3, truncated=0)
def test_storm_thread_renders_any_text(
    alerts: list[tuple[str, dict[str, str], dict[str, str]]], truncated: int
) -> None:
    incoming = [
        IncomingAlert("alertmanager", fingerprint, AlertStatus.FIRING, labels, annotations, NOW)
        for fingerprint, labels, annotations in alerts
    ]
    replies = build_storm_thread_lines(incoming, truncated=truncated)
    listed = 0
    for reply in replies:
        assert 1 <= len(reply) <= SECTION_TEXT_LIMIT
        _assert_safe_mrkdwn(reply)
        json.dumps({"text": reply}, ensure_ascii=False).encode("utf-8")
        listed += sum(line.startswith("• ") for line in reply.splitlines())
    assert listed == len(incoming)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(hostile_text, st.lists(hostile_piece, max_size=60).map("".join)))
@example(text="boom \x000\x00 then \x0042\x00")
@example(text="<b>x</b> <![foo[ y")
def test_alert_text_conversion_cannot_fail_or_leak_markup(text: str) -> None:
    converted = alert_text_to_mrkdwn(text)
    _assert_safe_mrkdwn(converted)
    assert "\x00" not in converted


@given(url=hostile_text, label=hostile_text)
def test_links_only_ever_wrap_an_http_url(url: str, label: str) -> None:
    made = link(url, label)
    _assert_safe_mrkdwn(made)
    assert made.count("<") <= 1


def test_the_poison_alert_is_escaped_not_raised() -> None:
    assert alert_text_to_mrkdwn("disk \x000\x00 full **now**") == "disk 0 full *now*"
    assert alert_text_to_mrkdwn("<b>x</b><![foo[") == "*x*&lt;![foo["
    assert escape("a\ud800b\x00c<") == "a\ufffdbc&lt;"


def test_notification_texts_are_escaped() -> None:
    issue = _issue("<!channel> DB down & <@U123>", "", "")
    fallback, _ = build_issue_message(IssueMessageView(issue=issue))
    assert fallback == "[High] &lt;!channel&gt; DB down &amp; &lt;@U123&gt; (#42, Open)"
    notice = EscalationNotice(context=EscalationContext(issue=issue), team_name="<!here> DBAs", requested_by="U0ALICE",
                              usergroup=USERGROUP)
    fallback, _ = build_escalation_message(notice)
    assert fallback == (
        "<!subteam^S0DBA> Issue #42 escalated to &lt;!here&gt; DBAs: &lt;!channel&gt; DB down &amp; &lt;@U123&gt;"
    )


def test_every_other_notification_text_with_a_title_is_escaped() -> None:
    title = "<!channel> VPN & <@U123> down"
    escaped = "&lt;!channel&gt; VPN &amp; &lt;@U123&gt; down"
    assert build_assignee_message(7, title, "U0ALICE")[0] == f"<@U0ALICE> assigned you issue #7: {escaped}"
    assert build_reporter_confirmation(7, title, "C0HELP")[0] == f"Issue #7 is logged: {escaped}"
    assert build_issue_detail(IssueTimeline(_issue(title, "", ""), [], 0, None))[0] == f"#42 {escaped} (Open, High)"
    result = SearchResult(article_id="vpn", path=Path("/kb/vpn.md"), title=title, section="<Fix>", score=0.9,
                          confident=True, text="Restart it", url=None, category="network", runbook=None)
    reply = build_reply(Answer(7, "vpn", "U0ALICE", SearchResults("vpn", (result,), True)))
    assert reply[0] == f"📖 {escaped} › &lt;Fix&gt;"
