"""The listener survives slow and numerous clients: heads time out, connections are capped."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

import pytest

from slack_standin import SlackStandIn
from tests.harness import RunningBot, start_bot, stop_bot

HEALTH_REQUEST = b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"


@pytest.fixture
async def guarded_bot(sqlite_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(
        sqlite_url, standin, settings_overrides={"http_head_timeout_seconds": 0.5, "http_max_connections": 8}
    )
    yield running
    await stop_bot(running)


async def _open(bot: RunningBot) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = bot.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _closed_by_server(reader: asyncio.StreamReader) -> bytes:
    """Everything the server sent before closing; the bounded wait only guards against a hang."""
    return await asyncio.wait_for(reader.read(), timeout=30)


async def test_a_client_that_never_finishes_its_head_is_disconnected(guarded_bot: RunningBot) -> None:
    reader, writer = await _open(guarded_bot)
    writer.write(b"POST /webhooks/generic HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    await writer.drain()
    assert await _closed_by_server(reader) == b""
    assert guarded_bot.site is not None and guarded_bot.site.stats.timed_out == 1
    writer.close()


async def test_a_head_that_arrives_in_pieces_is_served(guarded_bot: RunningBot) -> None:
    reader, writer = await _open(guarded_bot)
    for piece in (HEALTH_REQUEST[:10], HEALTH_REQUEST[10:30], HEALTH_REQUEST[30:]):
        writer.write(piece)
        await writer.drain()
    answer = await _closed_by_server(reader)
    assert answer.startswith(b"HTTP/1.1 200")
    writer.close()


async def test_connections_over_the_cap_get_503_and_the_rest_are_served(guarded_bot: RunningBot) -> None:
    assert guarded_bot.site is not None
    idle = [await _open(guarded_bot) for _ in range(8)]  # a slow-loris fills every slot
    for _, writer in idle:
        writer.write(b"GET /")
        await writer.drain()

    async def cap_reached() -> bool:
        return guarded_bot.site.stats.open == 8  # type: ignore[union-attr]

    await guarded_bot.wait_until(cap_reached)
    reader, writer = await _open(guarded_bot)
    refused = await _closed_by_server(reader)
    assert refused.startswith(b"HTTP/1.1 503") and b"Retry-After" in refused
    writer.close()

    # The slow clients are cut off, which frees the slots for a real request.
    for idle_reader, _ in idle:
        await _closed_by_server(idle_reader)
    for _, idle_writer in idle:
        idle_writer.close()
    reader, writer = await _open(guarded_bot)
    writer.write(HEALTH_REQUEST)
    await writer.drain()
    assert (await _closed_by_server(reader)).startswith(b"HTTP/1.1 200")
    writer.close()
