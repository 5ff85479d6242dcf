"""Buttons on issue messages: Acknowledge, Resolve (a modal asking for the resolution and root cause), Reopen,
and the alert's links (URL buttons: the browser opens the link, the click is only acked).

Escalate is registered by handlers/escalations, Auto-fix by its own feature; both read the clicked issue
with `clicked_issue` and carry it into their modal with `issue_modal_metadata` / `modal_issue`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import Conflict
from handlers.issues.ids import ResolveModal
from handlers.issues.resolve_modal import ROOT_CAUSE_CATEGORIES, TEXT_MAX_LENGTH, ResolveForm, build_resolve_modal
from handlers.issues.service import IssueService
from handlers.roles import Role
from handlers.slack.listeners import describe_error
from handlers.slack.metadata import ModalMetadata, encode_metadata
from handlers.slack.payloads import Click, Submission, parse_click, parse_submission
from handlers.slack.submissions import ack_submission, tell_submitter

NOT_AN_ISSUE = "This button does not point at an issue."
FORM_LOST_ITS_ISSUE = "This form does not point at an issue any more: open it again from the issue."


def clicked_issue(click: Click) -> int:
    """The issue a button on its message points at (the button's value is the issue id)."""
    return click.number(NOT_AN_ISSUE)


def issue_modal_metadata(issue_id: int, click: Click) -> str:
    """What a modal opened from an issue's button carries: the issue, and the message it was opened from."""
    return encode_metadata(issue=issue_id, channel=click.channel_id, ts=click.message_ts)


def modal_issue(metadata: ModalMetadata) -> int | None:
    return metadata.integer("issue")


@dataclass(frozen=True)
class Resolution:
    """The Resolve modal's answers, read from its submission."""

    issue_id: int | None
    resolution: str
    root_cause_category: str
    root_cause: str

    @classmethod
    def read(cls, submission: Submission) -> Resolution:
        values = submission.values
        return cls(
            issue_id=modal_issue(submission.metadata),
            resolution=values.text(ResolveModal.RESOLUTION),
            root_cause_category=values.selected(ResolveModal.ROOT_CAUSE_CATEGORY),
            root_cause=values.text(ResolveModal.ROOT_CAUSE),
        )

    def problems(self) -> dict[str, str]:
        """What to show beside the inputs; empty when the issue can be resolved with these answers."""
        errors: dict[str, str] = {}
        if not self.resolution:
            errors[ResolveModal.RESOLUTION] = "Say what fixed it, even in a few words."
        elif len(self.resolution) > TEXT_MAX_LENGTH:
            errors[ResolveModal.RESOLUTION] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        if self.root_cause_category not in {value for value, _ in ROOT_CAUSE_CATEGORIES}:
            errors[ResolveModal.ROOT_CAUSE_CATEGORY] = "Choose one of the categories."
        if len(self.root_cause) > TEXT_MAX_LENGTH:
            errors[ResolveModal.ROOT_CAUSE] = f"Keep it under {TEXT_MAX_LENGTH} characters."
        if self.issue_id is None:
            errors.setdefault(ResolveModal.RESOLUTION, FORM_LOST_ITS_ISSUE)
        return errors


class IssueButtons:
    """Listeners bound to the issue service; each acks first, then acts."""

    def __init__(self, issues: IssueService) -> None:
        self._issues = issues

    async def acknowledge(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._issues.acknowledge(clicked_issue(click), click.user_id)

    async def unacknowledge(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._issues.unacknowledge(clicked_issue(click), click.user_id)

    async def resolve(self, ack: Any, body: dict[str, Any], client: AsyncWebClient, respond: Any) -> None:
        """Open the Resolve modal; refuse at the click when the user may not resolve, or it is too late."""
        await ack()
        click = parse_click(body)
        issue_id = clicked_issue(click)
        await self._issues.require_role(issue_id, click.user_id, Role.RESPONDER, "resolve issues")
        issue = await self._issues.get(issue_id)
        if not issue.is_open:
            raise Conflict(f"Issue #{issue.id} is already {issue.status.lower()}.")
        trigger_id = click.require_trigger("Slack sent no form trigger with this click: please click Resolve again.")
        form = ResolveForm(issue.id, issue.title, issue.category, private_metadata=issue_modal_metadata(issue.id, click))
        await client.views_open(trigger_id=trigger_id, view=build_resolve_modal(form))

    async def submit_resolution(self, ack: Any, body: dict[str, Any], client: AsyncWebClient) -> None:
        """Validate in the modal (errors shown beside the inputs), then resolve after the ack."""
        submission = parse_submission(body)
        answers = Resolution.read(submission)
        if not await ack_submission(ack, answers.problems()) or answers.issue_id is None:
            return
        user_id = submission.user_id
        try:
            await self._issues.resolve(
                answers.issue_id, user_id, resolution=answers.resolution, root_cause=answers.root_cause or None,
                root_cause_category=answers.root_cause_category,
            )
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, user_id, describe_error(error, user_id), submission.metadata.channel_id)

    async def reopen(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        click = parse_click(body)
        await self._issues.reopen(clicked_issue(click), click.user_id)


async def acknowledge_link_click(ack: Any) -> None:
    """Slack sends a URL button's click too; unanswered, the button shows an error."""
    await ack()
