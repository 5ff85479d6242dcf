"""Block Kit for silences and snoozes: the lines and controls on an issue's message (issues/message.py
adds them under its buttons), the custom-silence modal, and the lines the issue's thread gets.

Pure builders: small frozen views in, dicts and mrkdwn out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from handlers.silences.ids import CUSTOM, HOLDS_BLOCK_ID, PRESETS, HoldAction, SilenceModal
from handlers.silences.matchers import describe_matchers
from handlers.slack.blockkit import actions, button, code, context, escape, mrkdwn_section, slack_date, truncate

COMMENT_MAX_LENGTH = 500
DATE_SHOWN_FROM = timedelta(hours=20)  # a hold this long may end on another day: say which
PRESET_WORDS = {"1h": "1 hour", "4h": "4 hours", "24h": "24 hours"}
MATCHERS_SHOWN = 1500  # characters of matchers the modal shows

_USER_ID = re.compile(r"[UW][A-Z0-9]+")


def mention(actor: str | None) -> str:
    """Slack users as mentions; anything else (a source name) as plain text."""
    if actor and _USER_ID.fullmatch(actor):
        return f"<@{actor}>"
    return escape(actor or "someone")


def until(start: datetime, end: datetime) -> str:
    """When a hold ends, in each reader's own time zone; with the date when it may be another day."""
    token = "{date_short_pretty} {time}" if end - start >= DATE_SHOWN_FROM else "{time}"
    return slack_date(end, token)


@dataclass(frozen=True)
class ActiveSilence:
    starts_at: datetime
    ends_at: datetime
    created_by: str


@dataclass(frozen=True)
class ActiveSnooze:
    snoozed_at: datetime
    until: datetime
    snoozed_by: str


@dataclass(frozen=True)
class IssueHolds:
    """What the issue's message shows of silences and snoozes, and which controls it offers."""

    issue_id: int
    silenceable: bool = False  # an open issue from an Alertmanager alert that named its externalURL
    snoozable: bool = False  # an open issue from an alert
    silence: ActiveSilence | None = None
    snooze: ActiveSnooze | None = None


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text, "emoji": True}


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def _select(action_id: str, placeholder: str, options: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "static_select", "action_id": action_id, "placeholder": _plain(placeholder), "options": options}


def choice_value(issue_id: int, choice: str) -> str:
    """A select option's value: the issue and the choice, since a select has no value of its own."""
    return f"{issue_id}:{choice}"


def build_hold_lines(holds: IssueHolds) -> list[str]:
    lines = []
    if holds.silence is not None:
        silence = holds.silence
        lines.append(
            f"🔕 Silenced in Alertmanager until {until(silence.starts_at, silence.ends_at)} by {mention(silence.created_by)}"
        )
    if holds.snooze is not None:
        snooze = holds.snooze
        lines.append(
            f"💤 Snoozed until {until(snooze.snoozed_at, snooze.until)} by {mention(snooze.snoozed_by)}: "
            "no escalation steps and no announcements until then"
        )
    return lines


def build_hold_actions(holds: IssueHolds) -> dict[str, Any] | None:
    elements: list[dict[str, Any]] = []
    value = str(holds.issue_id)
    if holds.silence is not None:
        elements.append(button("Lift silence", HoldAction.LIFT, value))
    elif holds.silenceable:
        options = [_option(f"Silence for {PRESET_WORDS[p]}", choice_value(holds.issue_id, p)) for p in PRESETS]
        options.append(_option("Silence for…", choice_value(holds.issue_id, CUSTOM)))
        elements.append(_select(HoldAction.SILENCE, "🔕 Silence", options))
    if holds.snooze is not None:
        elements.append(button("End snooze", HoldAction.END_SNOOZE, value))
    elif holds.snoozable:
        options = [_option(f"Snooze for {PRESET_WORDS[p]}", choice_value(holds.issue_id, p)) for p in PRESETS]
        elements.append(_select(HoldAction.SNOOZE, "💤 Snooze", options))
    return actions(HOLDS_BLOCK_ID, elements) if elements else None


def build_hold_blocks(holds: IssueHolds | None) -> list[dict[str, Any]]:
    """The issue message's silence and snooze lines, then their controls; nothing when neither applies."""
    if holds is None:
        return []
    blocks: list[dict[str, Any]] = []
    lines = build_hold_lines(holds)
    if lines:
        blocks.append(context(*lines))
    controls = build_hold_actions(holds)
    if controls is not None:
        blocks.append(controls)
    return blocks


@dataclass(frozen=True)
class CustomSilenceForm:
    issue_id: int
    title: str
    matchers: Sequence[Mapping[str, Any]] = field(default_factory=tuple)
    alertmanager: str = ""
    private_metadata: str = ""


def build_custom_silence_modal(form: CustomSilenceForm) -> dict[str, Any]:
    what = truncate(describe_matchers(form.matchers), MATCHERS_SHOWN)
    return {
        "type": "modal",
        "callback_id": SilenceModal.CALLBACK,
        "title": {"type": "plain_text", "text": "Silence alert"},
        "submit": {"type": "plain_text", "text": "Silence"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": form.private_metadata,
        "blocks": [
            mrkdwn_section(f"*Issue #{form.issue_id}:* {escape(truncate(form.title, 500))}"),
            context(f"Silences alerts matching {code(what)} in Alertmanager at {escape(form.alertmanager)}"),
            {
                "type": "input",
                "block_id": SilenceModal.DURATION,
                "label": {"type": "plain_text", "text": "For how long"},
                "hint": {"type": "plain_text", "text": "e.g. 90m, 2h, 3d or 1d 12h"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": SilenceModal.DURATION,
                    "max_length": 40,
                    "placeholder": {"type": "plain_text", "text": "2h"},
                },
            },
            {
                "type": "input",
                "block_id": SilenceModal.COMMENT,
                "optional": True,
                "label": {"type": "plain_text", "text": "Why"},
                "hint": {"type": "plain_text", "text": "Added to the silence's comment in Alertmanager."},
                "element": {
                    "type": "plain_text_input",
                    "action_id": SilenceModal.COMMENT,
                    "multiline": True,
                    "max_length": COMMENT_MAX_LENGTH,
                    "placeholder": {"type": "plain_text", "text": "e.g. Disk replacement scheduled tonight"},
                },
            },
        ],
    }


# -- lines in the issue's thread --------------------------------------------------------------


def build_silenced_line(user_id: str, silence: ActiveSilence, matchers: Sequence[Mapping[str, Any]]) -> str:
    what = code(truncate(describe_matchers(matchers), 1000))
    return (
        f"🔕 {mention(user_id)} silenced {what} in Alertmanager until "
        f"{until(silence.starts_at, silence.ends_at)}."
    )


def build_lifted_line(user_id: str) -> str:
    return f"🔔 {mention(user_id)} lifted the silence: Alertmanager sends this alert's notifications again."


def build_silence_ran_out_line() -> str:
    return "🔔 The Alertmanager silence ran out: its notifications resume."


def build_snoozed_line(snooze: ActiveSnooze) -> str:
    return (
        f"💤 {mention(snooze.snoozed_by)} snoozed this issue until {until(snooze.snoozed_at, snooze.until)}: "
        "no escalation steps, and repeats are recorded without being announced."
    )


def build_snooze_ended_line(user_id: str) -> str:
    return f"⏰ {mention(user_id)} ended the snooze: this issue's notifications are back on."


def build_snooze_over_line(snooze: ActiveSnooze, firing: int) -> str:
    still = f"{firing} alert(s) still firing" if firing else "no alert firing any more"
    return (
        f"⏰ Snooze over ({mention(snooze.snoozed_by)} snoozed it until "
        f"{until(snooze.snoozed_at, snooze.until)}): this issue is back, {still}."
    )
