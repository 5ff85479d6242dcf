"""Feeding the knowledge base from the issues it did not cover.

    settings.py    the `knowledge_base:` config section (the folder write-ups go to, what a gap is)
    articles.py    a write-up as Markdown with front matter, made safe; file names (pure, unit-tested)
    prefill.py     what the write-up modal opens with, from the issue, its alerts and its timeline
    drafts.py      the folder on disk: drafts/ and the published articles, written atomically
    service.py     KnowledgeFeed: write up, list, publish, discard (roles, timeline, thread, reload)
    gaps.py        IssueGaps: recurring issues without an article, for `/kb gaps`
    blocks.py      the modal, `/kb drafts`, the issue half of `/kb gaps`
    listeners.py   "Write it up", the modal's submission, `/kb drafts|gaps`, Publish and Discard

`writable_folder` and `loaded_paths` are for the composition root: the folder is set up at start-up
and added to what the knowledge base loads, so drafts answer questions from the moment they are saved.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Callable

from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.outbox import OutboxWriter
from handlers.issues.ids import IssueAction
from handlers.knowledge.drafts import KnowledgeFolder
from handlers.knowledge.gaps import IssueGaps
from handlers.knowledge.ids import DraftAction, WriteUpModal
from handlers.knowledge.listeners import KnowledgeListeners, is_feed_command
from handlers.knowledge.service import KnowledgeFeed
from handlers.knowledge.settings import KnowledgeSettings
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.questions.service import QuestionService
from handlers.roles import RoleChecker
from handlers.slack.listeners import reporting_errors
from knowledge_base.loading import DEFAULT_ARTICLES_DIR
from storage.models import utcnow

log = logging.getLogger(__name__)

KB_COMMAND = "/kb"
FOLDER_NAME = "kb"


def writable_folder(settings: KnowledgeSettings, kb_paths: Sequence[Path], data_dir: Path) -> Path | None:
    """Where write-ups go, created if missing: `knowledge_base.folder`, else the first KB_PATHS folder,
    else `kb/` in `data_dir`. None (write-ups refused, with a reason) when it cannot be created."""
    folders = [path for path in kb_paths if not path.suffix]
    folder = settings.folder or (folders[0] if folders else data_dir / FOLDER_NAME)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        log.warning("knowledge base: write-ups are off: cannot create %s: %s", folder, error.strerror or error)
        return None
    return folder


def loaded_paths(kb_paths: Sequence[Path], folder: Path | None) -> list[Path]:
    """KB_PATHS (or the bundled articles), plus the write-up folder when it is not already among them."""
    paths = list(kb_paths) or [DEFAULT_ARTICLES_DIR]
    if folder is None:
        return paths
    resolved = folder.resolve()
    inside = any(resolved == path.resolve() or path.resolve() in resolved.parents for path in paths)
    return paths if inside else [*paths, folder]


@dataclass
class KnowledgeFeature:
    feed: KnowledgeFeed
    gaps: IssueGaps
    listeners: KnowledgeListeners

    def register(self, slack_app: AsyncApp) -> None:
        """Register before handlers/questions: both hear `/kb`, and Bolt runs the first listener that matches."""
        listeners = self.listeners
        slack_app.command(KB_COMMAND, matchers=[is_feed_command])(reporting_errors(listeners.kb))
        slack_app.action(IssueAction.WRITE_UP.value)(reporting_errors(listeners.open_write_up))
        slack_app.view(WriteUpModal.CALLBACK.value)(reporting_errors(listeners.submit_write_up))
        slack_app.action(DraftAction.PUBLISH.value)(reporting_errors(listeners.publish))
        slack_app.action(DraftAction.DISCARD.value)(reporting_errors(listeners.discard))


def build_feature(
    settings: KnowledgeSettings,
    *,
    folder: Path | None,
    knowledge: KnowledgeBaseLoader,
    questions: QuestionService,
    sessionmaker: async_sessionmaker[AsyncSession],
    reader: async_sessionmaker[AsyncSession],
    writer: OutboxWriter,
    roles: RoleChecker,
    tz: tzinfo,
    clock: Callable[[], datetime] = utcnow,
) -> KnowledgeFeature:
    feed = KnowledgeFeed(
        sessionmaker, reader, writer, knowledge, KnowledgeFolder(folder) if folder is not None else None, roles,
        clock=clock,
    )
    gaps = IssueGaps(reader, knowledge, roles, settings, tz=tz, clock=clock)
    return KnowledgeFeature(feed, gaps, KnowledgeListeners(feed, gaps, questions, clock=clock))
