"""Walk one on-call story through a real opsbot and print the issue timelines it leaves behind.

Everything runs on 127.0.0.1: the bot (SQLite in a temp dir), the bundled Slack stand-in, requests signed
the way Slack signs them. Three alerts:

1. HighErrorRate on checkout: acknowledged, auto-fixed by a runbook, verified when the alert resolves.
2. HighErrorRate on cart: the runbook's step fails, so the issue is escalated automatically.
3. PostgresReplicationLag on db: escalated by hand to the DBAs, then resolved with a root cause.

    .venv/bin/python examples/oncall_demo.py
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from slack_standin import SlackStandIn  # noqa: E402
from slack_standin.signing import block_actions_body, view_submission_body  # noqa: E402
from sqlalchemy import select  # noqa: E402

from storage.models import RunbookRun, RunbookRunStatus  # noqa: E402
from storage.repositories.issue import IssueRepository  # noqa: E402
from tests.harness import BOT_TOKEN, RunningBot, start_bot, stop_bot, test_config  # noqa: E402

OPERATOR, RESPONDER, DBA_LEAD = "U0OLIVIA", "U0RAVI", "U0DANA"
RESTART = "import sys; print('restarting', sys.argv[1]); sys.exit(0 if sys.argv[1] == 'checkout' else 3)"


def config():  # type: ignore[no-untyped-def]
    return test_config(
        roles={"operator": [OPERATOR]},
        categories=[{"match_re": {"alertname": "Postgres.*"}, "category": "database"},
                    {"match": {"alertname": "HighErrorRate"}, "category": "application"}],
        teams={
            "dba": {"name": "DBAs", "channel": "#dba", "usergroup": "S0DBA", "categories": ["database"],
                    "on_call": {"user": DBA_LEAD}},
            "developers": {"name": "Developers", "channel": "#dev", "categories": ["application"],
                           "on_call": {"user": "U0DEVON"}},
        },
        runbooks=[{
            "id": "RB-APP-01", "title": "Restart the service", "match": {"alertname": "HighErrorRate"},
            "params": {"service": {"label": "service", "pattern": "[a-z0-9-]{1,40}"}},
            "steps": [{"kind": "command", "name": "Restart", "argv": [sys.executable, "-c", RESTART, "{{ service }}"]}],
            "root_cause": "Worker pool wedged after a deploy", "category": "application",
        }],
    )


async def fire(bot: RunningBot, title: str, service: str, status: str = "firing") -> None:
    alert = {"title": title, "dedup_key": f"{title}-{service}", "service": service, "severity": "critical",
             "status": status, "description": f"{title} on {service}"}
    await bot.post_webhook("generic", alert)
    await bot.outbox_drained()


async def click(bot: RunningBot, action: str, issue_id: int, user: str) -> None:
    await bot.post_slack(block_actions_body(action, str(issue_id), user_id=user,
                                            response_url=bot.standin.response_url(user)))


async def submit(bot: RunningBot, values: dict, user: str) -> None:
    view = (await bot.standin.wait_for("views.open", count=len(bot.standin.calls_to("views.open"))))[-1].args["view"]
    await bot.post_slack(view_submission_body(view["callback_id"], values, user_id=user,
                                              private_metadata=view["private_metadata"]))


async def settle(bot: RunningBot, runs: int = 0) -> None:
    """Wait until `runs` runbook runs have finished, then until Slack has been told everything."""

    async def finished() -> bool:
        async with bot.opsbot.sessionmaker() as session:
            statuses = (await session.execute(select(RunbookRun.status))).scalars().all()
        return len([status for status in statuses if status != RunbookRunStatus.RUNNING]) >= runs

    await bot.wait_until(finished, timeout=30)
    await bot.opsbot.autofix.wait_idle()
    await bot.outbox_drained()


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        standin = SlackStandIn(bot_token=BOT_TOKEN)
        await standin.start()
        bot = await start_bot(f"sqlite+aiosqlite:///{tmp}/demo.db", standin, config=config())
        try:
            await fire(bot, "HighErrorRate", "checkout")  # issue 1
            await click(bot, "issue.ack", 1, RESPONDER)
            await click(bot, "issue.autofix", 1, OPERATOR)
            await settle(bot, runs=1)
            await fire(bot, "HighErrorRate", "checkout", status="resolved")  # the alert itself verifies the fix

            await fire(bot, "HighErrorRate", "cart")  # issue 2: the restart fails
            await click(bot, "issue.autofix", 2, OPERATOR)
            await settle(bot, runs=2)

            await fire(bot, "PostgresReplicationLag", "db")  # issue 3
            await click(bot, "issue.ack", 3, RESPONDER)
            await click(bot, "issue.escalate", 3, RESPONDER)
            await submit(bot, {"escalation.team": {"escalation.team": {"type": "static_select", "selected_option": {"value": "dba"}}},
                               "escalation.urgency": {"escalation.urgency": {"type": "radio_buttons", "selected_option": {"value": "high"}}},
                               "escalation.note": {"escalation.note": "Lag at 40 min and growing; replica restart did not help."}},
                         RESPONDER)
            await settle(bot)
            await click(bot, "issue.resolve", 3, DBA_LEAD)
            await submit(bot, {"resolve.resolution": {"resolve.resolution": "Killed the long-running vacuum, replica caught up."},
                               "resolve.root_cause_category": {"resolve.root_cause_category": {"type": "static_select", "selected_option": {"value": "database"}}},
                               "resolve.root_cause": {"resolve.root_cause": "Manual VACUUM FULL held an exclusive lock on the primary."}},
                         DBA_LEAD)
            await settle(bot)

            async with bot.opsbot.sessionmaker() as session:
                issues = IssueRepository(session)
                for issue_id in (1, 2, 3):
                    issue = await issues.get(issue_id)
                    print(f"\n#{issue.id} {issue.title} [{issue.priority}, {issue.category}] -> {issue.status}"
                          f"; resolution: {issue.resolution!r}; root cause: {issue.root_cause!r}")
                    start = None
                    for event in await issues.list_events(issue_id):
                        start = start or event.at
                        offset = int((event.at - start).total_seconds())
                        print(f"  +{offset:>3}s  {event.actor:<14} {event.kind:<22} {event.summary}")
            posts = [c for c in standin.calls_to("chat.postMessage")]
            ws = standin.workspace  # the bot posts by id: shown by name
            channels = sorted({ws.channel_label(ws.resolve_channel(c.args["channel"])) for c in posts})
            print(f"\nSlack calls: {len(posts)} chat.postMessage, {len(standin.calls_to('chat.update'))} chat.update, "
                  f"{len(standin.calls_to('views.open'))} views.open; channels: {channels}")
        finally:
            await bot.opsbot.autofix.wait_idle()
            await stop_bot(bot)
            await standin.stop()


if __name__ == "__main__":
    asyncio.run(main())
