"""Silence and snooze from Slack.

    settings.py      the `alertmanager:` config section: the Alertmanagers opsbot may silence in (and why a list)
    alertmanager.py  the client for Alertmanager's API v2 (create, expire), with timeouts and no redirects
    matchers.py      what a silence matches (the labels the issue's alerts share), where the alert came from
    service.py       SilenceService: silence, lift, notice silences that ran out
    snoozes.py       SnoozeService: snooze, end early, bring issues back when their time is up
    views.py         what the issue message shows (handlers/issues/message_view.py loads it)
    blocks.py        the lines and controls on the message, the custom modal, the thread lines
    listeners.py     the selects, buttons and modal; ids.py their stable ids
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Callable

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.scheduler import Scheduler
from delivery.outbox import OutboxWriter
from handlers.roles import RoleChecker
from handlers.silences.alertmanager import AlertmanagerClient
from handlers.silences.ids import HoldAction, SilenceModal
from handlers.silences.listeners import HoldListeners
from handlers.silences.service import SilenceService
from handlers.silences.settings import AlertmanagerSettings
from handlers.silences.snoozes import SnoozeService
from handlers.slack.listeners import reporting_errors

EXPIRY_CHECK_SECONDS = 30.0  # how late a snooze may come back, or a run-out silence leave the message


@dataclass(frozen=True)
class Holds:
    """The feature's two services, for the composition root (and tests) to reach."""

    silences: SilenceService
    snoozes: SnoozeService
    client: AlertmanagerClient

    async def check_expiries(self) -> int:
        """The periodic job: snoozes whose time is up bring their issues back; silences that ran out leave."""
        return await self.snoozes.bring_back_due() + await self.silences.note_run_out()


    async def close(self, _app: web.Application | None = None) -> None:
        """Close the Alertmanager client's connections (an aiohttp on_cleanup handler)."""
        await self.client.close()


def build(
    sessionmaker: async_sessionmaker[AsyncSession],
    writer: OutboxWriter,
    settings: AlertmanagerSettings,
    roles: RoleChecker,
    *,
    clock: Callable[[], datetime],
) -> Holds:
    client = AlertmanagerClient(timeout_seconds=settings.timeout_seconds)
    return Holds(
        silences=SilenceService(sessionmaker, writer, client, settings, roles, clock=clock),
        snoozes=SnoozeService(sessionmaker, writer, roles, clock=clock),
        client=client,
    )


def register(slack_app: AsyncApp, holds: Holds, scheduler: Scheduler) -> None:
    listeners = HoldListeners(holds.silences, holds.snoozes)
    slack_app.action(HoldAction.SILENCE.value)(reporting_errors(listeners.choose_silence))
    slack_app.action(HoldAction.LIFT.value)(reporting_errors(listeners.lift))
    slack_app.action(HoldAction.SNOOZE.value)(reporting_errors(listeners.choose_snooze))
    slack_app.action(HoldAction.END_SNOOZE.value)(reporting_errors(listeners.end_snooze))
    slack_app.view(SilenceModal.CALLBACK.value)(reporting_errors(listeners.submit_custom))
    scheduler.every(EXPIRY_CHECK_SECONDS, "snoozes-and-silences", holds.check_expiries)
