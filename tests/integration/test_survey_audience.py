"""Surveys go to the people who were helped: the asker of a question turned ticket, whoever escalated an
alert issue; never the responders about their own work, unless the config asks for it."""

from __future__ import annotations

import json

from sqlalchemy import select

from slack_standin.signing import view_submission_body
from storage.models import IssueEvent, SurveyResponse
from tests.harness import RunningBot
from tests.integration.escalation_support import (  # noqa: F401 - team_bot is a fixture
    click,
    open_issue,
    opened_view,
    submit_escalation,
    team_bot,
)
from tests.integration.questions_support import ALICE, button, dm, posts_to
from tests.integration.questions_support import click as click_answer
from tests.integration.test_issue_triage import disk_space_low
from tests.integration.test_questions_tickets import submitted_values
from tests.integration.test_surveys import _answers, _dms, _open_form, _submit, _survey_dm

RESPONDER, ESCALATOR, DBA = "U0CAROL", "U0BOB", "U0DBA1"


async def _surveys(bot: RunningBot) -> list[SurveyResponse]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(SurveyResponse).order_by(SurveyResponse.id))).scalars())


async def _survey_events(bot: RunningBot, issue_id: int) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent).where(IssueEvent.issue_id == issue_id, IssueEvent.kind == "survey_sent")
        return list((await session.execute(query)).scalars())


async def test_an_alert_issue_nobody_asked_about_surveys_nobody(bot: RunningBot) -> None:
    issue_id, ts = await open_issue(bot, disk_space_low())
    assert await click(bot, "issue.ack", issue_id, RESPONDER, ts=ts) == 200
    await bot.standin.wait_for("chat.update")
    await bot.opsbot.issues.resolve(issue_id, RESPONDER, resolution="Cleared old logs")
    await bot.outbox_drained()
    assert await _surveys(bot) == [] and _dms(bot) == []  # the responder is not asked to rate their own work
    assert await _survey_events(bot, issue_id) == []


async def test_the_person_who_escalated_is_asked_and_the_team_is_not(team_bot: RunningBot) -> None:
    bot = team_bot
    issue_id, ts = await open_issue(bot, disk_space_low())
    assert await click(bot, "issue.ack", issue_id, ESCALATOR, ts=ts) == 200
    assert await click(bot, "issue.escalate", issue_id, ESCALATOR, ts=ts, reply_to="esc") == 200
    status, _ = await submit_escalation(bot, await opened_view(bot), ESCALATOR, team="dba")
    assert status == 200
    await bot.outbox_drained()
    await bot.opsbot.issues.resolve(issue_id, DBA, resolution="Moved the WAL archive to its own volume")
    await bot.outbox_drained()

    survey_dm = await _survey_dm(bot, ESCALATOR)
    intro = json.dumps(survey_dm.args["blocks"], ensure_ascii=False)
    assert "which you escalated, was resolved by <@U0DBA1>. How did the team you called do?" in intro
    assert [(s.user_id, s.issue_id) for s in await _surveys(bot)] == [(ESCALATOR, issue_id)]
    assert not [call for call in _dms(bot) if call.args["channel"] == bot.standin.workspace.open_dm(DBA)
                and "How did" in call.args["text"]]  # the DBA who fixed it is not surveyed about it
    [sent] = await _survey_events(bot, issue_id)
    assert sent.detail["role"] == "escalator"

    form = await _open_form(bot, survey_dm, ESCALATOR, score=1)
    await _submit(bot, form, ESCALATOR, _answers(1, 2, 2, "Took the DBAs an hour to answer"))
    [low] = await bot.standin.wait_for("chat.postMessage", where=lambda c: "Low satisfaction" in c.args["text"])
    assert f"From <@{ESCALATOR}>, who escalated it" in json.dumps(low.args["blocks"], ensure_ascii=False)


async def test_the_asker_of_a_question_turned_ticket_is_asked(bot: RunningBot) -> None:
    event = await dm(bot, "disk is full on the db server")
    [answer] = await posts_to(bot, event["channel"])
    await click_answer(bot, button(answer.args["blocks"], "kb.ticket"), reply="ticket")
    [opened] = await bot.standin.wait_for("views.open")
    view = opened.args["view"]
    body = view_submission_body(view["callback_id"], submitted_values(view), user_id=ALICE,
                                private_metadata=view["private_metadata"])
    assert (await bot.post_slack(body))[0] == 200
    [post] = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#help-desk"))
    await bot.outbox_drained()
    [ticket] = [e for e in await _events(bot) if e.kind == "kb_question"]

    await bot.opsbot.issues.resolve(ticket.issue_id, RESPONDER, resolution="Rotated the Postgres logs")
    asker = bot.standin.workspace.open_dm(ALICE)
    [survey_dm] = await bot.standin.wait_for(
        "chat.postMessage", where=lambda c: c.response["channel"] == asker and "How did we do" in c.args["text"]
    )
    assert f"Your issue #{ticket.issue_id}" in json.dumps(survey_dm.args["blocks"], ensure_ascii=False)
    assert [(s.user_id, s.issue_id) for s in await _surveys(bot)] == [(ALICE, ticket.issue_id)]


async def _events(bot: RunningBot) -> list[IssueEvent]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(IssueEvent).order_by(IssueEvent.id))).scalars())
