"""Auto-fix's builders on their dict output: within Slack's limits, escaping what alerts and programs say."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

from handlers.issues.message import build_issue_message
from handlers.issues.message_view import AlertLine, IssueMessageView
from handlers.autofix.blocks import (
    AutofixCallback,
    build_confirm_modal,
    build_refused_line,
    build_started_line,
    build_step_line,
    build_succeeded_line,
    code_block,
)
from handlers.autofix.params import ParameterRefused, plan_run
from handlers.autofix.runbooks import Runbook
from handlers.autofix.runner import StepOutcome, StepStatus
from storage.models import Issue, IssueStatus

NOW = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)


def _runbook(**overrides: Any) -> Runbook:
    fields: dict[str, Any] = {
        "id": "RB-APP-01",
        "title": "Restart <checkout> & friends",
        "description": "Restarts the pods; safe during business hours.",
        "match": {"alertname": "HighErrorRate"},
        "params": {"service": {"label": "service", "pattern": "[a-z0-9-]{1,40}"}},
        "confirm": True,
        "steps": [
            {"kind": "http", "name": "Rundeck", "url": "https://rundeck.example.com/run?s={{ service }}",
             "body": {"service": "{{ service }}"}},
            {"kind": "command", "name": "Flush", "argv": ["/usr/bin/flush", "{{ service }}"], "cwd": "/srv"},
            {"kind": "manual", "name": "Look", "text": "Check <the> dashboard & *smile*"},
        ],
    }
    fields.update(overrides)
    return Runbook.model_validate(fields)


def _issue() -> Issue:
    return Issue(
        id=7, reported_at=NOW, reported_by="alertmanager", source="alertmanager", title="High 5xx on checkout",
        description="", priority="High", category="application", status=IssueStatus.OPEN, channel="#alerts",
        is_grouped=False,
    )


def _alert() -> AlertLine:
    return AlertLine(alertname="HighErrorRate", status="firing", labels={"service": "checkout"}, annotations={},
                     starts_at=NOW)


def _action_ids(blocks: list[dict]) -> list[str]:
    return [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]


def test_auto_fix_button_only_when_a_runbook_matches() -> None:
    _, without = build_issue_message(IssueMessageView(issue=_issue(), alerts=[_alert()], alert_count=1))
    _, with_runbook = build_issue_message(
        IssueMessageView(issue=_issue(), alerts=[_alert()], alert_count=1, autofix_available=True)
    )
    assert "issue.autofix" not in _action_ids(without)
    assert _action_ids(with_runbook)[:2] == ["issue.ack", "issue.autofix"]
    assert "No runbook fixes this" not in json.dumps(without)  # no KB article known: nothing said


def test_without_a_runbook_the_message_points_at_the_kb_article() -> None:
    view = IssueMessageView(
        issue=_issue(), alerts=[_alert()], alert_count=1, kb_article=("High error rate <5xx>", "https://kb.example.com/5xx")
    )
    _, blocks = build_issue_message(view)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "No runbook fixes this automatically: follow 📖 <https://kb.example.com/5xx|High error rate &lt;5xx&gt;>" in text
    _, with_runbook = build_issue_message(
        IssueMessageView(issue=_issue(), alerts=[_alert()], alert_count=1, autofix_available=True,
                         kb_article=("High error rate", None))
    )
    assert "No runbook fixes" not in json.dumps(with_runbook)


def test_confirm_modal_describes_every_step_within_slack_limits() -> None:
    plan = plan_run(_runbook(), {"service": "checkout"})
    view = build_confirm_modal(plan, 7, "High 5xx on <checkout>", '{"issue": 7}')
    assert view["type"] == "modal" and view["callback_id"] == AutofixCallback.CONFIRM == "autofix.confirm"
    for key in ("title", "submit", "close"):
        assert len(view[key]["text"]) <= 24
    assert view["private_metadata"] == '{"issue": 7}'
    text = json.dumps(view["blocks"], ensure_ascii=False)
    assert "Restart &lt;checkout&gt; &amp; friends" in text and "High 5xx on &lt;checkout&gt;" in text
    assert "`POST https://rundeck.example.com/run?s=checkout (timeout 30s, expects HTTP 200/201/202/204)`" in text
    assert '[\\"/usr/bin/flush\\", \\"checkout\\"] in /srv' in text
    assert "Check &lt;the&gt; dashboard &amp; *smile*" in text
    assert "`service` = `checkout`" in text and "waits 10m" in text
    assert len(view["blocks"]) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")


def test_many_steps_stay_within_the_modal_block_limit() -> None:
    steps = [{"kind": "command", "name": f"s{n}", "argv": ["/bin/true", "x" * 2000]} for n in range(20)]
    plan = plan_run(_runbook(steps=steps), {"service": "checkout"})
    view = build_confirm_modal(plan, 7, "t", "{}")
    assert len(view["blocks"]) <= 100
    assert all(len(b["text"]["text"]) <= 3000 for b in view["blocks"] if b["type"] == "section")


def test_step_output_is_escaped_truncated_and_cannot_close_its_code_block() -> None:
    hostile = "<!channel> <@U123> ``` *bold* & " + "x" * 5000 + "\nlast line ```"
    outcome = StepOutcome("Flush <it>", "command", StepStatus.FAILED, 1.25, "exit 1", hostile)
    line = build_step_line(outcome, 2, 3)
    assert line.startswith("❌ Step 2/3 *Flush &lt;it&gt;* — exit 1 in 1.2s")
    assert len(line) <= 3000 and line.count("```") == 2 and line.endswith("```")
    assert "<!channel>" not in line and "last line" in line  # the tail is what matters
    assert code_block("a`b") == "```aˋb```"


def test_manual_step_text_is_shown_escaped() -> None:
    outcome = StepOutcome("Look", "manual", StepStatus.SHOWN, 0.0, "shown", "Open <https://x|x> & check")
    assert build_step_line(outcome, 3, 3) == "📋 Step 3/3 *Look* (for you to do):\nOpen &lt;https://x|x&gt; &amp; check"


def test_thread_lines_say_who_what_and_until_when() -> None:
    runbook = _runbook()
    assert build_started_line(runbook, "U0OPS", automatic=False).startswith("🛠️ <@U0OPS> started runbook *Restart")
    assert "automatically" in build_started_line(runbook, "opsbot", automatic=True)
    succeeded = build_succeeded_line(runbook, 2.5, NOW + timedelta(minutes=10))
    assert "finished in 2.5s" in succeeded and "<!date^" in succeeded and "(10m)" in succeeded
    refused = build_refused_line(runbook, ParameterRefused("service", "service", "x; <rm> -rf /", "bad"), escalating=True)
    assert "⛔" in refused and "&lt;rm&gt;" in refused and "Nothing was run" in refused and "Escalating" in refused
