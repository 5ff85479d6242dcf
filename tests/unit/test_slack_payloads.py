"""The Slack payload layer on real payload shapes: clicks, slash commands, submissions, modal metadata."""

from __future__ import annotations

import json
from datetime import date
from typing import Any
from urllib.parse import parse_qsl

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from handlers.errors import InvalidInput
from handlers.slack.metadata import PRIVATE_METADATA_LIMIT, MetadataTooLong, ModalMetadata, encode_metadata
from handlers.slack.payloads import FormValues, parse_click, parse_command, parse_submission, payload_user
from handlers.slack.submissions import ack_submission, tell_submitter
from tests.harness import FIXTURES


def _fixture(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


def test_a_click_is_read_from_slacks_own_payload() -> None:
    click = parse_click(_fixture("slack_block_actions_button.json"))
    assert (click.user_id, click.action_id, click.value, click.block_id) == ("W111", "a", "click_me_123", "b")
    assert (click.channel_id, click.message_ts, click.trigger_id) == ("C111", "111.222", "111.222.valid")
    assert click.response_url == "https://hooks.slack.com/actions/T111/111/random-value"
    assert click.container["type"] == "message" and click.message == {} and click.metadata == ModalMetadata()


def test_a_click_in_an_ephemeral_message_finds_its_channel_in_the_container() -> None:
    body = _fixture("slack_block_actions_button.json")
    del body["channel"]
    click = parse_click(body)
    assert (click.channel_id, click.message_ts) == ("C111", "111.222")


def test_a_click_inside_a_modal_carries_the_view_and_its_metadata() -> None:
    body = _fixture("slack_block_actions_button.json")
    body["view"] = {"id": "V1", "hash": "h.1", "private_metadata": encode_metadata(article="vpn")}
    click = parse_click(body)
    assert (click.view_id, click.view_hash, click.metadata.string("article")) == ("V1", "h.1", "vpn")


def test_a_clicked_id_is_digits_or_refused_with_the_features_sentence() -> None:
    body = _fixture("slack_block_actions_button.json")
    body["actions"][0]["value"] = "42"
    assert parse_click(body).number("not ours") == 42
    for forged in ("42; drop", "", "-1", "1" * 19, "４２"):
        body["actions"][0]["value"] = forged
        with pytest.raises(InvalidInput, match="not ours"):
            parse_click(body).number("not ours")


def test_a_missing_trigger_is_refused_with_the_features_sentence() -> None:
    body = _fixture("slack_block_actions_button.json")
    assert parse_click(body).require_trigger("again") == "111.222.valid"
    del body["trigger_id"]
    with pytest.raises(InvalidInput, match="again"):
        parse_click(body).require_trigger("again")


def test_a_payload_without_a_user_is_refused() -> None:
    body = _fixture("slack_block_actions_button.json")
    del body["user"]
    assert payload_user(body) is None
    with pytest.raises(InvalidInput):
        parse_click(body)


def test_a_slash_command_is_read_from_slacks_own_form() -> None:
    form = dict(parse_qsl((FIXTURES / "slack_slash_command.form.txt").read_text(encoding="utf-8").strip()))
    command = parse_command(form)
    assert (command.command, command.text, command.user_id, command.channel_id) == ("/hello-world", "Hi", "W111", "C111")
    assert command.trigger_id == "111.111.xxx" and command.response_url.startswith("https://hooks.slack.com/commands/")
    assert command.words == ["Hi"] and payload_user(form) == "W111"
    assert parse_command({"user_id": "U1"}).text == "" and parse_command({"user_id": "U1"}).words == []


def test_a_submission_is_read_from_slacks_own_payload() -> None:
    submission = parse_submission(_fixture("slack_view_submission.json"))
    assert (submission.callback_id, submission.user_id, submission.view_id) == ("view-id", "W111", "V111")
    assert submission.values.text("hspI") == "test" and submission.values.text("hspI", "maBWU") == "test"
    assert submission.metadata == ModalMetadata()  # "This is for you!" is not ours


def test_form_values_read_inputs_selects_radios_and_dates() -> None:
    values = FormValues(
        {
            "a": {"a": {"type": "plain_text_input", "value": "  hello  "}},
            "b": {"b": {"type": "static_select", "selected_option": {"value": "database"}}},
            "c": {"c": {"type": "radio_buttons", "selected_option": None}},
            "d": {"d": {"type": "plain_text_input", "value": None}},
            "e": {"e": {"type": "datepicker", "selected_date": "2026-12-01"}},
            "f": {"f": {"type": "datepicker", "selected_date": "someday"}},
            "g": "not a block",
        }
    )
    assert values.text("a") == "hello" and values.text("d") == "" and values.text("zz") == "" and values.text("g") == ""
    assert values.selected("b") == "database" and values.selected("c") == "" and values.selected("b", "other") == ""
    assert values.selected_date("e") == date(2026, 12, 1) and values.selected_date("f") is None
    assert FormValues().text("a") == ""


def test_metadata_round_trips_and_reads_only_what_it_expects() -> None:
    text = encode_metadata(issue=12, channel="C0LOCAL", ts="1.2")
    assert text == '{"issue": 12, "channel": "C0LOCAL", "ts": "1.2"}'  # modals already open carry this form
    metadata = ModalMetadata.decode(text)
    assert (metadata.integer("issue"), metadata.channel_id, metadata.message_ts) == (12, "C0LOCAL", "1.2")
    assert ModalMetadata.decode('{"issue": "3"}').integer("issue") == 3
    forged = ModalMetadata.decode('{"issue": true, "channel": "#general <!here>", "ts": 5}')
    assert (forged.integer("issue"), forged.channel_id, forged.message_ts) == (None, None, None)
    for garbage in ("", None, "not json", "[]", '"x"', "[" * 100_000):
        assert ModalMetadata.decode(garbage) == ModalMetadata()


def test_metadata_longer_than_slack_allows_is_refused_when_written() -> None:
    assert len(encode_metadata(article="x" * (PRIVATE_METADATA_LIMIT - 20))) <= PRIVATE_METADATA_LIMIT
    with pytest.raises(MetadataTooLong):
        encode_metadata(article="x" * PRIVATE_METADATA_LIMIT)


class _Ack:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def __call__(self, **kwargs: Any) -> None:
        self.calls.append(kwargs)


async def test_a_submission_with_errors_keeps_the_modal_open() -> None:
    ack = _Ack()
    assert await ack_submission(ack, {"title": "Give it a title."}) is False
    assert ack.calls == [{"response_action": "errors", "errors": {"title": "Give it a title."}}]
    ack = _Ack()
    assert await ack_submission(ack, {}) is True and await ack_submission(ack) is True
    assert ack.calls == [{}, {}]


class _Client:
    """Records the two calls tell_submitter makes; refuses them when told to."""

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self._refuse = refuse

    async def _call(self, method: str, kwargs: dict[str, Any]) -> None:
        self.calls.append((method, kwargs))
        if self._refuse:
            response = AsyncSlackResponse(
                client=None, http_verb="POST", api_url=method, req_args={}, data={"ok": False, "error": "channel_not_found"},
                headers={}, status_code=200,
            )
            raise SlackApiError("refused", response)

    async def chat_postEphemeral(self, **kwargs: Any) -> None:  # noqa: N802 - Slack's method name
        await self._call("chat.postEphemeral", kwargs)

    async def chat_postMessage(self, **kwargs: Any) -> None:  # noqa: N802 - Slack's method name
        await self._call("chat.postMessage", kwargs)


async def test_a_closed_modal_is_answered_where_it_was_opened_or_by_dm() -> None:
    client = _Client()
    await tell_submitter(client, "U1", "done", "C1")  # type: ignore[arg-type]
    await tell_submitter(client, "U1", "done")  # type: ignore[arg-type]
    await tell_submitter(client, "U1", "done", by_dm=False)  # type: ignore[arg-type]
    assert client.calls == [
        ("chat.postEphemeral", {"channel": "C1", "user": "U1", "text": "done"}),
        ("chat.postMessage", {"channel": "U1", "text": "done"}),
    ]
    await tell_submitter(_Client(refuse=True), "U1", "done", "C1")  # type: ignore[arg-type]  # logged, not raised
