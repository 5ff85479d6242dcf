"""Alert webhook bodies however they arrive: large, slow, chunked, compressed or hostile.

Real HTTP on loopback, on SQLite and PostgreSQL. What is promised: a body is read whole (up to the
cap, and refused with 413 as soon as it passes it), any input gets a 2xx or a 4xx naming the
problem, and hostile text is stored the same way on both databases. (A database that is down:
test_webhook_outages.py.)
"""

from __future__ import annotations

import asyncio
import copy
import gzip
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from handlers.alerts.webhooks import MAX_BODY_BYTES
from storage.models import Alert
from tests.harness import WEBHOOK_TOKEN, RunningBot, fixture_json

# Answered once processed (handlers/alerts/webhooks.py), so the alerts a 202 stands for can be counted at once.
AUTH = {"Authorization": f"Bearer {WEBHOOK_TOKEN}", "Content-Type": "application/json", "Prefer": "return=representation"}
# How long the server is given to (wrongly) answer a body it has only half of.
EARLY_ANSWER_WINDOW = 0.3


async def _alerts(bot: RunningBot) -> list[Alert]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(Alert).order_by(Alert.id))).scalars())


async def _alert_count(bot: RunningBot) -> int:
    async with bot.opsbot.sessionmaker() as session:
        return (await session.execute(select(func.count()).select_from(Alert))).scalar_one()


def _notification(alerts: int) -> dict[str, Any]:
    """An Alertmanager notification of one group with `alerts` distinct alerts, ~660 bytes each."""
    body = fixture_json("alertmanager_real_firing.json")
    template = body["alerts"][0]
    body["alerts"] = []
    for n in range(alerts):
        alert = copy.deepcopy(template)
        alert["labels"]["instance"] = f"checkout-{n}:8080"
        alert["labels"]["pod"] = f"checkout-7d9f8b6c5d-{n:05d}"
        alert["fingerprint"] = f"{n:016x}"
        alert["annotations"]["summary"] = f"High 5xx error rate on checkout-{n}"
        body["alerts"].append(alert)
    return body


# -- bodies read whole, with a cap ------------------------------------------------------------------


async def test_a_900_alert_notification_is_read_whole_and_every_alert_stored(bot: RunningBot) -> None:
    raw = json.dumps(_notification(900)).encode()
    assert 550_000 < len(raw) < MAX_BODY_BYTES
    status, answer = await bot.post_webhook("alertmanager", None, raw=raw)
    assert status == 202, answer
    assert answer["alerts"] == 900 and answer["new"] == 900
    assert await _alert_count(bot) == 900


async def _connect(bot: RunningBot) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    host, port = bot.url.removeprefix("http://").split(":")
    return await asyncio.open_connection(host, int(port))


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, Any]:
    """Status and JSON body of one response, read by its Content-Length (the connection may stay open)."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    lines = head.decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in lines[1:] if line)
    body = await asyncio.wait_for(reader.readexactly(int(headers["Content-Length"])), timeout=10)
    return int(lines[0].split()[1]), json.loads(body)


def _request_head(bot: RunningBot, source: str, *, length: int | None) -> bytes:
    """A request head as a sender writes it: Content-Length, or chunked when `length` is None."""
    framing = "Transfer-Encoding: chunked" if length is None else f"Content-Length: {length}"
    return (
        f"POST /webhooks/{source} HTTP/1.1\r\nHost: {bot.url.removeprefix('http://')}\r\n"
        f"Authorization: Bearer {WEBHOOK_TOKEN}\r\nContent-Type: application/json\r\n"
        f"Prefer: return=representation\r\n{framing}\r\nConnection: close\r\n\r\n"
    ).encode()


async def test_a_body_sent_in_two_writes_with_a_pause_is_read_whole(bot: RunningBot) -> None:
    raw = json.dumps(fixture_json("alertmanager_real_firing.json")).encode()
    reader, writer = await _connect(bot)
    try:
        writer.write(_request_head(bot, "alertmanager", length=len(raw)) + raw[:700])
        await writer.drain()
        # The pause, which is also the check: the server must wait for the rest, not answer half a body.
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(reader.read(1), timeout=EARLY_ANSWER_WINDOW)
        writer.write(raw[700:])
        await writer.drain()
        status, answer = await _read_answer(reader)
    finally:
        writer.close()
    assert status == 202 and answer["new"] == 2, answer
    assert await _alert_count(bot) == 2


async def test_a_chunked_body_that_stalls_midway_is_read_whole(bot: RunningBot) -> None:
    raw = json.dumps(fixture_json("grafana_webhook_firing_docs.json")).encode()
    rest_may_follow = asyncio.Event()

    async def in_two_chunks() -> AsyncIterator[bytes]:
        yield raw[:1000]
        await rest_may_follow.wait()
        yield raw[1000:]

    async def post() -> tuple[int, Any]:
        async with bot.session.post(f"{bot.url}/webhooks/grafana", data=in_two_chunks(), headers=AUTH) as response:
            assert response.headers.get("Content-Type", "").startswith("application/json")
            return response.status, await response.json()

    sending = asyncio.create_task(post())
    done, _ = await asyncio.wait({sending}, timeout=EARLY_ANSWER_WINDOW)
    assert not done, f"answered before the body was complete: {sending.result()}"
    rest_may_follow.set()
    status, answer = await asyncio.wait_for(sending, timeout=10)
    assert status == 202 and answer["issues_opened"] == 2


async def test_a_chunked_body_in_many_small_chunks_is_accepted(bot: RunningBot) -> None:
    raw = json.dumps(_notification(50)).encode()

    async def small_chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 512):
            yield raw[start : start + 512]

    async with bot.session.post(f"{bot.url}/webhooks/alertmanager", data=small_chunks(), headers=AUTH) as response:
        assert response.status == 202, await response.text()
    assert await _alert_count(bot) == 50


BODY_READING_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no storage involved


@BODY_READING_ONLY
async def test_a_2mb_chunked_body_gets_413(bot: RunningBot) -> None:
    alert = json.dumps(fixture_json("alertmanager_real_firing.json")["alerts"][0]).encode()
    chunk = b",".join([alert] * 40) + b","

    async def two_megabytes() -> AsyncIterator[bytes]:
        yield b'{"alerts": ['
        for _ in range(2 * 1024 * 1024 // len(chunk) + 1):
            yield chunk
        yield alert + b"]}"

    async with bot.session.post(f"{bot.url}/webhooks/alertmanager", data=two_megabytes(), headers=AUTH) as response:
        assert response.status == 413
        assert str(MAX_BODY_BYTES) in (await response.json())["error"]
    assert await _alert_count(bot) == 0


@BODY_READING_ONLY
async def test_an_endless_chunked_body_is_refused_once_it_passes_the_cap(bot: RunningBot) -> None:
    chunk = b" " * 65536
    sent = 0
    reader, writer = await _connect(bot)
    try:
        writer.write(_request_head(bot, "generic", length=None))
        answered = asyncio.create_task(_read_answer(reader))
        while not answered.done() and sent < 1024 * 1024 * 1024:
            writer.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            await writer.drain()
            sent += len(chunk)
        writer.write(b"0\r\n\r\n")  # end the body, so the server's lingering read (aiohttp drains the
        await writer.drain()  # rest of a refused body, for up to 10 s) ends at once, and it closes
        status, answer = await answered
        assert await asyncio.wait_for(reader.read(), timeout=10) == b""
    finally:
        writer.close()
    assert status == 413, answer
    assert sent < 64 * 1024 * 1024  # answered while the body was still coming, not after reading it all


@BODY_READING_ONLY
async def test_a_compressed_body_is_capped_by_its_decompressed_size(bot: RunningBot) -> None:
    headers = {**AUTH, "Content-Encoding": "gzip"}
    small = gzip.compress(json.dumps(fixture_json("alertmanager_real_firing.json")).encode())
    async with bot.session.post(f"{bot.url}/webhooks/alertmanager", data=small, headers=headers) as response:
        assert response.status == 202, await response.text()
    bomb = gzip.compress(b'{"alerts": [' + b" " * (8 * MAX_BODY_BYTES) + b"]}")
    assert len(bomb) < MAX_BODY_BYTES // 10
    async with bot.session.post(f"{bot.url}/webhooks/alertmanager", data=bomb, headers=headers) as response:
        assert response.status == 413, await response.text()


# -- any input: a 2xx or a 4xx, never a 500 ---------------------------------------------------------


async def test_nul_and_lone_surrogates_are_stored_as_replacement_characters(bot: RunningBot) -> None:
    body = fixture_json("alertmanager_real_amtool_firing.json")
    alert = body["alerts"][0]
    alert["fingerprint"] = "fp\x00\ud800"
    alert["labels"]["alertname"] = "Disk\x00Full\udfff"
    alert["labels"]["inst\x00ance"] = "db-1\ud83d"
    alert["annotations"]["summary"] = "NUL \x00 here"
    body["groupKey"] = "{}:\x00"
    status, answer = await bot.post_webhook("alertmanager", body)  # json.dumps escapes: \u0000, \ud800
    assert status == 202, answer

    # The same characters as raw bytes: UTF-8-encoded surrogates, which json.loads lets through.
    again = copy.deepcopy(body)
    again["alerts"][0]["fingerprint"] = "raw\ud800"
    raw = json.dumps(again, ensure_ascii=False).encode("utf-8", "surrogatepass")
    assert b"\xed\xa0\x80" in raw  # (a raw NUL byte is not JSON at all: json.dumps always escapes it)
    status, answer = await bot.post_webhook("alertmanager", None, raw=raw)
    assert status == 202, answer

    first, second = await _alerts(bot)
    assert first.fingerprint == "fp\ufffd\ufffd" and second.fingerprint == "raw\ufffd"
    assert first.alertname == "Disk\ufffdFull\ufffd"
    assert first.labels["inst\ufffdance"] == "db-1\ufffd"
    assert first.annotations["summary"] == "NUL \ufffd here"
    assert first.group_key == "{}:\ufffd"
    await bot.outbox_drained()


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b"[" * 100_000 + b"]" * 100_000, id="100k-levels"),
        pytest.param(b'{"alerts": [{"labels": {"a": ' + b"[" * 5000 + b"]" * 5000 + b"}}]}", id="5k-in-a-label"),
        pytest.param(b'{"alerts": [{"labels": {"a": ' + b"[" * 900 + b"]" * 900 + b"}}]}", id="900-in-a-label"),
        pytest.param(b'{"title": "t", "labels": {"a": ' + b'{"a":' * 200 + b"1" + b"}" * 200 + b"}}", id="200-generic"),
    ],
)
async def test_deeply_nested_json_is_refused_with_400(bot: RunningBot, raw: bytes) -> None:
    for source in ("alertmanager", "grafana", "generic"):
        status, answer = await bot.post_webhook(source, None, raw=raw)
        assert status == 400 and "nested deeper than" in answer["error"], (source, status, answer)
    assert await _alert_count(bot) == 0


async def test_integers_over_4300_digits_are_refused_with_400(bot: RunningBot) -> None:
    body = json.dumps(fixture_json("alertmanager_real_firing.json")).encode()
    raw = body.replace(b'"truncatedAlerts": 0', b'"truncatedAlerts": ' + b"9" * 5000)
    assert raw != body
    status, answer = await bot.post_webhook("alertmanager", None, raw=raw)
    assert status == 400 and "digits" in answer["error"], answer
    raw = b'{"title": "t", "labels": {"n": ' + b"1" * 4301 + b"}}"
    status, answer = await bot.post_webhook("generic", None, raw=raw)
    assert status == 400 and "digits" in answer["error"], answer


async def test_out_of_range_numbers_and_times_get_422(bot: RunningBot) -> None:
    body = fixture_json("alertmanager_real_firing.json")
    body["truncatedAlerts"] = 10**30
    status, answer = await bot.post_webhook("alertmanager", body)
    assert status == 422 and "truncatedAlerts" in answer["error"], answer

    body = fixture_json("alertmanager_real_firing.json")
    body["alerts"][0]["startsAt"] = "9999-12-31T23:59:59-23:59"  # past year 9999 once in UTC
    status, answer = await bot.post_webhook("alertmanager", body)
    assert status == 422 and "startsAt" in answer["error"], answer
    assert await _alert_count(bot) == 0


async def test_a_fingerprint_longer_than_the_column_is_accepted_and_still_deduplicates(bot: RunningBot) -> None:
    alert = {"title": "Backup failed", "dedup_key": "backup/" + "x" * 300}
    status, answer = await bot.post_webhook("generic", alert)
    assert status == 202 and answer["new"] == 1, answer
    status, answer = await bot.post_webhook("generic", alert)
    assert status == 202 and answer["repeated"] == 1, answer
    [stored] = await _alerts(bot)
    assert len(stored.fingerprint) <= 128 and stored.fingerprint.startswith("backup/")
