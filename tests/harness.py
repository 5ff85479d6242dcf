"""A running opsbot on 127.0.0.1 wired to the Slack stand-in, as the integration tests drive it."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Awaitable, Callable

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.app import OPSBOT, Opsbot, create_app
from bot.config import OpsConfig
from bot.server import ConnectionLimits, GuardedTCPSite, make_runner
from bot.settings import Settings
from slack_standin import SlackStandIn
from slack_standin.signing import sign_request
from slack_standin.state import channel_names_in

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SIGNING_SECRET = "test-signing-secret"
WEBHOOK_TOKEN = "test-webhook-token"
BOT_TOKEN = "xoxb-test"
# Channels the tests type commands in, by the ids their payloads carry (the bot is in each).
TEST_CHANNEL_IDS = {"ops": "C0OPS"}
# The people the tests click as: the stand-in knows them (users.info, DMs), as a real workspace would.
TEST_USERS = (
    "U0A U0ALICE U0ANYONE U0BOB U0BOSS U0CAROL U0DANA U0DAVE U0DBA U0DBA1 U0DBA2 U0DBA3 U0DBA8 U0DBA9 U0DEV "
    "U0DEVON U0HUMAN U0INTERN U0LEAD U0MALLORY U0MANAGER U0OLIVIA U0OPS U0OTHER U0RAVI U0REPORTER "
    "U0RESPONDER U0STAFF U0ANNA U0BEN U0CLARA U0ME U0REP U0A1 U0B U0B1 U123 U111 W111 W222 W0ANN W23456789"
).split()


async def eventually(predicate: Callable[[], Awaitable[bool]], timeout: float = 10.0, what: str = "") -> None:
    """Poll every 20 ms until `predicate()` holds: tests wait for the event, and the bound only keeps
    a broken test from hanging."""
    deadline = time.monotonic() + timeout
    while not await predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout}s: {what or getattr(predicate, '__name__', 'condition')}")
        await asyncio.sleep(0.02)


def fixture_json(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


class Clock:
    """A controllable clock: tests move time instead of sleeping.

    It starts at `start` (now by default) and runs at the real rate from there, so a bot that waits
    for real time still sees it pass; `advance()` jumps it forward.
    """

    def __init__(self, start: datetime | None = None) -> None:
        real_now = datetime.now(timezone.utc)
        self._offset = (start - real_now) if start is not None else timedelta()

    def __call__(self) -> datetime:
        return datetime.now(timezone.utc) + self._offset

    def advance(self, **delta: float) -> None:
        self._offset += timedelta(**delta)


def test_config(**overrides: Any) -> OpsConfig:
    base: dict[str, Any] = {
        "default_channel": "#alerts",
        "delivery": {"channel_messages_per_second": 200, "poll_interval_seconds": 0.05, "lease_seconds": 5},
    }
    base.update(overrides)
    return OpsConfig.model_validate(base)


test_config.__test__ = False  # a factory, not a test, although test modules import it by this name


@dataclass
class RunningBot:
    url: str
    app: web.Application
    runner: web.AppRunner
    standin: SlackStandIn
    session: aiohttp.ClientSession
    clock: Clock
    site: GuardedTCPSite | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def opsbot(self) -> Opsbot:
        return self.app[OPSBOT]

    async def post_webhook(
        self, source: str, body: Any, *, token: str | None = WEBHOOK_TOKEN, raw: bytes | None = None,
        prefer_outcome: bool = True,
    ) -> tuple[int, Any]:
        """`prefer_outcome`: answered once processed, with what processing did (handlers/alerts/webhooks.py),
        so a test reads its alerts' effects at once; without, answered once stored, as Alertmanager is."""
        headers = {"Content-Type": "application/json"}
        if prefer_outcome:
            headers["Prefer"] = "return=representation"
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        data = raw if raw is not None else json.dumps(body).encode()
        async with self.session.post(f"{self.url}/webhooks/{source}", data=data, headers=headers) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except json.JSONDecodeError:
                return response.status, text

    async def post_slack(
        self, body: str, *, content_type: str = "application/x-www-form-urlencoded", timestamp: int | None = None,
        secret: str = SIGNING_SECRET,
    ) -> tuple[int, str]:
        headers = {"Content-Type": content_type, **sign_request(secret, body, timestamp)}
        async with self.session.post(f"{self.url}/slack/events", data=body.encode(), headers=headers) as response:
            return response.status, await response.text()

    async def wait_until(self, predicate: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
        await eventually(predicate, timeout)

    async def webhooks_processed(self, timeout: float = 10.0) -> None:
        """Until every webhook stored has been processed (or parked)."""
        from storage.repositories.received_webhook import ReceivedWebhookRepository

        async def processed() -> bool:
            async with self.opsbot.sessionmaker() as session:
                waiting, _, _ = await ReceivedWebhookRepository(session).backlog()
            return waiting == 0

        await eventually(processed, timeout, "every stored webhook processed")

    async def outbox_drained(self, timeout: float = 5.0) -> None:
        """Until everything accepted has reached Slack: the stored webhooks processed, then the outbox empty."""
        from storage.repositories.outbox import OutboxRepository
        from storage.repositories.received_webhook import ReceivedWebhookRepository

        async def drained() -> bool:
            async with self.opsbot.sessionmaker() as session:
                waiting, _, _ = await ReceivedWebhookRepository(session).backlog()
                depth, _ = await OutboxRepository(session).pending_stats()
            return waiting == 0 and depth == 0

        await self.wait_until(drained, timeout)


async def start_bot(
    database_url: str,
    standin: SlackStandIn,
    *,
    config: OpsConfig | None = None,
    clock: Clock | None = None,
    port: int = 0,
    settings_overrides: dict[str, Any] | None = None,
) -> RunningBot:
    settings = Settings(**{
        "slack_bot_token": SecretStr(BOT_TOKEN),
        "slack_signing_secret": SecretStr(SIGNING_SECRET),
        "alert_webhook_token": SecretStr(WEBHOOK_TOKEN),
        "slack_api_url": standin.api_url,
        "database_url": database_url,
        **(settings_overrides or {}),  # may replace the defaults above (Socket Mode runs without a signing secret)
    })
    clock = clock or Clock()
    config = config or test_config()
    prepare_workspace(standin, config)
    app = create_app(settings, config, clock=clock)
    limits = ConnectionLimits(
        head_timeout=settings.http_head_timeout_seconds, max_connections=settings.http_max_connections
    )
    runner = make_runner(app, limits)  # the same guarded listener as `python -m bot`
    await runner.setup()
    site = GuardedTCPSite(runner, "127.0.0.1", port, limits)
    await site.start()
    bound = site.bound_port
    session = aiohttp.ClientSession()
    return RunningBot(f"http://127.0.0.1:{bound}", app, runner, standin, session, clock, site)


def prepare_workspace(standin: SlackStandIn, config: OpsConfig) -> None:
    """The workspace the bot was installed in: the channels its config names, with the bot invited,
    and the test users. The stand-in refuses posts anywhere else, as Slack does."""
    for name in channel_names_in(config.model_dump(mode="json")):
        standin.add_channel(name)
    for name, channel_id in TEST_CHANNEL_IDS.items():
        standin.add_channel(name, channel_id=channel_id)
    for user in TEST_USERS:
        if standin.workspace.find_user(user) is None:  # a test's own richer record stays
            standin.add_user(user)


async def stop_bot(bot: RunningBot) -> None:
    await bot.session.close()
    await bot.runner.cleanup()
