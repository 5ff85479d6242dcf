"""Silence and snooze: matchers, the allow-list, the message's lines and controls, the custom modal and its answers."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from handlers.silences.blocks import (
    ActiveSilence,
    ActiveSnooze,
    CustomSilenceForm,
    IssueHolds,
    build_custom_silence_modal,
    build_hold_blocks,
    build_silenced_line,
    build_snooze_over_line,
)
from handlers.silences.ids import HOLDS_BLOCK_ID, HoldAction, SilenceModal
from handlers.silences.listeners import CustomSilence, read_choice
from handlers.silences.matchers import build_matchers, describe_matchers
from handlers.silences.service import created_by, silence_comment
from handlers.silences.settings import AlertmanagerSettings, normalize_url
from handlers.slack.metadata import ModalMetadata
from handlers.slack.payloads import FormValues, Submission, parse_click
from slack_standin.signing import block_actions_body
from slack_standin.validation import check_message, check_view
from urllib.parse import unquote

AT = datetime(2026, 11, 22, 14, 0, tzinfo=timezone.utc)


def _exact(name: str, value: str) -> dict[str, object]:
    return {"name": name, "value": value, "isRegex": False, "isEqual": True}


# -- matchers -----------------------------------------------------------------------------------


def test_one_alert_is_silenced_on_every_label_alertname_first() -> None:
    labels = {"severity": "warning", "instance": "db-1:9100", "alertname": "DiskFull", "job": "node"}
    assert build_matchers([labels]) == [
        _exact("alertname", "DiskFull"), _exact("instance", "db-1:9100"), _exact("job", "node"), _exact("severity", "warning"),
    ]


def test_a_group_is_silenced_on_the_labels_its_alerts_share() -> None:
    group = [
        {"alertname": "NodeDown", "job": "node", "instance": "web-1", "env": "prod"},
        {"alertname": "NodeDown", "job": "node", "instance": "web-2", "env": "prod"},
        {"alertname": "NodeDown", "job": "node", "instance": "web-3", "env": "staging"},
    ]
    assert build_matchers(group) == [_exact("alertname", "NodeDown"), _exact("job", "node")]


def test_empty_values_are_left_out_and_nothing_shared_means_no_matchers() -> None:
    assert build_matchers([{"alertname": "X", "team": ""}]) == [_exact("alertname", "X")]
    assert build_matchers([{"a": "1"}, {"b": "2"}]) == []
    assert build_matchers([]) == []


def test_matchers_read_as_alertmanager_writes_them() -> None:
    shown = describe_matchers([_exact("alertname", "X"), _exact("path", 'C:\\"tmp"')])
    assert shown == 'alertname="X", path="C:\\\\\\"tmp\\""'


# -- which Alertmanagers opsbot may call ----------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "normalized"),
    [
        ("HTTP://AM.Example.com:80/", "http://am.example.com"),
        ("https://am.example.com:443/alertmanager/", "https://am.example.com/alertmanager"),
        ("http://127.0.0.1:9093", "http://127.0.0.1:9093"),
        ("http://[::1]:9093/", "http://[::1]:9093"),
        ("http://user:pw@am.example.com", None),
        ("http://am.example.com/?x=1", None),
        ("http://am.example.com/#/silences", None),
        ("file:///etc/passwd", None),
        ("gopher://am", None),
        ("http://am:99999", None),
        ("", None),
        (None, None),
    ],
)
def test_urls_are_compared_once_normalised(given: str | None, normalized: str | None) -> None:
    assert normalize_url(given) == normalized


def test_only_listed_alertmanagers_are_called_at_the_address_the_config_gives() -> None:
    settings = AlertmanagerSettings.model_validate(
        {"urls": ["http://127.0.0.1:9093/", {"url": "http://localhost:9093", "api_url": "http://alertmanager:9093"}]}
    )
    assert settings.api_url_for("http://127.0.0.1:9093") == "http://127.0.0.1:9093"
    assert settings.api_url_for("HTTP://LOCALHOST:9093/") == "http://alertmanager:9093"
    assert settings.api_url_for("http://169.254.169.254/latest") is None
    assert settings.api_url_for("http://127.0.0.1:9093@evil.example.com") is None
    assert settings.api_url_for(None) is None
    assert AlertmanagerSettings().api_url_for("http://127.0.0.1:9093") is None  # nothing listed: nothing called


def test_a_listed_url_must_be_plain_http() -> None:
    with pytest.raises(ValueError):
        AlertmanagerSettings.model_validate({"urls": ["ftp://am.example.com"]})
    with pytest.raises(ValueError):
        AlertmanagerSettings.model_validate({"urls": [{"url": "http://am", "api_url": "http://u:p@am"}]})


def test_created_by_and_comment_name_the_person_and_the_issue() -> None:
    assert created_by("U0BOB", "bob") == "bob (Slack U0BOB)"
    assert created_by("U0BOB", None) == "Slack user U0BOB"
    comment = silence_comment(42, "Disk full", "https://x.slack.com/archives/C1/p1", "disk swap tonight")
    assert comment == "opsbot issue #42: Disk full https://x.slack.com/archives/C1/p1\ndisk swap tonight"
    assert len(silence_comment(1, "t" * 5000, None, "")) == 2000


# -- the message's lines and controls -------------------------------------------------------------


def _texts(blocks: list[dict]) -> str:
    return json.dumps(blocks, ensure_ascii=False)


def _valid(blocks: list[dict]) -> None:
    assert check_message({"text": "x", "blocks": blocks}) is None


def test_an_open_alertmanager_issue_offers_silence_and_snooze_menus() -> None:
    blocks = build_hold_blocks(IssueHolds(42, silenceable=True, snoozable=True))
    _valid(blocks)
    [controls] = blocks
    assert controls["block_id"] == HOLDS_BLOCK_ID
    silence, snooze = controls["elements"]
    assert silence["type"] == snooze["type"] == "static_select"
    assert silence["action_id"] == HoldAction.SILENCE and snooze["action_id"] == HoldAction.SNOOZE
    assert [o["value"] for o in silence["options"]] == ["42:1h", "42:4h", "42:24h", "42:custom"]
    assert [o["value"] for o in snooze["options"]] == ["42:1h", "42:4h", "42:24h"]


def test_other_alerts_offer_snooze_only_and_nothing_is_offered_on_a_closed_issue() -> None:
    [controls] = build_hold_blocks(IssueHolds(7, snoozable=True))
    assert [e["action_id"] for e in controls["elements"]] == [HoldAction.SNOOZE]
    assert build_hold_blocks(IssueHolds(7)) == []
    assert build_hold_blocks(None) == []


def test_a_silence_and_a_snooze_show_until_when_and_by_whom_with_their_way_back() -> None:
    holds = IssueHolds(
        42, silenceable=True, snoozable=True,
        silence=ActiveSilence(AT, AT + timedelta(hours=4), "U0BOB"),
        snooze=ActiveSnooze(AT, AT + timedelta(hours=24), "U0CAROL"),
    )
    blocks = build_hold_blocks(holds)
    _valid(blocks)
    lines, controls = blocks
    silenced, snoozed = (element["text"] for element in lines["elements"])
    end = int((AT + timedelta(hours=4)).timestamp())
    assert silenced.startswith("🔕 Silenced in Alertmanager until ") and f"<!date^{end}^{{time}}|" in silenced
    assert silenced.endswith("by <@U0BOB>")
    assert "{date_short_pretty} {time}" in snoozed and "<@U0CAROL>" in snoozed  # 24h: the date too
    assert [(e["type"], e["action_id"], e["value"]) for e in controls["elements"]] == [
        ("button", HoldAction.LIFT, "42"), ("button", HoldAction.END_SNOOZE, "42"),
    ]


def test_a_silence_on_a_resolved_issue_can_still_be_lifted() -> None:
    lines, controls = build_hold_blocks(IssueHolds(3, silence=ActiveSilence(AT, AT + timedelta(hours=1), "alertmanager")))
    assert "by alertmanager" in _texts([lines])
    assert [e["action_id"] for e in controls["elements"]] == [HoldAction.LIFT]


def test_thread_lines_escape_what_alerts_carry() -> None:
    line = build_silenced_line("U0BOB", ActiveSilence(AT, AT + timedelta(hours=1), "U0BOB"),
                               [_exact("alertname", "<!channel> & co")])
    assert "<!channel>" not in line and "&lt;!channel&gt; &amp; co" in line and line.startswith("🔕 <@U0BOB> silenced")
    over = build_snooze_over_line(ActiveSnooze(AT, AT + timedelta(hours=1), "U0BOB"), firing=2)
    assert over.startswith("⏰ Snooze over") and "2 alert(s) still firing" in over


# -- the custom modal -----------------------------------------------------------------------------


def test_the_custom_modal_shows_what_it_will_silence_and_slack_accepts_it() -> None:
    matchers = [_exact("alertname", "DiskFull"), _exact("instance", "db-1 <x>")]
    view = build_custom_silence_modal(
        CustomSilenceForm(42, "Disk <almost> full", matchers, "http://127.0.0.1:9093", '{"issue": 42}')
    )
    assert check_view(view) == []
    assert view["callback_id"] == SilenceModal.CALLBACK and view["private_metadata"] == '{"issue": 42}'
    text = _texts(view["blocks"])
    assert "Disk &lt;almost&gt; full" in text and 'instance=\\"db-1 &lt;x&gt;\\"' in text
    inputs = {b["block_id"]: b for b in view["blocks"] if b["type"] == "input"}
    assert set(inputs) == {SilenceModal.DURATION, SilenceModal.COMMENT} and inputs[SilenceModal.COMMENT]["optional"]


def _answers(duration: str, comment: str = "", issue: object = 42) -> CustomSilence:
    values = FormValues({
        SilenceModal.DURATION: {SilenceModal.DURATION: {"type": "plain_text_input", "value": duration}},
        SilenceModal.COMMENT: {SilenceModal.COMMENT: {"type": "plain_text_input", "value": comment}},
    })
    return CustomSilence.read(Submission(SilenceModal.CALLBACK, "U0BOB", values, ModalMetadata({"issue": issue})))


@pytest.mark.parametrize(
    ("typed", "minutes"), [("90m", 90), ("2h", 120), ("1d 12h", 2160), ("3d", 4320), (" 45 min ", 45)]
)
def test_durations_people_write_are_read(typed: str, minutes: int) -> None:
    answers = _answers(typed)
    assert answers.problems(timedelta(days=30)) == {}
    assert answers.duration == timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("typed", "complaint"),
    [("", "Say for how long"), ("tomorrow", "not a duration"), ("-2h", "not a duration"), ("30s", "at least a minute"),
     ("31d", "At most 30d"), ("1e400h", "not a duration"), ("99999999999d", "not a duration")],
)
def test_bad_durations_are_refused_beside_the_input(typed: str, complaint: str) -> None:
    problems = _answers(typed).problems(timedelta(days=30))
    assert list(problems) == [SilenceModal.DURATION] and complaint in problems[SilenceModal.DURATION]


def test_a_long_comment_and_a_form_without_its_issue_are_refused() -> None:
    assert list(_answers("2h", "x" * 501).problems(timedelta(days=30))) == [SilenceModal.COMMENT]
    assert "does not point at an issue" in _answers("2h", issue="42; drop").problems(timedelta(days=30))[SilenceModal.DURATION]


# -- the menus' values ----------------------------------------------------------------------------


def _select_click(value: str) -> dict:
    body = json.loads(unquote(block_actions_body(HoldAction.SILENCE, "").removeprefix("payload=")))
    action = body["actions"][0]
    del action["value"]
    action.update(type="static_select", selected_option={"value": value, "text": {"type": "plain_text", "text": "x"}})
    return body


def test_a_menu_choice_reads_as_issue_and_choice() -> None:
    click = parse_click(_select_click("42:4h"))
    assert click.value == "42:4h"
    assert read_choice(click, {"1h": 1, "4h": 4}) == (42, "4h")


@pytest.mark.parametrize("value", ["42", "42:5h", "x:1h", "４２:1h", ":1h", "1" * 19 + ":1h"])
def test_a_forged_menu_choice_is_refused(value: str) -> None:
    with pytest.raises(Exception, match="does not point at an issue"):
        read_choice(parse_click(_select_click(value)), {"1h": 1})
