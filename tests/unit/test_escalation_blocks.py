"""The Escalate modal, the escalation message and the PagerDuty trigger, on their dict output."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from handlers.issues.message_view import AlertLine
from handlers.slack.blockkit import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT
from handlers.escalations.blocks import (
    EscalationContext,
    EscalationForm,
    EscalationNotice,
    RunbookAttempt,
    TimelineEntry,
    build_escalation_modal,
    build_escalation_message,
    build_escalation_thread_line,
)
from handlers.escalations.pagerduty import build_trigger_event, dedup_key_for
from storage.models import Issue

AT = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)


def _issue(**overrides: object) -> Issue:
    values: dict[str, object] = dict(
        id=42, title="Replica <lag> & growing", priority="High", category="database", status="In progress",
        reported_at=AT, reported_by="alertmanager", source="alertmanager", description="", assignee="U0BOB",
    )
    values.update(overrides)
    return Issue(**values)


def _alert() -> AlertLine:
    return AlertLine(
        alertname="PostgresReplicationLag", status="firing",
        labels={"alertname": "PostgresReplicationLag", "instance": "db-2:9187", "service": "postgres", "severity": "critical"},
        annotations={"summary": "Lag <b>45s</b>", "runbook_url": "https://runbooks.example.com/pg", "dashboard": "javascript:alert(1)"},
        starts_at=AT, generator_url="http://prometheus:9090/graph?g0.expr=lag",
    )


def _notice(**overrides: object) -> EscalationNotice:
    context = EscalationContext(
        issue=_issue(), alerts=(_alert(),), alert_count=1,
        timeline=(TimelineEntry(AT, "U0BOB", "Acknowledged"), TimelineEntry(AT, "alertmanager", "Fired again")),
        runbook_runs=(RunbookAttempt("pg-restart", "failed", AT, "U0BOB", "```rm -rf``` <@U0EVIL>", "exit 1"),),
        kb_article=("Replication lag", "https://kb.example.com/pg-lag"), message_channel="C0ALERTS",
    )
    values: dict[str, object] = dict(
        context=context, team_name="DBAs", requested_by="U0ALICE", note="Please look <!channel>",
        usergroup="S0DBA", people=("U0DBA1",),
    )
    values.update(overrides)
    return EscalationNotice(**values)  # type: ignore[arg-type]


def _valid_message(blocks: list[dict]) -> None:
    assert len(blocks) <= MESSAGE_BLOCK_LIMIT
    for block in Block.parse_all(blocks):
        block.validate_json()
    for block in blocks:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= SECTION_TEXT_LIMIT


def test_modal_preselects_the_category_team_and_is_valid_for_slack() -> None:
    form = EscalationForm(42, "Replica lag", "database", "Low", [("dba", "DBAs"), ("web", "Web")], "dba", True, "#alerts",
                          private_metadata='{"issue": 42}')
    modal = build_escalation_modal(form)
    View(**modal).validate_json()
    assert modal["callback_id"] == "escalation.modal" and modal["private_metadata"] == '{"issue": 42}'
    by_id = {block.get("block_id"): block for block in modal["blocks"]}
    assert by_id["escalation.team"]["element"]["initial_option"]["value"] == "dba"
    assert by_id["escalation.urgency"]["element"]["initial_option"]["value"] == "low"  # Low priority
    assert by_id["escalation.note"]["optional"] is True
    assert "No teams are set up" not in json.dumps(modal)


def test_modal_without_a_suggestion_or_config_says_where_it_will_go() -> None:
    teams = [(f"t{i}", f"Team {i}") for i in range(120)]
    modal = build_escalation_modal(EscalationForm(1, "x", "other", "High", teams, None, False, "#alerts"))
    View(**modal).validate_json()
    team = next(b for b in modal["blocks"] if b.get("block_id") == "escalation.team")
    assert "initial_option" not in team["element"] and len(team["element"]["options"]) == 100
    assert "posted to #alerts" in json.dumps(modal)


def test_team_message_carries_the_whole_context_safely() -> None:
    text, blocks = build_escalation_message(_notice())
    _valid_message(blocks)
    dumped = json.dumps(blocks, ensure_ascii=False)
    assert text.startswith("<!subteam^S0DBA> Issue #42 escalated to DBAs")
    assert blocks[0]["text"]["text"].startswith("<!subteam^S0DBA> 📣 *Escalated to DBAs* by <@U0ALICE>")
    assert "On call: <@U0DBA1>" in dumped and "#42 in <#C0ALERTS>" in dumped
    assert "Replica &lt;lag&gt; &amp; growing" in dumped
    assert "`instance=db-2:9187`" in dumped and "*summary:* Lag *45s*" in dumped
    assert "<https://runbooks.example.com/pg|Runbook>" in dumped and "<http://prometheus:9090/graph?g0.expr=lag|Generator>" in dumped
    assert "javascript:" not in dumped and "· Dashboard" in dumped  # not http(s): shown as a word, never a link
    assert "Please look &lt;!channel&gt;" in dumped and "<!channel>" not in dumped
    assert "Acknowledged" in dumped and "Fired again" in dumped
    assert "pg-restart" in dumped and "exit 1" in dumped and "&lt;@U0EVIL&gt;" in dumped
    assert "<@U0EVIL>" not in dumped and "```rm" not in dumped
    assert "<https://kb.example.com/pg-lag|Replication lag>" in dumped
    assert blocks[-1]["elements"][0]["action_id"] == "escalation.ack" and blocks[-1]["elements"][0]["value"] == "42"


def test_direct_message_and_chain_levels_read_differently() -> None:
    _, dm = build_escalation_message(_notice(), audience="dm")
    assert dm[0]["text"]["text"].startswith("📟 You are called for *DBAs*.") and "subteam" not in dm[0]["text"]["text"]
    chain = _notice(reason="chain", level=2, level_name="team lead", waited_minutes=15, people=("U0LEAD",), usergroup=None)
    text, blocks = build_escalation_message(chain)
    assert "⏫ *Level 2 (team lead) for DBAs*: nobody acknowledged issue #42 within 15 minutes" in blocks[0]["text"]["text"]
    line = build_escalation_thread_line(chain, "#dba")
    assert line == "⏫ Nobody acknowledged within 15 minutes: escalated to level 2 (team lead) of DBAs: <@U0LEAD>."
    automatic = _notice(reason="autofix_failed", requested_by="opsbot", people=())
    _, auto_blocks = build_escalation_message(automatic)
    assert "Escalated to DBAs by opsbot*: auto-fix failed" in auto_blocks[0]["text"]["text"]
    assert "No on-call person configured" in auto_blocks[0]["text"]["text"]
    assert build_escalation_thread_line(_notice(), "C0DBA").startswith(
        "📣 <@U0ALICE> escalated this to *DBAs* in <#C0DBA> (on call: <@U0DBA1>), urgency high."
    )


def test_huge_context_stays_within_slack_limits() -> None:
    many = tuple(TimelineEntry(AT, "U0BOB", "x" * 500) for _ in range(200))
    runs = tuple(RunbookAttempt(f"rb{i}", "failed", AT, "U0BOB", "y" * 5000) for i in range(80))
    labels = {f"label{i}": "v" * 300 for i in range(200)}
    alert = AlertLine("A", "firing", labels, {"description": "z" * 10_000}, AT)
    context = EscalationContext(issue=_issue(title="t" * 600), alerts=(alert,), timeline=many, runbook_runs=runs)
    text, blocks = build_escalation_message(_notice(context=context, note="n" * 5000))
    _valid_message(blocks)
    assert len(text) <= 3000 and blocks[-1]["type"] == "actions"  # the button always survives
    dumped = json.dumps(blocks)
    assert "75 earlier runbook runs" in dumped and "rb79" in dumped and "rb74" not in dumped
    assert re.search(r"…and \d+ more", json.dumps(blocks, ensure_ascii=False))  # labels that did not fit


def test_pagerduty_trigger_has_the_documented_shape_without_the_routing_key() -> None:
    event = build_trigger_event(_notice(), dedup_key_for(42, "dba"))
    assert event["event_action"] == "trigger" and event["dedup_key"] == "opsbot-issue-42-dba"
    assert "routing_key" not in event and event["client"] == "opsbot"
    payload = event["payload"]
    assert payload["summary"] == "[DBAs] #42 Replica <lag> & growing"
    assert payload["severity"] == "critical" and payload["source"] == "db-2:9187"
    assert payload["component"] == "postgres" and payload["class"] == "PostgresReplicationLag"
    assert payload["timestamp"] == AT.isoformat()
    assert payload["custom_details"]["escalated_by"] == "U0ALICE"
    assert event["links"] == [
        {"href": "http://prometheus:9090/graph?g0.expr=lag", "text": "Generator"},
        {"href": "https://runbooks.example.com/pg", "text": "Runbook"},
    ]
    low = build_trigger_event(_notice(urgency="low", reason="unverified"), "k")
    assert low["payload"]["severity"] == "warning"
    assert low["payload"]["custom_details"]["reason"] == "auto-fix ran but the alert did not clear"
