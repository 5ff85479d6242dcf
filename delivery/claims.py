"""Claiming outbox items: one worker at a time per ordering key (an issue), on every replica.

Issue 13 item 12: two replicas on one PostgreSQL posted 49 of 177 issues twice. The claim was one
`UPDATE outbox ... WHERE id IN (SELECT ... LIMIT n FOR UPDATE SKIP LOCKED)`; PostgreSQL may run
that subquery again while it re-checks rows, so a worker that asked for 1 item leased 54. They
queued behind the channel's pace (1 post/s) for longer than the lease, the other replica found the
lease expired, claimed the same render and both posted it (no message was recorded yet).

Now the head items are read with a plain SELECT ... LIMIT, each is taken by claiming its key
(`delivery_claims`, so a key in flight is never handed out again, whichever row is its head),
the claim is renewed while the item is in flight, and a post checks it once more (the fence in
`DeliveryRecorder.record_attempts`) so a worker that lost its claim never posts.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Awaitable, Callable, Collection
from typing import Any
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from delivery.rate_limits import RateLimits
from delivery.posts import attempt_key
from delivery.outbox import SlackOperation
from storage.models import Issue, OutboxItem, SlackMessage, SlackPostAttempt
from storage.repositories.outbox import OutboxRepository
from storage.repositories.slack import SlackMessageRepository
from storage.repositories.issue import IssueRepository
from storage.repositories.outbox import DeliveryClaimRepository
from storage.repositories.slack import SlackPostAttemptRepository, SlackRateLimitRepository

log = logging.getLogger(__name__)

RENEW_ATTEMPTS = 3

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

# What the issue message shows, loaded in the claiming transaction, and how it becomes Slack's text
# and blocks: both come from the issue feature through the composition root, so delivery knows no feature.
IssueView = Any
ViewLoader = Callable[[AsyncSession, int], Awaitable[IssueView | None]]
IssueRenderer = Callable[[IssueView], tuple[str, list[dict[str, Any]]]]


@dataclass
class Prepared:
    """A claimed item with what its Slack call needs, read in the claiming transaction."""

    item: OutboxItem
    view: IssueView | None = None
    message: tuple[str, str] | None = None  # (channel, ts) of the issue's message, if posted
    attempt: SlackPostAttempt | None = None  # an earlier post of this item (or issue) with no known outcome
    attempt_channel: str | None = None  # where to look for it: the attempt's channel, by id when known
    render_error: str | None = None


class OutboxClaimer:
    def __init__(
        self,
        sessionmaker: async_sessionmaker[AsyncSession],
        worker_id: str,
        lease: timedelta,
        load_view: ViewLoader,
        limits: RateLimits,
        other_operations: Collection[str],
        channel_ids: dict[str, str],
        clock: Callable[[], datetime],
    ) -> None:
        self._sessionmaker = sessionmaker
        self._worker_id = worker_id
        self._lease = lease
        self._load_view = load_view
        self._limits = limits
        self._other_operations = other_operations  # delivered by other services (PagerDuty): no Slack call
        self._channel_ids = channel_ids  # "#alerts" -> "C0123", shared with the worker, which learns from answers
        self._clock = clock

    async def claim(self, limit: int) -> list[Prepared]:
        """Up to `limit` items, one per ordering key, each with its key claimed for this worker.

        The rate limits every replica recorded are loaded first; items whose first call is paused
        are deferred past the pause instead of claimed. Claiming an issue's render supersedes the
        issue's other pending renders (the latest render wins) before its view is read.
        """
        async with self._sessionmaker.begin() as session:
            now = self._clock()
            self._limits.load(await SlackRateLimitRepository(session).active(now), now)
            outbox = OutboxRepository(session)
            candidates = await outbox.due_heads(now=now, limit=limit)
            if not candidates:
                return []
            issue_ids = sorted({item.issue_id for item in candidates if item.issue_id is not None})
            messages = await SlackMessageRepository(session).get_for_issues(issue_ids)
            issues = await IssueRepository(session).get_many(issue_ids)
            ready = await self._defer_paused(outbox, candidates, messages, issues, now)
            until = now + self._lease
            won = await DeliveryClaimRepository(session).take(
                [item.ordering_key for item in ready], self._worker_id, now=now, until=until
            )
            items = [item for item in ready if item.ordering_key in won]
            await outbox.lease([item.id for item in items], self._worker_id, until=until)
            # Before the views are read: whatever those renders were queued for is committed, so shown.
            renders = [item for item in items if item.operation == SlackOperation.RENDER_ISSUE and item.issue_id]
            await outbox.supersede(
                [item.ordering_key for item in renders], SlackOperation.RENDER_ISSUE, keep=[item.id for item in renders]
            )
            attempts = await SlackPostAttemptRepository(session).get_many([attempt_key(item) for item in items])
            prepared = []
            for item in items:
                message = messages.get(item.issue_id) if item.issue_id is not None else None
                entry = Prepared(item, message=(message.channel, message.ts) if message else None)
                entry.attempt = attempts.get(attempt_key(item))
                if entry.attempt is not None:
                    entry.attempt_channel = await self._channel_id(session, entry.attempt.channel)
                if item in renders:
                    await self._read_view(session, entry)
                prepared.append(entry)
        return prepared

    async def _channel_id(self, session: AsyncSession, channel: str) -> str:
        if _CHANNEL_ID.match(channel):
            return channel
        if channel not in self._channel_ids:
            found = await SlackMessageRepository(session).channel_id_for(channel)
            if found is None:
                return channel  # looked for by name: the stand-in answers, Slack refuses and the post goes ahead
            self._channel_ids[channel] = found
        return self._channel_ids[channel]

    async def renew(self, held: dict[str, int]) -> set[str]:
        """Heartbeat for {ordering key: item id} in flight here; returns the keys still ours."""
        until = self._clock() + self._lease
        keys, item_ids = sorted(held), sorted(held.values())  # rows locked in one order by every worker
        for attempt in range(RENEW_ATTEMPTS):
            try:
                async with self._sessionmaker.begin() as session:
                    kept = await DeliveryClaimRepository(session).renew(keys, self._worker_id, until=until)
                    await OutboxRepository(session).renew_leases(item_ids, self._worker_id, until=until)
                return kept
            except DBAPIError:
                # A deadlock victim (PostgreSQL picks one when an outcome and a renewal cross): a
                # heartbeat missed here lets the lease run out under load, so try again at once.
                if attempt == RENEW_ATTEMPTS - 1:
                    raise
                log.warning("renewing %d delivery claims failed; retrying", len(keys), exc_info=True)
        return set()

    async def _read_view(self, session: AsyncSession, entry: Prepared) -> None:
        assert entry.item.issue_id is not None
        try:
            entry.view = await self._load_view(session, entry.item.issue_id)
        except DBAPIError:
            raise  # the transaction is gone: nothing is claimed, the loop tries again
        except Exception as error:  # noqa: BLE001 - one broken issue must not stop every other delivery
            log.exception("loading issue %s for its message failed", entry.item.issue_id)
            entry.render_error = f"render failed: loading the issue: {error!r}"

    async def _defer_paused(
        self,
        outbox: OutboxRepository,
        candidates: list[OutboxItem],
        messages: dict[int, SlackMessage],
        issues: dict[int, Issue],
        now: datetime,
    ) -> list[OutboxItem]:
        """Items whose first Slack call is paused by a 429 move past the pause instead of being claimed."""
        ready: list[OutboxItem] = []
        deferred: dict[datetime, list[int]] = {}
        for item in candidates:
            target = self._first_call(item, messages, issues)
            until = self._limits.paused_until(*target, now) if target else None
            if until is None:
                ready.append(item)
            else:
                deferred.setdefault(until, []).append(item.id)
        for until, item_ids in deferred.items():
            await outbox.defer(item_ids, until=until)
        return ready

    def _first_call(
        self, item: OutboxItem, messages: dict[int, SlackMessage], issues: dict[int, Issue]
    ) -> tuple[str, str] | None:
        """(method, channel) of the Slack call an item makes first; None for other services' items."""
        if item.operation in self._other_operations:
            return None
        message = messages.get(item.issue_id) if item.issue_id is not None else None
        if item.operation == SlackOperation.RENDER_ISSUE:
            if message is not None:
                return "chat.update", message.channel
            issue = issues.get(item.issue_id) if item.issue_id is not None else None
            return "chat.postMessage", (issue.channel or "") if issue else ""
        if item.operation == SlackOperation.THREAD_REPLY:
            return "chat.postMessage", message.channel if message else ""
        if item.operation == SlackOperation.POST_MESSAGE:
            return "chat.postMessage", str(item.payload.get("channel") or "")
        if item.operation == SlackOperation.DIRECT_MESSAGE:
            return "conversations.open", ""
        return None
