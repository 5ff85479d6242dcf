"""Block Kit for surveys: the DM with five score buttons, the short form, the thanks, the managers' alert.

Two clicks answer a survey: a score button opens the form with all three questions preselected to
that score, and Send submits it. Adjusting a question or adding a comment is optional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from handlers.slack.blockkit import (
    actions,
    button,
    context,
    escape,
    fields_section,
    mrkdwn_section,
    slack_date,
    truncate,
)
from handlers.slack.metadata import encode_metadata
from handlers.surveys.ids import (
    COMMENT_ELEMENT,
    SCORE_ELEMENT,
    SCORES,
    SurveyAction,
    SurveyBlock,
    rate_action_id,
)
from handlers.surveys.audience import SurveyRole

QUESTIONS: tuple[tuple[SurveyBlock, str, str], ...] = (
    (SurveyBlock.HELPFUL, "helpful", "Was the solution helpful?"),
    (SurveyBlock.SPEED, "speed", "How quickly was the issue resolved?"),
    (SurveyBlock.PROFESSIONAL, "professional", "Was the support efficient and professional?"),
)
SCORE_WORDS = {5: "Excellent", 4: "Good", 3: "OK", 2: "Poor", 1: "Very poor"}
SCORE_FACES = {5: "😀", 4: "🙂", 3: "😐", 2: "🙁", 1: "😞"}
COMMENT_MAX_LENGTH = 2000
ROLE_WORDS = {
    SurveyRole.REPORTER: "who reported it",
    SurveyRole.ESCALATOR: "who escalated it",
    SurveyRole.RESPONDER: "who worked on it",
}
TITLE_LIMIT = 150


@dataclass(frozen=True)
class SurveyRequestView:
    survey_id: int
    issue_id: int
    issue_title: str
    role: SurveyRole  # how the person was involved: what they are asked about
    resolved_by: str | None = None
    reminder: bool = False


@dataclass(frozen=True)
class SurveyFormView:
    survey_id: int
    issue_id: int
    issue_title: str
    preselected: int
    dm_channel: str | None = None  # where the DM is, to thank (or refuse) there after the form closes
    dm_ts: str | None = None


@dataclass(frozen=True)
class SurveyScores:
    helpful: int
    speed: int
    professional: int
    comment: str | None = None

    @property
    def lowest(self) -> int:
        return min(self.helpful, self.speed, self.professional)


@dataclass(frozen=True)
class LowScoreView:
    issue_id: int
    issue_title: str
    priority: str
    user_id: str
    role: SurveyRole
    scores: SurveyScores
    answered_at: datetime
    threshold: int


def _issue_ref(issue_id: int, title: str) -> str:
    return f"issue #{issue_id} *{escape(truncate(title, TITLE_LIMIT))}*"


def _who(actor: str | None) -> str:
    if actor and actor[:1] in ("U", "W") and actor.isalnum():
        return f"<@{actor}>"
    return escape(actor or "someone")


def build_survey_request(view: SurveyRequestView) -> tuple[str, list[dict[str, Any]]]:
    """The DM: what was resolved, and five score buttons (click one, then Send on the form)."""
    ref = _issue_ref(view.issue_id, view.issue_title)
    opening = "Reminder: we'd still love your feedback. " if view.reminder else ""
    by = _who(view.resolved_by)
    if view.role is SurveyRole.REPORTER:
        intro = f"{opening}Your {ref} was resolved by {by}. How did we do?"
    elif view.role is SurveyRole.ESCALATOR:
        intro = f"{opening}{ref[0].upper()}{ref[1:]}, which you escalated, was resolved by {by}. How did the team you called do?"
    else:
        intro = f"{opening}{ref[0].upper()}{ref[1:]}, which you worked on, was resolved. How did it go?"
    buttons = [
        button(f"{SCORE_FACES[score]} {score}", rate_action_id(score), str(view.survey_id))
        for score in SCORES
    ]
    blocks = [
        mrkdwn_section(intro),
        actions(SurveyBlock.BUTTONS.value, buttons),
        context("1 = very poor, 5 = excellent. Pick a score, adjust any question if you like, then *Send*."),
    ]
    text = f"{'Reminder: ' if view.reminder else ''}How did we do on issue #{view.issue_id}?"
    return text, blocks


def _score_option(score: int) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": f"{score} · {SCORE_WORDS[score]}"}, "value": str(score)}


def build_survey_form(view: SurveyFormView) -> dict[str, Any]:
    """The modal: three questions preselected to the clicked score, and an optional comment."""
    blocks: list[dict[str, Any]] = [mrkdwn_section(f"About {_issue_ref(view.issue_id, view.issue_title)}")]
    for block_id, _, question in QUESTIONS:
        blocks.append(
            {
                "type": "input",
                "block_id": block_id.value,
                "label": {"type": "plain_text", "text": question},
                "element": {
                    "type": "radio_buttons",
                    "action_id": SCORE_ELEMENT,
                    "options": [_score_option(score) for score in reversed(SCORES)],
                    "initial_option": _score_option(view.preselected),
                },
            }
        )
    blocks.append(
        {
            "type": "input",
            "block_id": SurveyBlock.COMMENT.value,
            "optional": True,
            "label": {"type": "plain_text", "text": "Anything to add?"},
            "element": {
                "type": "plain_text_input",
                "action_id": COMMENT_ELEMENT,
                "multiline": True,
                "max_length": COMMENT_MAX_LENGTH,
            },
        }
    )
    return {
        "type": "modal",
        "callback_id": SurveyAction.SUBMIT.value,
        "title": {"type": "plain_text", "text": "How did we do?"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": encode_metadata(survey=view.survey_id, channel=view.dm_channel, ts=view.dm_ts),
        "blocks": blocks,
    }


def _score_fields(scores: SurveyScores) -> list[str]:
    return [
        f"*{question}*\n{SCORE_FACES[getattr(scores, name)]} {getattr(scores, name)}/5"
        for _, name, question in QUESTIONS
    ]


def build_survey_thanks(issue_id: int, issue_title: str, scores: SurveyScores) -> tuple[str, list[dict[str, Any]]]:
    """Replaces the DM once answered, so its buttons are gone."""
    blocks = [
        mrkdwn_section(f"Thank you! Your feedback on {_issue_ref(issue_id, issue_title)} is recorded."),
        fields_section(_score_fields(scores)),
    ]
    if scores.comment:
        blocks.append(mrkdwn_section(_quote(scores.comment)))
    return f"Thank you for your feedback on issue #{issue_id}.", blocks


def _quote(text: str) -> str:
    return "\n".join(f"> {escape(line)}" for line in truncate(text, COMMENT_MAX_LENGTH).splitlines() or [""])


def build_low_score_alert(view: LowScoreView) -> tuple[str, list[dict[str, Any]]]:
    """For the managers' channel: who answered what about which issue, so someone follows up."""
    role = ROLE_WORDS[view.role]
    blocks = [
        mrkdwn_section(
            f"⚠️ *Low satisfaction score* on {_issue_ref(view.issue_id, view.issue_title)} "
            f"({escape(view.priority)} priority)\nFrom <@{view.user_id}>, {role}, "
            f"{slack_date(view.answered_at)}."
        ),
        fields_section(_score_fields(view.scores)),
        mrkdwn_section(_quote(view.scores.comment) if view.scores.comment else "_No comment._"),
        context(
            f"A score of {view.threshold} or lower on any question is posted here. "
            f"Please follow up with <@{view.user_id}>."
        ),
    ]
    text = (
        f"Low satisfaction score on issue #{view.issue_id}: "
        f"{view.scores.helpful}/{view.scores.speed}/{view.scores.professional}"
    )
    return text, blocks
