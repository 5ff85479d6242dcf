"""Block Kit for /issue, the App Home tab and the issue log's notices: pure dicts, within Slack's limits."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

from core.vocabulary import Category, Priority
from handlers.issues.message import build_issue_message
from handlers.issues.message_view import IssueMessageView
from handlers.issues.command_blocks import build_help, build_issue_detail, build_issue_list, build_new_issue_modal
from handlers.home.blocks import build_home_view
from handlers.issues.notices import build_comment_line, build_reporter_confirmation, channel_reference
from handlers.issues.queries import (
    DayCounts,
    HomeOverview,
    IssueFilter,
    IssuePage,
    IssueTimeline,
    PriorityGroup,
    StatusScope,
)
from handlers.periods import day_period
from slack_standin.validation import MAX_MESSAGE_BLOCKS, check_blocks, check_view
from storage.models import Issue, IssueEvent, IssueStatus, SlackMessage

NOW = datetime(2026, 11, 22, 14, 2, tzinfo=timezone.utc)


def _issue(n: int = 1, **fields) -> Issue:  # type: ignore[no-untyped-def]
    values = dict(
        id=n, reported_at=NOW - timedelta(minutes=n), reported_by="U0ALICE", source="slack", title=f"Issue {n}",
        description="It <breaks> & fails", priority="High", category="database", status=IssueStatus.OPEN,
        channel="#help-desk", is_grouped=False,
    )
    values.update(fields)
    return Issue(**values)


def _event(n: int, kind: str = "comment", summary: str = "note", actor: str = "U0BOB") -> IssueEvent:
    return IssueEvent(id=n, issue_id=1, at=NOW + timedelta(minutes=n), actor=actor, kind=kind, summary=summary, detail={})


def test_new_issue_modal_is_a_valid_view() -> None:
    view = build_new_issue_modal()
    assert check_view(view) == []
    assert view["callback_id"] == "issue_log.new" and view["submit"]["text"] == "Report"
    priority = next(b for b in view["blocks"] if b["block_id"] == "issue_new.priority")
    assert [o["value"] for o in priority["element"]["options"]] == ["High", "Medium", "Low"]
    assert priority["element"]["initial_option"]["value"] == "Medium"
    category = next(b for b in view["blocks"] if b["block_id"] == "issue_new.category")
    assert [o["value"] for o in category["element"]["options"]] == [c.value for c in Category]
    link = next(b for b in view["blocks"] if b["block_id"] == "issue_new.link")
    assert link["optional"] is True and link["element"]["type"] == "url_text_input"
    assert {b["element"]["action_id"] for b in view["blocks"]} == {"value"}


def test_a_full_list_page_fits_one_message_and_offers_the_next() -> None:
    issues = [_issue(n, title="T" * 400, assignee="U0BOB" if n % 2 else None) for n in range(1, 41)]
    page = IssuePage(issues=issues, total=95, offset=0, limit=40)
    text, blocks = build_issue_list(page, IssueFilter(StatusScope.OPEN, True, (Priority.HIGH,), ()))
    assert check_blocks(blocks, MAX_MESSAGE_BLOCKS) == []
    assert text == "1–40 of 95 open High issues reported by or assigned to you, newest first"
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "…and 55 more" in rendered and "👤 <@U0BOB>" in rendered and "unassigned" in rendered
    [button] = blocks[-1]["elements"]
    assert (button["action_id"], button["value"], button["text"]["text"]) == ("issue_log.list_more", "40|open mine high", "Next 40")


def test_an_empty_list_says_so() -> None:
    text, blocks = build_issue_list(IssuePage([], 0, 0, 20), IssueFilter(categories=(Category.SECURITY,)))
    assert text == "No open security issues." and len(blocks) == 1


def test_detail_has_fields_timeline_and_stays_within_limits() -> None:
    issue = _issue(
        status=IssueStatus.RESOLVED, resolved_at=NOW, resolved_by="U0BOB", resolution_seconds=3900,
        resolution="Rebuilt index", root_cause="Bloat", link_url="https://shots.example.com/1.png",
        acknowledged_at=NOW, acknowledged_by="U0BOB", ack_seconds=60, assignee="U0BOB",
    )
    events = [_event(1, "opened", "Reported in Slack", "U0ALICE"), _event(2, "assigned", "Assigned to <@U0BOB> <b>")]
    events += [_event(n, summary="x" * 2000) for n in range(3, 40)] + [_event(40, summary="<!channel> look")]
    message = SlackMessage(issue_id=1, channel="C0HELP", ts="1.2")
    text, blocks = build_issue_detail(IssueTimeline(issue, events, earlier=7, message=message))
    assert check_blocks(blocks, MAX_MESSAGE_BLOCKS) == []
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert text == "#1 Issue 1 (Resolved, High)"
    assert "It &lt;breaks&gt; &amp; fails" in rendered
    assert "after 1h 5m" in rendered and "*Resolution:* Rebuilt index" in rendered and "*Root cause:* Bloat" in rendered
    assert "<https://shots.example.com/1.png|Screenshot / link>" in rendered and "Message in <#C0HELP>" in rendered
    assert "7 earlier event(s) not shown." in rendered
    assert "Assigned to <@U0BOB> &lt;b&gt;" in rendered  # our mention kept, anything else escaped
    assert "<!channel>" not in rendered and "&lt;!channel&gt;" in rendered


def test_help_lists_every_subcommand() -> None:
    text, blocks = build_help("I don't know `/issue x`.")
    assert text.startswith("I don't know `/issue x`.")
    for sub in ("new", "list", "show", "assign", "comment", "export"):
        assert f"/issue {sub}" in text


def test_home_view_is_valid_and_within_100_blocks() -> None:
    many = [_issue(n) for n in range(1, 11)]
    groups = [PriorityGroup(p, 25, [_issue(n, priority=p.value) for n in range(1, 11)]) for p in Priority]
    overview = HomeOverview(
        viewer="U0ALICE", mine=many, mine_total=12, team=groups,
        today=DayCounts(day_period(NOW.date(), timezone.utc), opened=4, resolved=2, open_now=75), generated_at=NOW,
    )
    view = build_home_view(overview)
    assert check_view(view) == [] and len(view["blocks"]) <= 100
    rendered = json.dumps(view["blocks"], ensure_ascii=False)
    assert "🆕 *4* opened" in rendered and "🟢 *2* resolved" in rendered and "📂 *75* open now" in rendered
    assert "*Your open issues* (12)" in rendered and "…and 2 more: `/issue list mine`" in rendered
    assert "*High* — 25 open" in rendered and "…and 15 more: `/issue list low`" in rendered


def test_notices_keep_mentions_but_never_broadcast() -> None:
    line = build_comment_line("U0BOB", "ping <@U0ANN|ann> and <!here> and <!subteam^S0OPS|@ops>")
    assert "<@U0ANN|ann>" in line and "<!here>" not in line and "<!subteam" not in line
    text, blocks = build_reporter_confirmation(3, "Disk <full>", "C0HELP")
    assert text == "Issue #3 is logged: Disk &lt;full&gt;"  # the notification text is mrkdwn too
    assert "Disk &lt;full&gt;" in json.dumps(blocks) and "<#C0HELP>" in json.dumps(blocks)
    assert channel_reference("#help-desk") == "#help-desk"


def test_the_issue_message_of_a_staff_report_names_the_reporter_and_has_no_auto_fix() -> None:
    issue = _issue(link_url="https://shots.example.com/9.png")
    text, blocks = build_issue_message(IssueMessageView(issue=issue))
    rendered = json.dumps(blocks, ensure_ascii=False)
    assert "*Reported by*\\n<@U0ALICE>" in rendered
    assert "📎 <https://shots.example.com/9.png|Screenshot / link>" in rendered
    actions = [e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert actions == ["issue.ack", "issue.escalate", "issue.resolve"]
