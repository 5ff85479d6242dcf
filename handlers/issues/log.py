"""Writing to the issue log from Slack (part of IssueService): staff-reported issues, assignment and comments.

Each call is one transaction that changes the issue, writes its issue_events row and enqueues the
Slack work (re-render, thread line, direct message) in the outbox, so nothing said is lost if Slack
is down. Alerts open issues elsewhere (handlers/alerts); this is the people's side of the same log.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.vocabulary import Category, IssueClass, Priority
from handlers.errors import Conflict, InvalidInput
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.notices import (
    build_assigned_line,
    build_assignee_message,
    build_comment_line,
    build_reporter_confirmation,
)
from delivery.outbox import OutboxWriter
from handlers.roles import Role
from storage.models import Issue, IssueStatus
from storage.repositories.outbox import OutboxRepository
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.issue import COMMENT_KIND, IssueLogRepository, IssueRepository

SLACK_SOURCE = "slack"
TITLE_LIMIT = 200
DESCRIPTION_LIMIT = 3000
COMMENT_LIMIT = 4000
LIST_HINT = "Try `/issue list all`."  # after "Issue #N does not exist."


@dataclass(frozen=True)
class NewIssue:
    """A problem a person reports (the /issue new modal, already validated)."""

    title: str
    description: str
    priority: Priority
    category: Category
    link_url: str | None = None


@dataclass(frozen=True)
class IssueChange:
    """What a change to the log (a report, an assignment, a comment, a state change) says back."""

    issue_id: int
    title: str
    at: datetime


class IssueLogMixin:
    """IssueService's writing to the log from Slack. IssueService (service.py) sets the attributes
    declared here and owns the one role check."""

    _sessionmaker: async_sessionmaker[AsyncSession]
    _writer: OutboxWriter
    _helpdesk_channel: str
    _lifecycle: IssueLifecycle
    _clock: Callable[[], datetime]
    _require_role: Callable[[int, str, Role, str], Awaitable[None]]

    async def report(self, new: NewIssue, reporter: str) -> IssueChange:
        """Open an issue for a person; it is posted in the help-desk channel like an alert's issue."""
        title = new.title.strip()
        if not title:
            raise InvalidInput("An issue needs a title.")
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await issues.add(
                Issue(
                    reported_at=now,
                    reported_by=reporter,
                    source=SLACK_SOURCE,
                    title=title[:TITLE_LIMIT],
                    description=new.description.strip()[:DESCRIPTION_LIMIT],
                    priority=new.priority.value,
                    category=new.category.value,
                    issue_class=IssueClass.COMPLEX.value,  # no alert, so no runbook applies: a person looks at it
                    status=IssueStatus.OPEN,
                    channel=self._helpdesk_channel,
                    link_url=new.link_url,
                    is_grouped=False,
                    updated_at=now,
                )
            )
            await issues.add_event(
                issue.id,
                actor=reporter,
                kind="opened",
                summary="Reported in Slack",
                detail={"priority": issue.priority, "category": issue.category, "issue_class": issue.issue_class,
                        "link_url": new.link_url},
                at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.render_issue(outbox, issue.id)
            text, blocks = build_reporter_confirmation(issue.id, issue.title, self._helpdesk_channel)
            await self._writer.direct_message(outbox, user=reporter, text=text, blocks=blocks, issue_id=issue.id)
            await self._lifecycle.opened(session, issue, reporter)
        self._writer.wake()
        return IssueChange(issue.id, issue.title, now)

    async def assign(self, issue_id: int, assignee: str, actor: str) -> IssueChange:
        """Give an open issue to someone: re-render its message, say so in the thread, DM the assignee."""
        now = self._clock()
        await self._require_role(issue_id, actor, Role.RESPONDER, "assign issues")
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await issues.require(issue_id, for_update=True, hint=LIST_HINT)
            if not issue.is_open:
                raise Conflict(f"Issue #{issue_id} is {issue.status.lower()}: reopen it before assigning it.")
            if issue.assignee == assignee:
                raise Conflict(f"Issue #{issue_id} is already assigned to <@{assignee}>.")
            previous = issue.assignee
            issue.assignee = assignee
            issue.updated_at = now
            await issues.add_event(
                issue_id,
                actor=actor,
                kind="assigned",
                summary=f"Assigned to <@{assignee}>",
                detail={"assignee": assignee, "previous": previous},
                at=now,
            )
            outbox = OutboxRepository(session)
            await self._writer.render_issue(outbox, issue_id)
            await self._writer.thread_reply(outbox, issue_id, build_assigned_line(actor, assignee))
            if assignee != actor:
                text, blocks = build_assignee_message(issue_id, issue.title, actor)
                await self._writer.direct_message(outbox, user=assignee, text=text, blocks=blocks, issue_id=issue_id)
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def comment(self, issue_id: int, text: str, actor: str) -> IssueChange:
        """A note on the issue's timeline, echoed as a line in its thread."""
        text = text.strip()
        if not text:
            raise InvalidInput(f"Write the comment after the id: `/issue comment {issue_id} what you found`.")
        if len(text) > COMMENT_LIMIT:
            raise InvalidInput(f"Comments are limited to {COMMENT_LIMIT} characters.")
        now = self._clock()
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            issue = await issues.require(issue_id, hint=LIST_HINT)
            await issues.add_event(
                issue_id, actor=actor, kind=COMMENT_KIND, summary=text, detail={"via": "command"}, at=now
            )
            await self._writer.thread_reply(OutboxRepository(session), issue_id, build_comment_line(actor, text))
        self._writer.wake()
        return IssueChange(issue_id, issue.title, now)

    async def record_thread_reply(self, channel: str, thread_ts: str, ts: str, user: str, text: str) -> int | None:
        """A person replied in an issue message's thread: keep it as a comment. None when not an issue's thread."""
        text = text.strip()
        if not text:
            return None
        async with self._sessionmaker.begin() as session:
            message = await SlackMessageRepository(session).get_by_ts(channel, thread_ts)
            if message is None:
                return None
            await IssueRepository(session).get(message.issue_id, for_update=True)  # one retried event at a time
            if await IssueLogRepository(session).has_comment_from_message(message.issue_id, ts):
                return message.issue_id
            await IssueRepository(session).add_event(
                message.issue_id,
                actor=user,
                kind=COMMENT_KIND,
                summary=text[:COMMENT_LIMIT],
                detail={"via": "thread", "channel": channel, "ts": ts},
                at=self._clock(),
            )
        return message.issue_id
