"""The App Home tab: the viewer's open issues, the team's open issues by priority, today's counts.

One pure builder; at most 1 + 10 + 3 × 11 + a few blocks, well within the 100 a Home tab allows.
"""

from __future__ import annotations

from typing import Any

from handlers.slack.blockkit import MODAL_BLOCK_LIMIT, button, cap_blocks, context, divider, mrkdwn_section, slack_date
from handlers.issues.command_blocks import issue_line
from handlers.issues.ids import IssueLogId
from handlers.issues.message import PRIORITY_MARKERS
from handlers.issues.queries import HomeOverview, PriorityGroup

HOME_CALLBACK_ID = "home.issue_log"


def _today(overview: HomeOverview) -> str:
    day = overview.today
    return (
        f"*Today* ({day.period.label})\n"
        f"🆕 *{day.opened}* opened   ·   🟢 *{day.resolved}* resolved   ·   📂 *{day.open_now}* open now"
    )


def _priority_blocks(group: PriorityGroup) -> list[dict[str, Any]]:
    marker = PRIORITY_MARKERS.get(group.priority.value, "⚪")
    blocks = [mrkdwn_section(f"{marker} *{group.priority.value}* — {group.count} open")]
    blocks += [mrkdwn_section(issue_line(issue)) for issue in group.newest]
    if group.count > len(group.newest) and group.newest:
        more = group.count - len(group.newest)
        blocks.append(context(f"…and {more} more: `/issue list {group.priority.value.lower()}`"))
    return blocks


def build_home_view(overview: HomeOverview) -> dict[str, Any]:
    report = button("Report an issue", IssueLogId.OPEN_NEW_ISSUE, "home", style="primary")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Issue log", "emoji": True}},
        mrkdwn_section(_today(overview), accessory=report),
        divider(),
        mrkdwn_section(f"*Your open issues* ({overview.mine_total}) — assigned to you or reported by you"),
    ]
    if overview.mine:
        blocks += [mrkdwn_section(issue_line(issue)) for issue in overview.mine]
        if overview.mine_total > len(overview.mine):
            blocks.append(context(f"…and {overview.mine_total - len(overview.mine)} more: `/issue list mine`"))
    else:
        blocks.append(context("Nothing open is yours right now."))
    blocks += [divider(), mrkdwn_section("*Team: open issues by priority*")]
    for group in overview.team:
        blocks += _priority_blocks(group)
    blocks.append(context(f"Updated {slack_date(overview.generated_at)} · `/issue help` for every command"))
    return {"type": "home", "callback_id": HOME_CALLBACK_ID, "blocks": cap_blocks(blocks, MODAL_BLOCK_LIMIT)}
