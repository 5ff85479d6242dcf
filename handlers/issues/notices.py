"""The short Slack texts the issue log sends through the outbox: thread lines and direct messages.

Pure functions, like every builder. People's own words are passed through as Slack sent them (so
their mentions and links keep working) except for broadcasts: a comment must never ping @channel.
"""

from __future__ import annotations

import re
from typing import Any

from handlers.slack.blockkit import SECTION_TEXT_LIMIT, context, escape, mrkdwn_section, truncate

_BROADCAST = re.compile(r"<!(channel|here|everyone|subteam\^[A-Z0-9]+)(\|[^>]*)?>", re.I)
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


def quiet_user_text(text: str) -> str:
    """Slack-formatted text from a person, with @channel/@here/@everyone/@group shown but not sent."""
    return _BROADCAST.sub(lambda m: "&lt;!" + m.group(0)[2:-1] + "&gt;", text)


def channel_reference(channel: str) -> str:
    """A channel id becomes a live link; a configured name ("#help-desk") stays as written."""
    return f"<#{channel}>" if _CHANNEL_ID.match(channel) else escape(channel)


def build_comment_line(actor: str, text: str) -> str:
    return truncate(f"💬 <@{actor}>: {quiet_user_text(text)}", SECTION_TEXT_LIMIT)


def build_assigned_line(actor: str, assignee: str) -> str:
    if actor == assignee:
        return f"👤 <@{actor}> took this issue."
    return f"👤 <@{actor}> assigned this issue to <@{assignee}>."


def build_assignee_message(issue_id: int, title: str, actor: str) -> tuple[str, list[dict[str, Any]]]:
    text = f"<@{actor}> assigned you issue #{issue_id}: {escape(truncate(title, 200))}"
    blocks = [
        mrkdwn_section(f"👤 <@{actor}> assigned you *issue #{issue_id}*: {escape(truncate(title, 300))}"),
        context(f"See it with `/issue show {issue_id}`; comment with `/issue comment {issue_id} …`"),
    ]
    return truncate(text, SECTION_TEXT_LIMIT), blocks


def build_reporter_confirmation(issue_id: int, title: str, channel: str) -> tuple[str, list[dict[str, Any]]]:
    text = f"Issue #{issue_id} is logged: {escape(truncate(title, 200))}"
    blocks = [
        mrkdwn_section(
            f"✅ Thanks — *issue #{issue_id}* is logged: {escape(truncate(title, 300))}\n"
            f"The team sees it in {channel_reference(channel)}."
        ),
        context(f"Follow it with `/issue show {issue_id}`; add details with `/issue comment {issue_id} …`"),
    ]
    return truncate(text, SECTION_TEXT_LIMIT), blocks
