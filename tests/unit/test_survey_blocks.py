"""Survey builders, parsing and audience rules on plain data."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from urllib.parse import unquote

import pytest

from handlers.surveys.settings import SurveyAudience, SurveySettings
from bot.config import ConfigError, OpsConfig, load_config
from handlers.slack.blockkit import MODAL_BLOCK_LIMIT, SECTION_TEXT_LIMIT
from handlers.errors import InvalidInput
from delivery.outbox import OutboxWriter
from handlers.surveys.blocks import (
    LowScoreView,
    SurveyFormView,
    SurveyRequestView,
    SurveyScores,
    build_low_score_alert,
    build_survey_form,
    build_survey_request,
    build_survey_thanks,
)
from handlers.slack.payloads import parse_click, parse_submission
from handlers.surveys.listeners import SurveyAnswer, clicked_rating
from handlers.surveys.audience import SurveyRole, is_slack_user, role_of
from handlers.surveys.service import SurveyService
from slack_standin.signing import block_actions_body, view_submission_body
from storage.models import Issue

AT = datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)


def _payload(body: str) -> dict:
    return json.loads(unquote(body.removeprefix("payload=")))


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def test_request_has_five_score_buttons_carrying_the_survey_id() -> None:
    text, blocks = build_survey_request(SurveyRequestView(41, 7, "Printer <on> fire & smoke", SurveyRole.REPORTER, "U0ALICE"))
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["action_id"] for b in buttons] == [f"survey.rate.{score}" for score in (1, 2, 3, 4, 5)]
    assert {b["value"] for b in buttons} == {"41"}
    assert blocks[1]["block_id"] == "survey.buttons"
    intro = "Your issue #7 *Printer &lt;on&gt; fire &amp; smoke* was resolved by <@U0ALICE>. How did we do?"
    assert blocks[0]["text"]["text"] == intro
    assert text == "How did we do on issue #7?"


def test_request_for_a_responder_and_as_a_reminder() -> None:
    text, blocks = build_survey_request(SurveyRequestView(1, 9, "Disk full", SurveyRole.RESPONDER, reminder=True))
    assert text.startswith("Reminder:")
    intro = "Reminder: we'd still love your feedback. Issue #9 *Disk full*, which you worked on, was resolved."
    assert blocks[0]["text"]["text"].startswith(intro)


def test_a_huge_title_stays_within_the_section_limit() -> None:
    _, blocks = build_survey_request(SurveyRequestView(1, 9, "x" * 10_000, SurveyRole.REPORTER, "U0A"))
    assert len(blocks[0]["text"]["text"]) <= SECTION_TEXT_LIMIT


def test_form_preselects_every_question_to_the_clicked_score() -> None:
    form = build_survey_form(SurveyFormView(41, 7, "VPN", preselected=3, dm_channel="D0X", dm_ts="1.2"))
    assert form["callback_id"] == "survey.submit" and form["type"] == "modal"
    assert len(form["title"]["text"]) <= 24 and len(form["submit"]["text"]) <= 24
    inputs = [b for b in form["blocks"] if b["type"] == "input"]
    assert [b["block_id"] for b in inputs] == [
        "survey.helpful", "survey.speed", "survey.professional", "survey.comment"
    ]
    for block in inputs[:3]:
        element = block["element"]
        assert element["type"] == "radio_buttons" and element["action_id"] == "score"
        assert [o["value"] for o in element["options"]] == ["5", "4", "3", "2", "1"]
        assert element["initial_option"] in element["options"] and element["initial_option"]["value"] == "3"
    assert inputs[3]["optional"] is True and inputs[3]["element"]["multiline"] is True
    assert json.loads(form["private_metadata"]) == {"survey": 41, "channel": "D0X", "ts": "1.2"}
    assert len(form["blocks"]) <= MODAL_BLOCK_LIMIT


def test_thanks_has_no_buttons_and_quotes_the_comment_escaped() -> None:
    text, blocks = build_survey_thanks(7, "VPN", SurveyScores(5, 4, 5, "great <3\nthanks"))
    assert "Thank you" in text and not [b for b in blocks if b["type"] == "actions"]
    assert blocks[-1]["text"]["text"] == "> great &lt;3\n> thanks"


def test_low_score_alert_names_issue_person_scores_and_comment() -> None:
    view = LowScoreView(7, "VPN *down*", "High", "U0BOB", SurveyRole.REPORTER, SurveyScores(1, 2, 5, "<!channel> slow"), AT, 2)
    text, blocks = build_low_score_alert(view)
    body = _texts(blocks)
    assert text == "Low satisfaction score on issue #7: 1/2/5"
    assert "issue #7" in body and "<@U0BOB>" in body and "High priority" in body
    assert "1/5" in body and "2/5" in body and "5/5" in body
    assert "&lt;!channel&gt; slow" in body and "<!channel>" not in body
    assert "<!date^" in body


def test_rating_click_and_submission_parse_slack_payloads() -> None:
    body = block_actions_body("survey.rate.4", "41", user_id="U0A", channel_id="D0X", message_ts="1.2")
    click = parse_click(_payload(body))
    assert clicked_rating(click) == (41, 4) and click.user_id == "U0A"
    assert (click.channel_id, click.message_ts) == ("D0X", "1.2")
    with pytest.raises(InvalidInput):
        clicked_rating(parse_click(_payload(block_actions_body("survey.rate.4", "41; drop", user_id="U0A"))))
    with pytest.raises(InvalidInput):
        clicked_rating(parse_click(_payload(block_actions_body("survey.rate.9", "41", user_id="U0A"))))

    radio = lambda n: {"type": "radio_buttons", "selected_option": {"value": str(n)}}  # noqa: E731
    values = {
        "survey.helpful": {"score": radio(2)},
        "survey.speed": {"score": radio(3)},
        "survey.professional": {"score": radio(4)},
        "survey.comment": {"text": "  fine  "},
    }
    metadata = json.dumps({"survey": 41, "channel": "D0X", "ts": "1.2"})
    answer = SurveyAnswer.read(parse_submission(_payload(view_submission_body("survey.submit", values, "U0A", metadata))))
    assert answer.scores == SurveyScores(2, 3, 4, "fine") and answer.scores.lowest == 2
    assert (answer.survey_id, answer.dm_channel, answer.dm_ts) == (41, "D0X", "1.2")

    values["survey.speed"] = {"score": radio(9)}
    with pytest.raises(InvalidInput):
        SurveyAnswer.read(parse_submission(_payload(view_submission_body("survey.submit", values, "U0A", metadata))))
    with pytest.raises(InvalidInput):
        SurveyAnswer.read(parse_submission(_payload(view_submission_body("survey.submit", values, "U0A", "not json"))))


def _issue(**fields: object) -> Issue:
    base: dict[str, object] = {"id": 1, "source": "alertmanager", "reported_by": "alertmanager", "title": "t"}
    base.update(fields)
    return Issue(**base)


def _service(**settings: object) -> SurveyService:
    settings_model = SurveySettings(**settings)  # type: ignore[arg-type]
    return SurveyService(None, settings_model, OutboxWriter(), managers_channel="#m")  # type: ignore[arg-type]


REPORTER, ESCALATOR, RESPONDER = SurveyRole.REPORTER, SurveyRole.ESCALATOR, SurveyRole.RESPONDER


def test_audience_is_the_reporter_of_a_staff_issue_and_whoever_escalated_it() -> None:
    issue = _issue(source="slack", reported_by="U0REP", acknowledged_by="U0A", resolved_by="U0B")
    assert _service().audience(issue) == [("U0REP", REPORTER)]
    assert _service(alert_issues="responders").audience(issue) == [("U0REP", REPORTER)]  # never the responders
    assert _service().audience(issue, ["U0A", "U0REP"]) == [("U0REP", REPORTER), ("U0A", ESCALATOR)]


def test_an_alert_issue_nobody_asked_about_gets_no_survey_by_default() -> None:
    issue = _issue(acknowledged_by="U0A", assignee="U0A", resolved_by="U0B")
    assert _service().audience(issue) == []
    assert _service().audience(issue, ["U0A"]) == [("U0A", ESCALATOR)]  # the one who called for help
    assert _service().audience(issue, ["opsbot"]) == []  # an automatic escalation helped nobody in particular


def test_responders_are_asked_about_alert_issues_only_when_configured() -> None:
    issue = _issue(acknowledged_by="U0A", assignee="U0A", resolved_by="U0B")
    assert _service(alert_issues=SurveyAudience.RESPONDERS).audience(issue) == [("U0A", RESPONDER), ("U0B", RESPONDER)]
    assert _service(alert_audience="responders").audience(issue) == [("U0A", RESPONDER), ("U0B", RESPONDER)]
    assert _service(alert_issues="responders").audience(_issue(resolved_by="alertmanager")) == []
    assert _service(alert_issues="responders").audience(issue, ["U0B"]) == [("U0B", ESCALATOR), ("U0A", RESPONDER)]
    assert is_slack_user("W0ENTERPRISE") and not is_slack_user("grafana") and not is_slack_user(None)


def test_a_sent_survey_keeps_its_role_for_reminders_and_low_scores() -> None:
    staff = _issue(source="slack", reported_by="U0REP")
    assert role_of(staff, "U0REP", ["U0REP"]) is REPORTER and role_of(staff, "U0A", ["U0A"]) is ESCALATOR
    assert role_of(_issue(), "U0B", []) is RESPONDER


def test_the_escalator_is_asked_about_the_team_they_called() -> None:
    _, blocks = build_survey_request(SurveyRequestView(3, 12, "Replica lag", ESCALATOR, "U0DBA"))
    assert blocks[0]["text"]["text"] == (
        "Issue #12 *Replica lag*, which you escalated, was resolved by <@U0DBA>. How did the team you called do?"
    )
    view = LowScoreView(12, "Replica lag", "Medium", "U0A", ESCALATOR, SurveyScores(1, 1, 1), AT, 2)
    assert "who escalated it" in _texts(build_low_score_alert(view)[1])


def test_survey_settings_read_durations_and_refuse_nonsense(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = OpsConfig.model_validate({"surveys": {"reminder_after": "1d 12h", "low_score_threshold": 3}})
    assert config.surveys.reminder_after == timedelta(hours=36) and config.surveys.low_score_threshold == 3
    assert OpsConfig().surveys.reminder_after == timedelta(hours=24) and OpsConfig().surveys.enabled
    assert OpsConfig.model_validate({"surveys": {"reminder_after": 90}}).surveys.reminder_after == timedelta(seconds=90)
    bad = tmp_path / "bad.yaml"
    bad.write_text("surveys:\n  low_score_threshold: 9\n")
    with pytest.raises(ConfigError, match="surveys.low_score_threshold"):
        load_config(bad)
    bad.write_text("surveys:\n  alert_audience: everyone\n")
    with pytest.raises(ConfigError, match="surveys.alert_audience"):
        load_config(bad)
