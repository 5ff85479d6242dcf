"""Webhooks when what is behind them fails or a sender stalls: the database down (503 with Retry-After,
so the sender keeps the alert and sends it again) and a body that never finishes (408).

Real HTTP on loopback. Where the whole bot cannot run (it migrates its database at start-up), only
the webhook routes are served, in front of a service whose database is unreachable.
"""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from core.metrics import Metrics
from handlers.alerts.processor import WebhookProcessor
from handlers.alerts.service import AlertService
from handlers.alerts.webhooks import AlertWebhooks
from handlers.issues.service import IssueService
from delivery.outbox import OutboxWriter
from slack_standin import SlackStandIn
from storage.database import create_engine, create_sessionmaker
from storage.errors import StorageUnavailable
from storage.models import Alert
from tests.harness import WEBHOOK_TOKEN, RunningBot, fixture_json, start_bot, stop_bot, test_config
from tests.support.postgres import postgres_database_url  # noqa: F401 - fixture

AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json"}


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, Any]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), timeout=10)
    return int(lines[0].split()[1]), json.loads(body)


async def _alert_count(bot: RunningBot) -> int:
    async with bot.opsbot.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Alert))).scalar_one()


# -- the database down: 503 with Retry-After -------------------------------------------------------


@asynccontextmanager
async def _webhooks_over(service: Any, **options: Any) -> AsyncIterator[str]:
    """Only the webhook routes, on loopback, in front of `service`; yields the base URL."""
    app = web.Application()
    app.add_routes(AlertWebhooks(service, WEBHOOK_TOKEN, Metrics(), **options).routes())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


async def _post(url: str, source: str, body: Any) -> tuple[int, dict[str, str], Any]:
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/webhooks/{source}", json=body, headers=AUTH) as response:
            return response.status, dict(response.headers), await response.json()


async def test_a_postgresql_url_on_a_closed_port_gets_503_with_retry_after() -> None:
    with socket.socket() as closed:  # bound, never listening: connections to it are refused
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        engine = create_engine(f"postgresql+asyncpg://opsbot@127.0.0.1:{port}/opsbot")
        sessionmaker, writer = create_sessionmaker(engine), OutboxWriter()
        processor = WebhookProcessor(sessionmaker, test_config(), writer, issues=IssueService(sessionmaker, writer))
        service = AlertService(engine, processor)
        try:
            async with _webhooks_over(service) as url:
                for source, body in [
                    ("alertmanager", fixture_json("alertmanager_real_firing.json")),
                    ("grafana", fixture_json("grafana_webhook_firing_docs.json")),
                    ("generic", {"title": "Backup failed"}),
                ]:
                    status, headers, answer = await _post(url, source, body)
                    assert status == 503, (source, status, answer)
                    assert int(headers["Retry-After"]) > 0 and "retry" in answer["error"]
        finally:
            await engine.dispose()


class _FullDisk:
    """A service whose storage layer says why it cannot take the write, and when to come back."""

    async def receive(self, source: str, body: bytes, **options: Any) -> int:
        raise StorageUnavailable("disk full", retry_after_seconds=42)


async def test_storage_unavailable_gets_503_with_its_retry_after() -> None:
    async with _webhooks_over(_FullDisk()) as url:
        status, headers, answer = await _post(url, "alertmanager", fixture_json("alertmanager_real_firing.json"))
    assert status == 503 and headers["Retry-After"] == "42", answer


class _Switchable:
    """A TCP forwarder on loopback in front of PostgreSQL that can be switched off: 'the database went away'."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self._target = (target_host, target_port)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()
        self.port = 0

    @property
    def running(self) -> bool:
        return self._server is not None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._forward, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Refuse new connections and cut the open ones, as a crashed server would."""
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        await self._server.wait_closed()
        self._server = None

    async def _forward(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(*self._target)
        except OSError:
            client_writer.transport.abort()
            return
        self._writers |= {client_writer, server_writer}

        async def pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while data := await reader.read(65536):
                    writer.write(data)
                    await writer.drain()
            except (OSError, asyncio.CancelledError):
                pass
            finally:
                writer.transport.abort()

        await asyncio.gather(pump(client_reader, server_writer), pump(server_reader, client_writer))
        self._writers -= {client_writer, server_writer}


@pytest.mark.postgres
async def test_postgresql_going_away_gets_503_and_the_resent_alert_is_stored(
    postgres_database_url: str, standin: SlackStandIn  # noqa: F811
) -> None:
    url = make_url(postgres_database_url)
    proxy = _Switchable(url.host or "127.0.0.1", url.port or 5432)
    await proxy.start()
    bot = await start_bot(url.set(port=proxy.port).render_as_string(hide_password=False), standin)
    try:
        status, _ = await bot.post_webhook("alertmanager", fixture_json("alertmanager_real_amtool_firing.json"))
        assert status == 202

        await proxy.stop()
        firing = fixture_json("alertmanager_real_firing.json")
        async with bot.session.post(f"{bot.url}/webhooks/alertmanager", json=firing, headers=AUTH) as response:
            assert response.status == 503, await response.text()
            assert int(response.headers["Retry-After"]) > 0

        await proxy.start()  # the same port: PostgreSQL is back, and Alertmanager sends the group again
        status, answer = await bot.post_webhook("alertmanager", firing)
        assert status == 202 and answer["new"] == 2, answer
        assert await _alert_count(bot) == 3
    finally:
        await stop_bot(bot)
        if proxy.running:
            await proxy.stop()


# -- a sender that stalls: 408 ---------------------------------------------------------------------


async def test_a_body_that_never_finishes_gets_408() -> None:
    async with _webhooks_over(_FullDisk(), body_timeout_seconds=0.2) as url:
        host, port = url.removeprefix("http://").split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            writer.write(
                f"POST /webhooks/generic HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {WEBHOOK_TOKEN}\r\n"
                f"Content-Length: 1000\r\n\r\n{{\"title\": ".encode()
            )
            await writer.drain()
            status, answer = await _read_answer(reader)
            writer.write(b" " * 990)  # at last the rest, which the server drains before closing
            assert await asyncio.wait_for(reader.read(), timeout=10) == b""
        finally:
            writer.close()
    assert status == 408 and "not received within 0.2 seconds" in answer["error"]
