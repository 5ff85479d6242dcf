"""Hooks on an issue's life (opened, acknowledged, resolved, reopened), run inside the changing transaction.

Features react to each other through these instead of calling each other: auto-fix verification
listens for resolutions, escalation chains stop on acknowledgement, surveys go out on resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Issue

IssueHook = Callable[[AsyncSession, Issue, str], Awaitable[None]]  # (session, issue, actor)


@dataclass
class IssueLifecycle:
    on_opened: list[IssueHook] = field(default_factory=list)
    on_acknowledged: list[IssueHook] = field(default_factory=list)
    on_resolved: list[IssueHook] = field(default_factory=list)
    on_reopened: list[IssueHook] = field(default_factory=list)

    async def opened(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        for hook in self.on_opened:
            await hook(session, issue, actor)

    async def acknowledged(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        for hook in self.on_acknowledged:
            await hook(session, issue, actor)

    async def resolved(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        for hook in self.on_resolved:
            await hook(session, issue, actor)

    async def reopened(self, session: AsyncSession, issue: Issue, actor: str) -> None:
        for hook in self.on_reopened:
            await hook(session, issue, actor)
