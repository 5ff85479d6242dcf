"""The App Home tab: published on app_home_opened with the viewer's issues, the team's by priority and today's counts."""

from __future__ import annotations

import json

from core.vocabulary import Category, Priority
from handlers.issues.log import NewIssue
from slack_standin.signing import block_actions_body, event_body
from tests.harness import RunningBot, fixture_json
from tests.integration.test_issue_commands import ALICE, BOB, CAROL


def _home_opened(user: str, tab: str = "home") -> str:
    return event_body({"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab, "event_ts": "1.2"})


def _texts(view: dict) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


async def test_home_tab_shows_my_issues_the_team_by_priority_and_todays_counts(bot: RunningBot) -> None:
    log = bot.opsbot.issues
    bot.clock.advance(days=-1)
    yesterday = await log.report(NewIssue("Yesterday's VPN issue", "", Priority.MEDIUM, Category.INFRASTRUCTURE), CAROL)
    bot.clock.advance(days=1)
    mine_high = await log.report(NewIssue("Payroll export fails", "", Priority.HIGH, Category.APPLICATION), ALICE)
    await log.report(NewIssue("Typo on the login page", "", Priority.LOW, Category.APPLICATION), ALICE)
    given = await log.report(NewIssue("Backup alerts flapping", "", Priority.MEDIUM, Category.DATABASE), BOB)
    await log.assign(given.issue_id, ALICE, BOB)
    done = await log.report(NewIssue("Printer offline", "", Priority.HIGH, Category.OTHER), CAROL)
    await bot.opsbot.issues.resolve(done.issue_id, BOB)
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))

    assert (await bot.post_slack(_home_opened(ALICE, tab="messages"), content_type="application/json"))[0] == 200
    assert (await bot.post_slack(_home_opened(ALICE), content_type="application/json"))[0] == 200
    [published] = await bot.standin.wait_for("views.publish")
    assert published.args["user_id"] == ALICE
    view = published.args["view"]
    assert view["type"] == "home" and len(view["blocks"]) <= 100
    text = _texts(view)

    assert "🆕 *5* opened" in text and "🟢 *1* resolved" in text and "📂 *5* open now" in text
    assert "*Your open issues* (3)" in text
    mine = text[text.index("*Your open issues*"):text.index("*Team: open issues by priority*")]
    assert f"#{mine_high.issue_id}* Payroll export fails" in mine and "Backup alerts flapping" in mine
    assert "Typo on the login page" in mine and "Printer offline" not in mine and "VPN" not in mine
    team = text[text.index("*Team: open issues by priority*"):]
    assert "*High* — 1 open" in team and "*Medium* — 3 open" in team and "*Low* — 1 open" in team
    assert "Yesterday's VPN issue" in team and f"#{yesterday.issue_id}*" in team
    [report_button] = [b["accessory"] for b in view["blocks"] if b.get("accessory")]
    assert report_button["action_id"] == "issue_log.open_new"

    click = block_actions_body("issue_log.open_new", "home", user_id=ALICE, response_url=bot.standin.response_url())
    assert (await bot.post_slack(click))[0] == 200
    [opened] = await bot.standin.wait_for("views.open")
    assert opened.args["view"]["callback_id"] == "issue_log.new"
    assert len(bot.standin.calls_to("views.publish")) == 1  # the Messages tab needs no view


async def test_home_tab_for_someone_with_nothing_open(bot: RunningBot) -> None:
    assert (await bot.post_slack(_home_opened(CAROL), content_type="application/json"))[0] == 200
    [published] = await bot.standin.wait_for("views.publish")
    text = _texts(published.args["view"])
    assert "*Your open issues* (0)" in text and "Nothing open is yours right now." in text
    assert "🆕 *0* opened" in text and "*High* — 0 open" in text
