"""What runs beside the HTTP server, started and stopped in one place (aiohttp's cleanup_ctx).

Start: Slack is asked whether the tokens work (a wrong bot or app token stops start-up, bot.slack_checks)
and which configured channels the bot cannot use (their ids are kept for routing); the knowledge base
begins loading (a thread; the server answers meanwhile), the database is migrated, then the supervisor
starts the webhook processor, the delivery worker, every periodic job, the KPI check, the auto-fix runs' owner and, with
SLACK_APP_TOKEN, the Socket Mode connection (last: Slack's events arrive once everything is ready).
Stop: the supervisor stops them newest first (the socket first: nothing new comes in), each finishing
what it holds within its grace period; the knowledge base's watcher stops last; the engines are disposed.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable, Callable

from aiohttp import web
from sqlalchemy.engine import make_url

from bot.opsbot import OPSBOT, Opsbot
from bot.settings import SettingsError
from bot.slack_checks import check_app_token, check_channels, check_token
from bot.socket_mode import socket_mode_connection
from core.supervisor import Supervisor
from storage.migrations import upgrade_to_head

log = logging.getLogger(__name__)

SUPERVISOR = web.AppKey("supervisor", Supervisor)
DELIVERY_GRACE_SECONDS = 15.0  # a post in flight finishes (Slack answers within the client timeout)
DATABASE_CHECK_SECONDS = 15.0
PROCESSOR_GRACE_SECONDS = 15.0  # the batch in hand commits; what is still stored waits for the next start
SOCKET_GRACE_SECONDS = 5.0  # closing the websocket; an envelope left unacked is sent again by Slack


async def background(app: web.Application) -> AsyncIterator[None]:
    """The cleanup_ctx that owns every background task of the app."""
    opsbot = app[OPSBOT]
    try:
        await _check_database(opsbot)
        await check_token(opsbot.slack_app.client)
        if opsbot.settings.slack_app_token is not None:
            await check_app_token(opsbot.slack_app.client, opsbot.settings.slack_app_token.get_secret_value())
    except BaseException:
        await _dispose(opsbot)
        raise
    if opsbot.resolve_people is not None:
        try:
            await opsbot.resolve_people()
        except Exception:  # noqa: BLE001 - Slack down: ids keep working, emails match nobody until a restart
            log.warning("could not look up the people the config names by email", exc_info=True)
    await check_channels(opsbot.channels, opsbot.config)
    supervisor = Supervisor()
    app[SUPERVISOR] = supervisor
    supervisor.start("knowledge", opsbot.knowledge.run)  # first: it loads while migrations run
    try:
        await upgrade_to_head(opsbot.engine)
    except BaseException:
        await supervisor.stop()
        await _dispose(opsbot)
        raise
    # Every wait of the processor includes `stop`: unlike the worker, it needs no waking to see it.
    supervisor.start("webhook-processor", opsbot.webhook_processor.run, grace=PROCESSOR_GRACE_SECONDS)
    supervisor.start("delivery", _delivering(opsbot), grace=DELIVERY_GRACE_SECONDS)
    for job in opsbot.scheduler.jobs:
        supervisor.start(f"job:{job.name}", job.loop)
    supervisor.start("kpi-source", opsbot.performance.run, restart=False)
    supervisor.start("autofix-runs", _autofix_owner(opsbot), restart=False)
    if opsbot.settings.slack_app_token is not None:
        app_token = opsbot.settings.slack_app_token.get_secret_value()
        supervisor.start("slack-socket-mode", socket_mode_connection(opsbot, app_token), grace=SOCKET_GRACE_SECONDS)
    yield
    await supervisor.stop()
    await _dispose(opsbot)


async def _check_database(opsbot: Opsbot) -> None:
    """One connection before anything else: an unreachable database is one line naming host and database.

    Only connecting is checked here; a migration that fails afterwards is a bug and keeps its traceback.
    """
    try:
        async with asyncio.timeout(DATABASE_CHECK_SECONDS):
            async with opsbot.engine.connect():
                pass  # checking a connection out of the pool opens it: that is the whole check
    except Exception as error:  # noqa: BLE001 - whatever the driver raises, the newcomer gets one line
        raise SettingsError(_database_unreachable(opsbot.settings.database_url, error)) from None


def _database_unreachable(database_url: str, error: BaseException) -> str:
    url = make_url(database_url)
    cause = getattr(error, "orig", None) or error  # SQLAlchemy wraps the driver's error
    reason = (str(cause).strip().splitlines() or [""])[0] or type(cause).__name__
    if isinstance(cause, TimeoutError):
        reason = f"no answer within {DATABASE_CHECK_SECONDS:g} s"
    if url.password:
        reason = reason.replace(str(url.password), "***")  # never shown, even if a driver echoes it
    if url.get_backend_name() == "sqlite":
        where = f"the SQLite file {url.database}"
    else:
        where = f"database {url.database!r} on {url.host}:{url.port or 5432}"
    return f"invalid setting DATABASE_URL: cannot reach {where}: {reason}"


def _delivering(opsbot: Opsbot) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def deliver(stop: asyncio.Event) -> None:
        waker = asyncio.ensure_future(_wake_when_set(stop, opsbot.worker.wake))
        try:
            await opsbot.worker.run(stop)
        finally:
            waker.cancel()

    return deliver


async def _wake_when_set(stop: asyncio.Event, wake: Callable[[], None]) -> None:
    await stop.wait()
    wake()  # the worker may be waiting for work: let it see `stop` at once


def _autofix_owner(opsbot: Opsbot) -> Callable[[asyncio.Event], Awaitable[None]]:
    async def own_runs(stop: asyncio.Event) -> None:
        await stop.wait()
        await opsbot.autofix.close()  # runs in flight are cancelled and their processes killed

    return own_runs


async def _dispose(opsbot: Opsbot) -> None:
    for extra in {opsbot.read_engine, opsbot.health_engine, opsbot.intake_engine} - {opsbot.engine}:
        await extra.dispose()
    await opsbot.engine.dispose()
