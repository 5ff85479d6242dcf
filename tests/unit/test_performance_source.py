"""The KPI source when the server misbehaves: over real HTTP on loopback, a stand-in that answers like a
broken Prometheus (garbage, 5xx, refusals, several series, silence) and one that is not there at all."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import AsyncIterator

import pytest
from aiohttp import web

from handlers.performance.kpis import KpiSource, Window
from handlers.performance.prometheus import PrometheusClient, QueryRejected, SourceUnavailable
from handlers.performance.settings import PerformanceSettings

NOW = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
KPIS = PerformanceSettings().definitions()


def _vector(*values: float | str) -> dict:
    return {"status": "success", "data": {"resultType": "vector", "result": [
        {"metric": {"instance": f"i{n}"}, "value": [NOW.timestamp(), str(v)]} for n, v in enumerate(values)
    ]}}  # fmt: skip


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[dict]]]:
    """A Prometheus-shaped server whose answer depends on the query text; records every form it got."""
    seen: list[dict] = []
    hang = asyncio.Event()  # "slow" queries wait on it until the test is over

    async def query(request: web.Request) -> web.Response:
        form = dict(await request.post())
        seen.append(form)
        promql = form["query"]
        if "garbage" in promql:
            return web.Response(text="<html>proxy error</html>", status=200)
        if "crash" in promql:
            return web.json_response({"status": "error", "errorType": "internal", "error": "boom"}, status=503)
        if "typo(" in promql:
            return web.json_response({"status": "error", "errorType": "bad_data", "error": "parse error"}, status=400)
        if "many" in promql:
            return web.json_response(_vector(1, 2))
        if "slow" in promql:
            await hang.wait()
        if "nan" in promql:
            return web.json_response(_vector("NaN"))
        if "empty" in promql:
            return web.json_response(_vector())
        return web.json_response(_vector(42.5))

    app = web.Application()
    app.router.add_post("/prom/api/v1/query", query)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield f"http://127.0.0.1:{port}/prom", seen
    hang.set()
    await runner.cleanup()


def _source(url: str, queries: dict[str, str], timeout: float = 2.0) -> tuple[KpiSource, PrometheusClient]:
    kpis = [KPIS[0].model_copy(update={"key": key, "query": query}) for key, query in queries.items()]
    client = PrometheusClient(url, timeout_seconds=timeout)
    return KpiSource(client, kpis, clock=lambda: NOW), client


async def test_values_refusals_and_empty_answers_are_told_apart(server: tuple[str, list[dict]]) -> None:
    url, seen = server
    source, client = _source(url, {"ok": "up[$__range]", "bad": "typo(", "none": "empty", "nan": "nan", "two": "many"})
    try:
        readings = await source.read(Window.of(NOW - timedelta(hours=1), NOW + timedelta(hours=1), NOW))
    finally:
        await client.close()
    assert readings.values == {"ok": 42.5, "bad": None, "none": None, "nan": None, "two": None}
    assert readings.errors["bad"] == "parse error" and "returned 2 series" in readings.errors["two"]
    assert readings.unavailable is None
    ok = next(form for form in seen if form["query"].startswith("up["))
    assert ok == {"query": "up[3600000ms]", "time": f"{NOW.timestamp():.3f}"}  # evaluated at the bot's clock


@pytest.mark.parametrize(
    ("query", "reason"),
    [("garbage", "without the Prometheus API's JSON"), ("crash", "answered HTTP 503: boom"), ("slow", "did not answer within")],
)
async def test_a_broken_source_is_one_reason_for_the_whole_reading(
    server: tuple[str, list[dict]], query: str, reason: str
) -> None:
    url, _ = server
    source, client = _source(url, {"ok": "up", "broken": query}, timeout=0.5)
    try:
        readings = await source.read(Window(NOW - timedelta(hours=1), NOW))
    finally:
        await client.close()
    assert readings.values["ok"] == 42.5 and readings.values["broken"] is None
    assert reason in (readings.unavailable or "")


async def test_nobody_listening_is_unreachable_and_start_up_checks_name_the_kpi(server: tuple[str, list[dict]]) -> None:
    client = PrometheusClient("http://127.0.0.1:9", timeout_seconds=2)
    try:
        with pytest.raises(SourceUnavailable, match="is unreachable"):
            await client.query("up", NOW)
    finally:
        await client.close()
    url, _ = server
    source, client = _source(url, {"uptime": "up", "memory": "typo("})
    try:
        assert await source.check() == ["KPI memory (Uptime): the query was refused: parse error"]
    finally:
        await client.close()
    assert not issubclass(QueryRejected, SourceUnavailable)  # a report says different things about each


async def test_without_a_url_every_reading_says_no_source_is_configured() -> None:
    source = KpiSource(None, KPIS, clock=lambda: NOW)
    readings = await source.read(Window(NOW - timedelta(hours=1), NOW))
    assert set(readings.values.values()) == {None} and readings.unavailable == KpiSource.NOT_CONFIGURED
    assert await source.check() == []
