"""The issue's own message says who it is escalated to, and who took it."""

from __future__ import annotations

from tests.harness import RunningBot
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    blocks_text,
    click,
    open_issue,
    opened_view,
    submit_escalation,
    team_bot,
)


async def test_the_issue_message_shows_the_escalation(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot)
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    status, _ = await submit_escalation(bot, await opened_view(bot), "U0ALICE", note="Lag keeps growing")
    assert status == 200

    async def message_says_so() -> bool:  # the escalation runs after the modal's ack
        updates = [call for call in bot.standin.calls_to("chat.update") if call.args["ts"] == ts]
        return bool(updates) and "Escalated to *DBAs*: waiting for them to take it" in blocks_text(updates[-1].args)

    await bot.wait_until(message_says_so)
