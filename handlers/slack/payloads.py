"""Slack's payloads, parsed in one place: a click, a slash command, a modal's submission.

Bolt hands a listener the raw body; features read these small frozen models instead, so each field
is looked for in one place whichever corner of the body Slack puts it in (a click's channel is in
`channel`, and only in `container` for clicks in ephemeral messages). Values are not trusted: anyone
holding a signed request can replay it with another button value, so a feature reads an id with
`Click.number`, which refuses anything but digits with the sentence it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Mapping

from handlers.errors import InvalidInput
from handlers.slack.metadata import ModalMetadata

_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only: \d also takes "４２"


def _string(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def payload_user(body: Mapping[str, Any]) -> str | None:
    """Who acted: `user.id` in interactivity payloads, `user_id` in slash commands; None in events."""
    return _string(_mapping(body.get("user")).get("id")) or _string(body.get("user_id"))


def _require_user(body: Mapping[str, Any], what: str) -> str:
    user = payload_user(body)
    if user is None:
        raise InvalidInput(f"Slack sent this {what} without saying who you are: please try again.")
    return user


def _require_trigger(trigger_id: str | None, refusal: str) -> str:
    if trigger_id is None:
        raise InvalidInput(refusal)
    return trigger_id


@dataclass(frozen=True)
class Click:
    """A `block_actions` payload: its first action (a button sends only one) and where it was clicked.
    `value` is a button's value, or the value of the option chosen in a select or overflow menu."""

    user_id: str
    action_id: str
    value: str
    block_id: str | None = None
    trigger_id: str | None = None
    channel_id: str | None = None
    message_ts: str | None = None
    response_url: str | None = None
    container: Mapping[str, Any] = field(default_factory=dict)  # {"type": "message" | "view", ...}
    message: Mapping[str, Any] = field(default_factory=dict)  # the message clicked, as Slack sent it back
    view: Mapping[str, Any] = field(default_factory=dict)  # the modal or Home tab clicked in

    def number(self, refusal: str) -> int:
        """The button's value as an id; InvalidInput(refusal) when it is anything but 1-18 digits."""
        if not _NUMBER.fullmatch(self.value):
            raise InvalidInput(refusal)
        return int(self.value)

    def require_trigger(self, refusal: str) -> str:
        """The trigger to open a modal with (valid 3 s); InvalidInput(refusal) when Slack sent none."""
        return _require_trigger(self.trigger_id, refusal)

    @property
    def view_id(self) -> str | None:
        return _string(self.view.get("id"))

    @property
    def view_hash(self) -> str | None:
        return _string(self.view.get("hash"))

    @property
    def metadata(self) -> ModalMetadata:
        """The private_metadata of the modal clicked in (empty for a click on a message)."""
        return ModalMetadata.decode(_string(self.view.get("private_metadata")))


def parse_click(body: Mapping[str, Any]) -> Click:
    actions = body.get("actions")
    action = _mapping(actions[0] if isinstance(actions, list) and actions else None)
    container = _mapping(body.get("container"))
    message = _mapping(body.get("message"))
    value = action.get("value")
    if value is None:  # a select or an overflow menu: the chosen option's value
        value = _mapping(action.get("selected_option")).get("value")
    return Click(
        user_id=_require_user(body, "click"),
        action_id=str(action.get("action_id") or ""),
        value="" if value is None else str(value),
        block_id=_string(action.get("block_id")),
        trigger_id=_string(body.get("trigger_id")),
        channel_id=_string(_mapping(body.get("channel")).get("id")) or _string(container.get("channel_id")),
        message_ts=_string(message.get("ts")) or _string(container.get("message_ts")),
        response_url=_string(body.get("response_url")),
        container=container,
        message=message,
        view=_mapping(body.get("view")),
    )


@dataclass(frozen=True)
class SlashCommand:
    """A slash command as Slack posts it (form fields); `text` is what follows the command, as typed.
    Slack always names the channel it was typed in ("" only for a body that did not come from Slack)."""

    command: str
    text: str
    user_id: str
    channel_id: str = ""
    trigger_id: str | None = None
    response_url: str | None = None

    @property
    def words(self) -> list[str]:
        return self.text.split()

    def require_trigger(self, refusal: str) -> str:
        return _require_trigger(self.trigger_id, refusal)


def parse_command(body: Mapping[str, Any]) -> SlashCommand:
    text = body.get("text")
    return SlashCommand(
        command=str(body.get("command") or ""),
        text=text if isinstance(text, str) else "",
        user_id=_require_user(body, "command"),
        channel_id=_string(body.get("channel_id")) or "",
        trigger_id=_string(body.get("trigger_id")),
        response_url=_string(body.get("response_url")),
    )


@dataclass(frozen=True)
class FormValues:
    """A modal's `view.state.values`: {block_id: {action_id: the element's state}}.

    Each reader takes the input's block id, and its element's action id where a feature names it;
    without one it reads the block's only element (an input block holds one).
    """

    blocks: Mapping[str, Any] = field(default_factory=dict)

    def state(self, block_id: str, action_id: str | None = None) -> Mapping[str, Any]:
        elements = _mapping(self.blocks.get(block_id))
        if action_id is not None:
            return _mapping(elements.get(action_id))
        return _mapping(next(iter(elements.values()), None))

    def text(self, block_id: str, action_id: str | None = None) -> str:
        """A text input's value, stripped; "" when empty or absent."""
        return str(self.state(block_id, action_id).get("value") or "").strip()

    def selected(self, block_id: str, action_id: str | None = None) -> str:
        """The value of a select's or radio group's chosen option; "" when none is chosen."""
        option = _mapping(self.state(block_id, action_id).get("selected_option"))
        return str(option.get("value") or "")

    def selected_date(self, block_id: str, action_id: str | None = None) -> date | None:
        picked = self.state(block_id, action_id).get("selected_date")
        try:
            return date.fromisoformat(picked) if isinstance(picked, str) and picked else None
        except ValueError:
            return None


@dataclass(frozen=True)
class Submission:
    """A `view_submission`: who sent which modal, its inputs and its private_metadata, decoded."""

    callback_id: str
    user_id: str
    values: FormValues = field(default_factory=FormValues)
    metadata: ModalMetadata = field(default_factory=ModalMetadata)
    view_id: str | None = None


def parse_submission(body: Mapping[str, Any]) -> Submission:
    view = _mapping(body.get("view"))
    return Submission(
        callback_id=str(view.get("callback_id") or ""),
        user_id=_require_user(body, "form"),
        values=FormValues(_mapping(_mapping(view.get("state")).get("values"))),
        metadata=ModalMetadata.decode(_string(view.get("private_metadata"))),
        view_id=_string(view.get("id")),
    )
