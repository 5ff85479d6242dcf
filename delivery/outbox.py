"""What services write to the outbox: the names of the Slack operations the delivery worker knows."""

from __future__ import annotations

from enum import StrEnum
from typing import Callable

from storage.repositories.outbox import OutboxRepository


class SlackOperation(StrEnum):
    RENDER_ISSUE = "issue.render"  # post the issue's message, or update it in place
    THREAD_REPLY = "issue.thread"  # a line of the timeline in the message's thread
    POST_MESSAGE = "message.post"  # a message to any channel (escalations, reports)
    DIRECT_MESSAGE = "message.dm"  # a DM to a user (surveys, on-call pages)


def issue_ordering_key(issue_id: int) -> str:
    return f"issue:{issue_id}"


class OutboxWriter:
    """Enqueues Slack work inside the caller's transaction; `wake` nudges the worker after commit."""

    def __init__(self, wake: Callable[[], None] | None = None) -> None:
        self._wake = wake or (lambda: None)

    def wake(self) -> None:
        self._wake()

    async def render_issue(self, outbox: OutboxRepository, issue_id: int) -> None:
        """Re-render the issue's message: nothing new if a render not yet taken is already last in line.

        Renders that do pile up (thread lines between them, or one taken while this was written)
        collapse when the worker claims the first: it supersedes the rest and shows the latest state.
        """
        key = issue_ordering_key(issue_id)
        if await outbox.has_unclaimed_tail(key, SlackOperation.RENDER_ISSUE):
            return  # the pending render will show the latest state anyway
        await outbox.enqueue(SlackOperation.RENDER_ISSUE, {}, ordering_key=key, issue_id=issue_id)

    async def render_issues(self, outbox: OutboxRepository, issue_ids: list[int], *, new: bool = False) -> None:
        """Re-render several issues with one look-up; `new` issues cannot have anything pending yet."""
        keys = {issue_id: issue_ordering_key(issue_id) for issue_id in issue_ids}
        covered = set() if new else await outbox.keys_with_unclaimed_tail(list(keys.values()), SlackOperation.RENDER_ISSUE)
        await outbox.enqueue_many(
            [
                {"operation": SlackOperation.RENDER_ISSUE, "payload": {}, "ordering_key": key, "issue_id": issue_id}
                for issue_id, key in keys.items()
                if key not in covered
            ]
        )

    async def thread_reply(
        self, outbox: OutboxRepository, issue_id: int, text: str, *, blocks: list[dict] | None = None
    ) -> None:
        """A line in the issue's thread; `blocks` (e.g. a runbook step's buttons) with `text` as its fallback."""
        payload: dict = {"text": text} if blocks is None else {"text": text, "blocks": blocks}
        await outbox.enqueue(
            SlackOperation.THREAD_REPLY, payload, ordering_key=issue_ordering_key(issue_id), issue_id=issue_id
        )

    async def post_message(
        self,
        outbox: OutboxRepository,
        *,
        channel: str,
        text: str,
        blocks: list[dict] | None = None,
        issue_id: int | None = None,
    ) -> None:
        key = issue_ordering_key(issue_id) if issue_id is not None else f"channel:{channel}"
        payload = {"channel": channel, "text": text, "blocks": blocks}
        await outbox.enqueue(SlackOperation.POST_MESSAGE, payload, ordering_key=key, issue_id=issue_id)

    async def direct_message(
        self,
        outbox: OutboxRepository,
        *,
        user: str,
        text: str,
        blocks: list[dict] | None = None,
        issue_id: int | None = None,
    ) -> None:
        payload = {"user": user, "text": text, "blocks": blocks}
        await outbox.enqueue(SlackOperation.DIRECT_MESSAGE, payload, ordering_key=f"user:{user}", issue_id=issue_id)
