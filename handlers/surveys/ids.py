"""Action, callback and block ids of survey messages and the survey form. Never rename a value:
DMs already sent keep their buttons for days."""

from __future__ import annotations

from enum import StrEnum

SCORES = (1, 2, 3, 4, 5)


class SurveyAction(StrEnum):
    RATE = "survey.rate"  # buttons "survey.rate.1" ... "survey.rate.5" (action ids must differ in a block)
    SUBMIT = "survey.submit"  # the form's callback id


class SurveyBlock(StrEnum):
    BUTTONS = "survey.buttons"
    HELPFUL = "survey.helpful"
    SPEED = "survey.speed"
    PROFESSIONAL = "survey.professional"
    COMMENT = "survey.comment"


SCORE_ELEMENT = "score"  # the radio group inside each question's input block
COMMENT_ELEMENT = "text"


def rate_action_id(score: int) -> str:
    return f"{SurveyAction.RATE.value}.{score}"


RATE_ACTION_PATTERN = rf"^{SurveyAction.RATE.value}\.[1-5]$"
