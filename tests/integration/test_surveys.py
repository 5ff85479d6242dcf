"""Satisfaction surveys end to end: resolve -> DM -> score button -> form -> answer stored -> managers told."""

from __future__ import annotations

import asyncio
import json
from typing import AsyncIterator

import pytest

from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import block_actions_body, view_submission_body
from slack_standin.state import RecordedCall
from storage.models import Issue, IssueEvent, IssueStatus, SurveyResponse, SurveyStatus
from storage.repositories.feedback import SurveyRepository
from tests.harness import RunningBot, fixture_json, start_bot, stop_bot, test_config

REPORTER = "U0REPORTER"
RESPONDER = "U0ALICE"


async def _staff_issue(bot: RunningBot, title: str = "VPN drops every <10> minutes") -> int:
    async with bot.opsbot.sessionmaker.begin() as session:
        issue = Issue(
            reported_at=bot.clock(),
            reported_by=REPORTER,
            source="slack",
            title=title,
            priority="Medium",
            category="infrastructure",
            status=IssueStatus.OPEN,
            channel="#help-desk",
            updated_at=bot.clock(),
        )
        session.add(issue)
        await session.flush()
        return issue.id


async def _click(bot: RunningBot, action_id: str, value: str, user: str, **extra: str) -> None:
    status, _ = await bot.post_slack(block_actions_body(action_id, value, user_id=user, **extra))
    assert status == 200


async def _resolve(bot: RunningBot, issue_id: int, user: str = RESPONDER) -> None:
    """Resolve through the issue service (the Resolve form belongs to the issue buttons); the hook is the same."""
    await bot.opsbot.issues.resolve(issue_id, user, resolution="Restarted the VPN gateway")
    await bot.outbox_drained()


def _dms(bot: RunningBot) -> list[RecordedCall]:
    return [c for c in bot.standin.calls_to("chat.postMessage") if c.response["channel"].startswith("D")]


async def _survey_dm(bot: RunningBot, user: str, count: int = 1) -> RecordedCall:
    dm_channel = bot.standin.workspace.open_dm(user)
    found = await bot.standin.wait_for(
        "chat.postMessage", count=count, where=lambda c: c.response["channel"] == dm_channel
    )
    return found[-1]


def _buttons(call: RecordedCall) -> list[dict]:
    return [e for b in call.args["blocks"] if b["type"] == "actions" for e in b["elements"]]


def _radio(score: int) -> dict:
    return {"type": "radio_buttons", "selected_option": {"value": str(score)}}


def _answers(helpful: int, speed: int, professional: int, comment: str | None = None) -> dict:
    values: dict = {
        "survey.helpful": {"score": _radio(helpful)},
        "survey.speed": {"score": _radio(speed)},
        "survey.professional": {"score": _radio(professional)},
    }
    values["survey.comment"] = {"text": {"type": "plain_text_input", "value": comment}}
    return values


async def _open_form(bot: RunningBot, dm: RecordedCall, user: str, score: int) -> dict:
    button = next(b for b in _buttons(dm) if b["action_id"] == f"survey.rate.{score}")
    before = len(bot.standin.calls_to("views.open"))
    await _click(
        bot, button["action_id"], button["value"], user,
        channel_id=dm.response["channel"], message_ts=dm.response["ts"], response_url=bot.standin.response_url("dm"),
    )
    opened = await bot.standin.wait_for("views.open", count=before + 1)
    return opened[-1].args["view"]


async def _submit(bot: RunningBot, form: dict, user: str, answers: dict) -> None:
    body = view_submission_body("survey.submit", answers, user_id=user, private_metadata=form["private_metadata"])
    status, _ = await bot.post_slack(body)
    assert status == 200


async def _surveys(bot: RunningBot) -> list[SurveyResponse]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(SurveyResponse).order_by(SurveyResponse.id))).scalars())


async def _event_kinds(bot: RunningBot, issue_id: int) -> list[str]:
    async with bot.opsbot.sessionmaker() as session:
        query = select(IssueEvent.kind).where(IssueEvent.issue_id == issue_id).order_by(IssueEvent.id)
        return list((await session.execute(query)).scalars())


async def test_reporter_answers_in_two_clicks_and_a_low_score_reaches_managers(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)

    dm = await _survey_dm(bot, REPORTER)
    intro = f"Your issue #{issue_id} *VPN drops every &lt;10&gt; minutes* was resolved by <@{RESPONDER}>"
    assert intro in json.dumps(dm.args["blocks"])
    assert [b["action_id"] for b in _buttons(dm)] == [f"survey.rate.{n}" for n in range(1, 6)]

    form = await _open_form(bot, dm, REPORTER, score=2)  # click one
    radios = [b["element"] for b in form["blocks"] if b["type"] == "input" and b["element"]["type"] == "radio_buttons"]
    assert len(radios) == 3 and all(r["initial_option"]["value"] == "2" for r in radios)
    assert form["callback_id"] == "survey.submit" and len(form["title"]["text"]) <= 24

    await _submit(bot, form, REPORTER, _answers(2, 1, 3, "Took <forever> & a day"))  # click two
    managers = await bot.standin.wait_for("chat.postMessage", where=lambda c: bot.standin.same_channel(c.args["channel"], "#ops-managers"))
    alert = json.dumps(managers[0].args["blocks"])
    assert f"issue #{issue_id}" in alert and f"<@{REPORTER}>" in alert
    assert "1/5" in alert and "2/5" in alert and "3/5" in alert
    assert "Took &lt;forever&gt; &amp; a day" in alert

    [update] = await bot.standin.wait_for("chat.update", where=lambda c: c.args["channel"] == dm.response["channel"])
    assert update.args["ts"] == dm.response["ts"] and "Thank you" in update.args["text"]
    assert not [b for b in update.args["blocks"] if b["type"] == "actions"]

    [survey] = await _surveys(bot)
    assert (survey.status, survey.helpful, survey.speed, survey.professional) == (SurveyStatus.ANSWERED, 2, 1, 3)
    assert survey.comment == "Took <forever> & a day" and survey.answered_at is not None
    kinds = await _event_kinds(bot, issue_id)
    assert kinds.index("resolved") < kinds.index("survey_sent") < kinds.index("survey_answered")


async def test_a_second_answer_is_refused(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    dm = await _survey_dm(bot, REPORTER)
    first = await _open_form(bot, dm, REPORTER, score=5)
    second = await _open_form(bot, dm, REPORTER, score=4)  # a second form opened before answering

    await _submit(bot, first, REPORTER, _answers(5, 5, 5))
    await bot.standin.wait_for("chat.update")
    await _submit(bot, second, REPORTER, _answers(1, 1, 1))
    [refusal] = await bot.standin.wait_for("chat.postEphemeral")
    assert refusal.args["user"] == REPORTER and "already answered" in refusal.args["text"]

    await _click(
        bot, "survey.rate.3", str((await _surveys(bot))[0].id), REPORTER,
        channel_id=dm.response["channel"], message_ts=dm.response["ts"], response_url=bot.standin.response_url("again"),
    )
    [reply] = await bot.standin.wait_for("response_url")
    assert "already answered" in reply.args["text"]

    [survey] = await _surveys(bot)
    assert (survey.helpful, survey.speed, survey.professional) == (5, 5, 5)
    await bot.outbox_drained()
    assert not [c for c in bot.standin.calls_to("chat.postMessage") if bot.standin.same_channel(c.args["channel"], "#ops-managers")]
    assert (await _event_kinds(bot, issue_id)).count("survey_answered") == 1


async def test_someone_else_cannot_answer_a_survey(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    dm = await _survey_dm(bot, REPORTER)
    button = _buttons(dm)[4]
    await _click(bot, button["action_id"], button["value"], "U0MALLORY", response_url=bot.standin.response_url("m"))
    [reply] = await bot.standin.wait_for("response_url")
    assert "sent to someone else" in reply.args["text"]
    assert not bot.standin.calls_to("views.open")


@pytest.fixture
async def responders_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    """`surveys.alert_issues: responders`: alert issues nobody asked about survey their responders."""
    running = await start_bot(database_url, standin, config=test_config(surveys={"alert_issues": "responders"}))
    yield running
    await stop_bot(running)


async def test_alert_issue_asks_the_responders_who_are_slack_users_when_configured(responders_bot: RunningBot) -> None:
    bot = responders_bot
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
    await bot.standin.wait_for("chat.postMessage")
    await _click(bot, "issue.ack", "1", RESPONDER, response_url=bot.standin.response_url("ack"))
    await bot.standin.wait_for("chat.update")
    await _resolve(bot, 1, user="U0BOB")

    await _survey_dm(bot, RESPONDER)
    dm = await _survey_dm(bot, "U0BOB")
    assert "which you worked on, was resolved" in json.dumps(dm.args["blocks"])
    assert sorted(s.user_id for s in await _surveys(bot)) == ["U0ALICE", "U0BOB"]
    assert len(_dms(bot)) == 2

    form = await _open_form(bot, dm, "U0BOB", score=4)
    await _submit(bot, form, "U0BOB", _answers(4, 3, 4))
    await bot.standin.wait_for("chat.update", count=2)
    await bot.outbox_drained()
    assert not [c for c in bot.standin.calls_to("chat.postMessage") if bot.standin.same_channel(c.args["channel"], "#ops-managers")]


async def test_an_issue_resolved_by_its_alert_without_people_sends_no_survey(bot: RunningBot) -> None:
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_firing.json"))
    await bot.standin.wait_for("chat.postMessage", count=2)
    await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_resolved.json"))
    await bot.outbox_drained()
    assert await _surveys(bot) == [] and _dms(bot) == []


async def test_a_reopened_issue_gets_no_answer_and_no_reminder(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    dm = await _survey_dm(bot, REPORTER)
    await _click(bot, "issue.reopen", str(issue_id), RESPONDER, response_url=bot.standin.response_url("reopen"))
    await bot.wait_until(lambda: _status_is(bot, SurveyStatus.CANCELLED))

    button = _buttons(dm)[0]
    await _click(
        bot, button["action_id"], button["value"], REPORTER,
        channel_id=dm.response["channel"], message_ts=dm.response["ts"], response_url=bot.standin.response_url("late"),
    )
    [reply] = await bot.standin.wait_for("response_url", where=lambda c: c.path.endswith("/late"))
    assert "was reopened" in reply.args["text"]

    bot.clock.advance(hours=48)
    assert await bot.opsbot.surveys.send_due_reminders() == 0
    await bot.opsbot.scheduler.run_all_once()
    await bot.outbox_drained()
    assert len(_dms(bot)) == 1
    assert "survey_cancelled" in await _event_kinds(bot, issue_id)


async def test_the_form_of_an_issue_reopened_meanwhile_is_refused(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    dm = await _survey_dm(bot, REPORTER)
    form = await _open_form(bot, dm, REPORTER, score=1)
    await _click(bot, "issue.reopen", str(issue_id), RESPONDER, response_url=bot.standin.response_url("reopen"))
    await bot.wait_until(lambda: _status_is(bot, SurveyStatus.CANCELLED))

    await _submit(bot, form, REPORTER, _answers(1, 1, 1))
    [refusal] = await bot.standin.wait_for("chat.postEphemeral")
    assert "was reopened" in refusal.args["text"]
    [survey] = await _surveys(bot)
    assert survey.status == SurveyStatus.CANCELLED and survey.helpful is None


async def test_resolving_again_after_a_reopen_asks_again(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    await _survey_dm(bot, REPORTER)
    await _click(bot, "issue.reopen", str(issue_id), RESPONDER, response_url=bot.standin.response_url("reopen"))
    await bot.wait_until(lambda: _status_is(bot, SurveyStatus.CANCELLED))
    await _resolve(bot, issue_id)
    await _survey_dm(bot, REPORTER, count=2)
    [survey] = await _surveys(bot)
    assert survey.status == SurveyStatus.PENDING and survey.reminder_sent_at is None


async def test_exactly_one_reminder_after_the_configured_delay(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    await _resolve(bot, issue_id)
    await _survey_dm(bot, REPORTER)

    bot.clock.advance(hours=23)
    await bot.opsbot.scheduler.run_all_once()
    await bot.outbox_drained()
    assert len(_dms(bot)) == 1

    bot.clock.advance(hours=2)
    sent = await asyncio.gather(*(bot.opsbot.surveys.send_due_reminders() for _ in range(3)))
    assert sum(sent) == 1
    await bot.opsbot.scheduler.run_all_once()
    reminder = await _survey_dm(bot, REPORTER, count=2)
    await bot.outbox_drained()
    assert len(_dms(bot)) == 2
    assert reminder.args["text"].startswith("Reminder:")
    assert [b["action_id"] for b in _buttons(reminder)][0] == "survey.rate.1"
    assert (await _event_kinds(bot, issue_id)).count("survey_reminded") == 1

    form = await _open_form(bot, reminder, REPORTER, score=5)  # the reminder's buttons answer the same survey
    await _submit(bot, form, REPORTER, _answers(5, 4, 5))
    await bot.wait_until(lambda: _status_is(bot, SurveyStatus.ANSWERED))


async def _status_is(bot: RunningBot, status: SurveyStatus) -> bool:
    return [s.status for s in await _surveys(bot)] == [status]


async def test_a_duplicate_survey_insert_leaves_the_resolving_transaction_usable(bot: RunningBot) -> None:
    issue_id = await _staff_issue(bot)
    async with bot.opsbot.sessionmaker.begin() as session:
        session.add(SurveyResponse(issue_id=issue_id, user_id=REPORTER, sent_at=bot.clock()))
    async with bot.opsbot.sessionmaker.begin() as session:
        surveys = SurveyRepository(session)
        assert await surveys.add(SurveyResponse(issue_id=issue_id, user_id=REPORTER, sent_at=bot.clock())) is None
        assert await surveys.add(SurveyResponse(issue_id=issue_id, user_id="U0OTHER", sent_at=bot.clock()))
    assert sorted(s.user_id for s in await _surveys(bot)) == ["U0OTHER", REPORTER]
