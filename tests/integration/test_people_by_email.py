"""People by email: roles, rotas and escalation levels may name a person by email; Slack's user id is
looked up once (users.lookupByEmail) at start-up, and an email nobody has is named in one warning."""

from __future__ import annotations

import copy
import logging
from typing import Any

import pytest

from handlers.roles import Role
from slack_standin import SlackStandIn
from tests.harness import start_bot, stop_bot, test_config
from tests.integration.escalation_support import TEAMS, click, open_issue, opened_view, submit_escalation, wait_post


def email(user_id: str) -> str:
    return f"user-{user_id.lower()}@opsbot.local"  # the stand-in's address for a person it knows


def teams_by_email() -> dict[str, Any]:
    teams = copy.deepcopy(TEAMS)
    dba = teams["dba"]
    dba["on_call"]["rota"] = [email(user) for user in dba["on_call"]["rota"]]
    dba["levels"][0]["users"] = [email("U0LEAD")]
    teams["developers"]["on_call"] = {"user": email("U0DEV")}
    return teams


async def test_roles_name_people_by_email(sqlite_url: str, standin: SlackStandIn, caplog: pytest.LogCaptureFixture) -> None:
    roles = {"admin": [email("U0BOSS"), "nobody@example.com"], "manager": [email("U0BOSS"), "U0CAROL"]}
    with caplog.at_level(logging.WARNING, logger="handlers.people"):
        bot = await start_bot(sqlite_url, standin, config=test_config(roles=roles))
    try:
        checker = bot.opsbot.roles
        assert await checker.has("U0BOSS", Role.ADMIN) and await checker.has("U0BOSS", Role.MANAGER)
        assert await checker.has("U0CAROL", Role.MANAGER) and not await checker.has("U0CAROL", Role.ADMIN)
        assert checker.members(Role.ADMIN) == ["U0BOSS", "nobody@example.com"]  # the unknown one matches nobody
        looked_up = sorted(call.args["email"] for call in standin.calls_to("users.lookupByEmail", include_failed=True))
        assert looked_up == sorted([email("U0BOSS"), "nobody@example.com"])  # once each: cached
        [warning] = [r.getMessage() for r in caplog.records if r.name == "handlers.people"]
        assert "nobody@example.com" in warning
    finally:
        await stop_bot(bot)


async def test_rotas_and_escalation_levels_name_people_by_email(sqlite_url: str, standin: SlackStandIn) -> None:
    bot = await start_bot(sqlite_url, standin, config=test_config(teams=teams_by_email()))
    try:
        issue_id, ts = await open_issue(bot)
        await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
        await submit_escalation(bot, await opened_view(bot), "U0ALICE", note="Lag growing")
        [team_post] = await wait_post(bot, "#dba")
        assert "<@U0DBA" in team_post.args["text"] + str(team_post.args.get("blocks"))  # the rota's person, by id

        bot.clock.advance(minutes=16)
        await bot.opsbot.scheduler.run_all_once()
        [lead_dm] = await wait_post(bot, "U0LEAD")  # level 2 named the lead by email
        assert "Level 2 (team lead) for DBAs" in lead_dm.args["blocks"][0]["text"]["text"]
    finally:
        await stop_bot(bot)
