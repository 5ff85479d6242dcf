"""The write-up modal, `/kb drafts` and the issue half of `/kb gaps` on their dict output; the modal's
answers read back; what the modal is prefilled with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from handlers.knowledge.articles import WriteUp
from handlers.knowledge.blocks import build_drafts, build_issue_gaps, build_write_up_modal
from handlers.knowledge.drafts import DraftFile
from handlers.knowledge.gaps import IssueGap, IssueGapReport
from handlers.knowledge.listeners import WriteUpAnswers
from handlers.knowledge.prefill import WriteUpForm, prefill
from handlers.knowledge.service import DraftList
from handlers.slack.payloads import FormValues
from storage.models import Alert, Issue, IssueEvent

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def form(**changes: str) -> WriteUpForm:
    values = {"title": "Printer <on> fire", "category": "infrastructure", "symptoms": "smoke", "root_cause": "",
              "fix": "Switch it off", "steps": "1. Ack"}
    values.update(changes)
    return WriteUpForm(42, WriteUp(alerts=("PrinterOnFire", "PrinterSmoke"), **values))


def test_the_modal_is_prefilled_and_valid_for_slack() -> None:
    modal = build_write_up_modal(form(symptoms="x" * 5000), '{"issue": 42}')
    View(**modal).validate_json()
    inputs = {block["block_id"]: block for block in modal["blocks"] if block["type"] == "input"}
    assert list(inputs) == [
        "kb.write_up.title", "kb.write_up.category", "kb.write_up.alerts", "kb.write_up.symptoms",
        "kb.write_up.root_cause", "kb.write_up.fix", "kb.write_up.steps",
    ]
    assert inputs["kb.write_up.title"]["element"]["initial_value"] == "Printer <on> fire"  # plain text: not escaped
    assert inputs["kb.write_up.alerts"]["element"]["initial_value"] == "PrinterOnFire, PrinterSmoke"
    assert inputs["kb.write_up.category"]["element"]["initial_option"]["value"] == "infrastructure"
    assert len(inputs["kb.write_up.symptoms"]["element"]["initial_value"]) == 3000
    assert "initial_value" not in inputs["kb.write_up.root_cause"]["element"]  # empty: nothing to prefill
    assert not inputs["kb.write_up.fix"].get("optional") and not inputs["kb.write_up.title"].get("optional")
    assert modal["callback_id"] == "kb.write_up" and modal["private_metadata"] == '{"issue": 42}'


def _values(**texts: str) -> FormValues:
    blocks = {f"kb.write_up.{name}": {f"kb.write_up.{name}": {"type": "plain_text_input", "value": value}}
              for name, value in texts.items()}
    blocks["kb.write_up.category"] = {"kb.write_up.category": {"type": "static_select", "selected_option": {"value": "database"}}}
    return FormValues(blocks)


def test_the_answers_are_read_and_checked() -> None:
    answers = WriteUpAnswers.read(_values(title="  Disk full ", alerts="DiskFull, DiskSpaceLow", fix="df -h"), 7)
    assert answers.problems() == {}
    assert answers.write_up.title == "Disk full" and answers.write_up.alerts == ("DiskFull", "DiskSpaceLow")
    bad = WriteUpAnswers.read(_values(title="t" * 151, fix=" ", steps="s" * 3001), None)
    assert set(bad.problems()) == {"kb.write_up.title", "kb.write_up.fix", "kb.write_up.steps"}


def _draft(number: int, **changes: object) -> DraftFile:
    values: dict[str, object] = {"name": f"draft-{number}.md", "title": f"Draft <{number}>", "source_issue": number,
                                 "author": "U0BOB", "created": NOW - timedelta(hours=number), "searchable": True}
    values.update(changes)
    return DraftFile(**values)  # type: ignore[arg-type]


def test_drafts_show_buttons_only_to_managers_and_name_them_to_others() -> None:
    drafts = [_draft(1), _draft(2, author=None, source_issue=None, searchable=False)]
    _, blocks = build_drafts(DraftList(drafts, 2, False, "<@U0BOSS>"), NOW)
    text = str(blocks)
    assert "Draft &lt;1&gt;" in text and "issue #1" in text and "by <@U0BOB>" in text and "1h ago" in text
    assert "no source issue" in text and "hidden from answers until published" in text
    assert not [b for b in blocks if b["type"] == "actions"] and "ask <@U0BOSS>" in text

    _, blocks = build_drafts(DraftList(drafts, 2, True, "<@U0BOSS>"), NOW, note="✅ Published *x*")
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    rows = [b for b in blocks if b["type"] == "actions"]
    assert [[e["action_id"] for e in row["elements"]] for row in rows] == [["kb.draft.publish", "kb.draft.discard"]] * 2
    assert rows[0]["elements"][0]["value"] == "draft-1.md" and "confirm" in rows[0]["elements"][1]
    assert blocks[0]["text"]["text"] == "✅ Published *x*"


def test_twenty_drafts_fit_in_a_message() -> None:
    drafts = [_draft(n) for n in range(1, 21)]
    _, blocks = build_drafts(DraftList(drafts, 35, True, ""), NOW)
    assert len(blocks) <= 50 and "15 older draft(s)" in str(blocks[-1])


def test_gaps_offer_write_it_up_on_the_latest_issue() -> None:
    report = IssueGapReport("the last 30 days", 2, [
        IssueGap("PrinterOnFire", True, 3, NOW, 17), IssueGap("coffee <machine>", False, 2, NOW, 9),
    ])
    text, blocks = build_issue_gaps(report)
    assert text == "2 recurring issue(s) without an article in the last 30 days"
    assert [b["accessory"]["value"] for b in blocks[1:]] == ["17", "9"]
    assert {b["accessory"]["action_id"] for b in blocks[1:]} == {"issue.write_up"}
    assert "*PrinterOnFire* — 3 issues" in blocks[1]["text"]["text"] and "coffee &lt;machine&gt;" in blocks[2]["text"]["text"]
    assert "No alert or reported problem came back 2+ times" in build_issue_gaps(IssueGapReport("May", 2))[0]


def _event(kind: str, summary: str, actor: str = "U0BOB", **detail: object) -> IssueEvent:
    return IssueEvent(issue_id=5, kind=kind, summary=summary, actor=actor, detail=detail, at=NOW)


def test_the_modal_is_prefilled_from_the_issue_its_alert_and_its_timeline() -> None:
    issue = Issue(id=5, title="Disk 91% on db-1", description="df says 91%", category="infrastructure",
                  root_cause_category="database", root_cause="WAL kept by a slot", resolution="Dropped the slot")
    events = [
        _event("opened", "Opened from alertmanager alert", "alertmanager", alertname="DiskSpaceLow",
               labels={"alertname": "DiskSpaceLow", "instance": "db-1"}),
        _event("acknowledged", "Acknowledged"), _event("denied", "Refused: run auto-fix"),
        _event("comment", "Found a stale replication slot"), _event("survey_sent", "Survey sent"),
        _event("resolved", "Resolved"),
    ]
    # The alert's row has moved on to a newer issue: its name and labels come from the "opened" event.
    write_up = prefill(issue, [], events).write_up
    assert write_up.category == "database" and write_up.alerts == ("DiskSpaceLow",)
    assert write_up.symptoms == "- **DiskSpaceLow**: Disk 91% on db-1\n  df says 91%\n  Labels: `instance=db-1`"
    assert (write_up.root_cause, write_up.fix) == ("WAL kept by a slot", "Dropped the slot")
    assert write_up.steps == "1. Acknowledged (U0BOB)\n2. Found a stale replication slot (U0BOB)"

    alert = Alert(alertname="DiskSpaceLow", labels={"severity": "warning"},
                  annotations={"summary": "Disk 91%", "description": "on db-1"})
    assert prefill(issue, [alert], events).write_up.symptoms.startswith("- **DiskSpaceLow**: Disk 91%\n  on db-1\n")


def test_a_reported_issue_is_prefilled_from_the_reporters_words(tmp_path: Path) -> None:
    issue = Issue(id=6, title="Coffee machine leaking", description="Water on the floor", category="weird")
    write_up = prefill(issue, [], [_event("opened", "Reported in Slack", "U0ALICE")]).write_up
    assert write_up.symptoms == "- Coffee machine leaking\n  Water on the floor" and write_up.alerts == ()
    assert write_up.category == "other" and write_up.steps == "" and write_up.fix == ""
