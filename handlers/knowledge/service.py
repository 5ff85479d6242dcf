"""Feeding the knowledge base: write an issue up as a draft, list the drafts, publish or discard one.

A draft is a Markdown file in the knowledge base's drafts/ folder, so the knowledge base itself is
the store (no table): what the team edits by hand and what the bot writes are the same files. Each
step is also recorded where people look for history: a line in the issue's timeline (`/issue show`)
and its thread, and a log line. After each change the knowledge base is reloaded before the person
is told, so a question asked right after finds the draft (the folder watcher would too, a little
later). Writing up needs the responder role, like resolving; publishing and discarding, a manager.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Callable

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.outbox import OutboxWriter
from handlers.errors import InvalidInput, PermissionDenied
from handlers.knowledge.articles import WriteUp, file_stem, render_article
from handlers.knowledge.drafts import DraftFile, KnowledgeFolder
from handlers.knowledge.prefill import WriteUpForm, prefill
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.roles import Role, RoleChecker
from handlers.slack.blockkit import escape, truncate
from storage.models import utcnow
from storage.repositories.alert import AlertRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.outbox import OutboxRepository

log = logging.getLogger(__name__)

WRITTEN_EVENT = "kb_draft_written"
PUBLISHED_EVENT = "kb_draft_published"
DISCARDED_EVENT = "kb_draft_discarded"
MAX_ALERTS = 10
DRAFTS_SHOWN = 20
NO_FOLDER = (
    "The knowledge base has no folder opsbot can write to, so write-ups cannot be saved. "
    "An admin sets one with `knowledge_base.folder` in the opsbot config (or KB_PATHS)."
)


@dataclass(frozen=True)
class SavedDraft:
    issue_id: int
    name: str  # the file name in drafts/
    title: str
    path: Path
    author: str


@dataclass(frozen=True)
class DraftList:
    drafts: list[DraftFile]
    total: int
    can_manage: bool  # whether the person asking may publish and discard
    managers: str  # who may, as mrkdwn ("<@U1>, <@U2>"), for those who may not


@dataclass(frozen=True)
class HandledDraft:
    """A draft a manager published (`path` set) or discarded (`path` None)."""

    draft: DraftFile
    by: str
    path: Path | None = None

    @property
    def published(self) -> bool:
        return self.path is not None


class KnowledgeFeed:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        reader: async_sessionmaker[AsyncSession],
        writer: OutboxWriter,
        knowledge: KnowledgeBaseLoader,
        folder: KnowledgeFolder | None,
        roles: RoleChecker,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """`folder` is None when no writable knowledge-base folder could be set up at start-up."""
        self._sessionmaker = sessionmaker
        self._reader = reader
        self._writer = writer
        self._knowledge = knowledge
        self.folder = folder
        self._roles = roles
        self._clock = clock

    async def start_write_up(self, issue_id: int, user: str) -> WriteUpForm:
        """What the modal opens with; refused before the modal opens when it could not be saved."""
        self._require_folder()
        await self._roles.require(user, Role.RESPONDER, "write issues up for the knowledge base")
        async with self._reader() as session:
            issues = IssueRepository(session)
            issue = await issues.require(issue_id)
            alerts = await AlertRepository(session).list_for_issue(issue_id, limit=MAX_ALERTS)
            events = await issues.list_events(issue_id)
        return prefill(issue, alerts, events)

    async def save_write_up(self, issue_id: int, write_up: WriteUp, user: str) -> SavedDraft:
        """Write the draft and record it in the issue's timeline, as one step: if the record cannot be
        written, the file is removed again."""
        folder = self._require_folder()
        await self._roles.require(user, Role.RESPONDER, "write issues up for the knowledge base")
        now = self._clock()
        text = render_article(write_up, issue_id=issue_id, author=user, created=now)
        path: Path | None = None
        try:
            async with self._sessionmaker.begin() as session:
                issues = IssueRepository(session)
                await issues.require(issue_id)
                path = await asyncio.to_thread(folder.create_draft, file_stem(write_up.title, issue_id), text)
                draft = await asyncio.to_thread(folder.read_draft, path.name)
                await issues.add_event(
                    issue_id, actor=user, kind=WRITTEN_EVENT, summary=f"Written up for the knowledge base: {draft.title}",
                    detail={"draft": path.name}, at=now,
                )
        except BaseException:
            if path is not None:
                path.unlink(missing_ok=True)
            raise
        log.info("knowledge base: %s wrote up issue #%s as draft %s", user, issue_id, path)
        return SavedDraft(issue_id, path.name, draft.title, path, user)

    async def announce_write_up(self, saved: SavedDraft) -> None:
        """Once the modal has closed: reload so answers find the draft, then tell the issue's thread."""
        await self._reload()
        line = (
            f"📝 <@{saved.author}> wrote this up for the knowledge base: *{escape(truncate(saved.title, 200))}*. "
            "It answers questions now, marked as a draft until a manager publishes it (`/kb drafts`)."
        )
        await self._thread_line(saved.issue_id, line)

    async def drafts(self, user: str) -> DraftList:
        folder = self._require_folder()
        found = await asyncio.to_thread(folder.list_drafts)
        can_manage = await self._roles.has(user, Role.MANAGER)
        return DraftList(found[:DRAFTS_SHOWN], len(found), can_manage, self._managers())

    async def publish(self, name: str, user: str) -> HandledDraft:
        folder = self._require_folder()
        await self._require_manager(user, "publish drafts")
        done = await asyncio.to_thread(folder.publish, name, by=user, at=self._clock())
        log.info("knowledge base: %s published draft %s as %s", user, name, done.path)
        handled = HandledDraft(done.draft, user, done.path)
        await self._record(handled, PUBLISHED_EVENT, f"Write-up published in the knowledge base: {done.draft.title}")
        return handled

    async def discard(self, name: str, user: str) -> HandledDraft:
        folder = self._require_folder()
        await self._require_manager(user, "discard drafts")
        draft = await asyncio.to_thread(folder.discard, name)
        log.info("knowledge base: %s discarded draft %s", user, name)
        handled = HandledDraft(draft, user)
        await self._record(handled, DISCARDED_EVENT, f"Write-up discarded from the knowledge base's drafts: {draft.title}")
        return handled

    async def _record(self, handled: HandledDraft, kind: str, summary: str) -> None:
        """Reload, then the source issue's timeline and thread (when the draft names an issue that exists)."""
        await self._reload()
        issue_id = handled.draft.source_issue
        if issue_id is None:
            return
        async with self._sessionmaker.begin() as session:
            issues = IssueRepository(session)
            if await issues.get(issue_id) is None:
                return
            await issues.add_event(
                issue_id, actor=handled.by, kind=kind, summary=summary,
                detail={"draft": handled.draft.name, "article": handled.path.name if handled.path else None},
                at=self._clock(),
            )
            verb = "published the write-up" if handled.published else "discarded the draft write-up"
            title = escape(truncate(handled.draft.title, 200))
            await self._writer.thread_reply(OutboxRepository(session), issue_id, f"📚 <@{handled.by}> {verb} *{title}*.")
        self._writer.wake()

    async def _thread_line(self, issue_id: int, text: str) -> None:
        async with self._sessionmaker.begin() as session:
            await self._writer.thread_reply(OutboxRepository(session), issue_id, text)
        self._writer.wake()

    async def _reload(self) -> None:
        try:
            await self._knowledge.reload()
        except Exception:  # noqa: BLE001 - the file is written; the watcher or the next reload picks it up
            log.warning("knowledge base: reload after a write-up change failed", exc_info=True)

    async def _require_manager(self, user: str, to_do: str) -> None:
        if not await self._roles.has(user, Role.MANAGER):
            raise PermissionDenied(f"Only managers can {to_do}: ask {self._managers()}.")

    def _managers(self) -> str:
        named = [*self._roles.members(Role.MANAGER), *self._roles.members(Role.ADMIN)]
        return ", ".join(dict.fromkeys(_mention(person) for person in named)) or "an admin"

    def _require_folder(self) -> KnowledgeFolder:
        if self.folder is None:
            raise InvalidInput(NO_FOLDER)
        return self.folder


def _mention(person: str) -> str:
    """How the config names someone, as Slack shows it: users and groups as mentions, emails as text."""
    if person[:1] in ("U", "W") and person.isalnum():
        return f"<@{person}>"
    if person[:1] == "S" and person.isalnum():
        return f"<!subteam^{person}>"
    return escape(person)
