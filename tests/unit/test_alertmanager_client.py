"""The Alertmanager client against small servers on loopback: what it sends, and each failure as a sentence."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from typing import Any, AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from handlers.silences.alertmanager import AlertmanagerClient, AlertmanagerRefused, AlertmanagerUnavailable, NewSilence

AT = datetime(2026, 11, 22, 14, 0, 0, 123456, tzinfo=timezone.utc)
SILENCE = NewSilence(
    matchers=[{"name": "alertname", "value": "DiskFull", "isRegex": False, "isEqual": True}],
    starts_at=AT, ends_at=AT + timedelta(hours=1), created_by="bob (Slack U0BOB)", comment="opsbot issue #1: Disk",
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        return f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}"  # type: ignore[union-attr]

    yield start
    for runner in runners:
        await runner.cleanup()


async def test_a_silence_is_posted_as_alertmanager_reads_it(serve: Any) -> None:
    seen: list[tuple[str, str, Any]] = []

    async def alertmanager(request: web.Request) -> web.Response:
        seen.append((request.method, request.path, await request.json() if request.can_read_body else None))
        return web.json_response({"silenceID": "0b9f6d6e-1111-2222-3333-444455556666"})

    client = AlertmanagerClient()
    try:
        url = await serve(alertmanager)
        assert await client.create_silence(url + "/", SILENCE) == "0b9f6d6e-1111-2222-3333-444455556666"
        await client.expire_silence(url, "0b9f6d6e-1111-2222-3333-444455556666")
    finally:
        await client.close()
    (method, path, body), (lift_method, lift_path, _) = seen
    assert (method, path) == ("POST", "/api/v2/silences")
    assert body == {
        "matchers": SILENCE.matchers, "startsAt": "2026-11-22T14:00:00.123Z", "endsAt": "2026-11-22T15:00:00.123Z",
        "createdBy": "bob (Slack U0BOB)", "comment": "opsbot issue #1: Disk",
    }
    assert (lift_method, lift_path) == ("DELETE", "/api/v2/silence/0b9f6d6e-1111-2222-3333-444455556666")


async def test_no_answer_in_time_is_unavailable(serve: Any) -> None:
    never = asyncio.Event()

    async def stuck(request: web.Request) -> web.Response:
        await never.wait()
        return web.Response()

    client = AlertmanagerClient(timeout_seconds=0.2)
    try:
        url = await serve(stuck)
        with pytest.raises(AlertmanagerUnavailable, match="did not answer within 0.2 s: nothing changed there"):
            await client.create_silence(url, SILENCE)
    finally:
        never.set()
        await client.close()


async def test_a_redirect_is_not_followed(serve: Any) -> None:
    elsewhere: list[str] = []

    async def target(request: web.Request) -> web.Response:
        elsewhere.append(request.path)
        return web.json_response({"silenceID": "x"})

    client = AlertmanagerClient()
    try:
        other = await serve(target)

        async def redirecting(request: web.Request) -> web.Response:
            raise web.HTTPTemporaryRedirect(other + "/api/v2/silences")

        url = await serve(redirecting)
        with pytest.raises(AlertmanagerUnavailable, match="HTTP 307"):
            await client.create_silence(url, SILENCE)
    finally:
        await client.close()
    assert elsewhere == []


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (400, '"invalid label name <x>"', AlertmanagerRefused, "refused to create the silence (HTTP 400: invalid label name &lt;x&gt;)"),
        (422, '{"code": 612, "message": "matchers in body should have at least 1 items"}', AlertmanagerRefused,
         "(HTTP 422: matchers in body should have at least 1 items)"),
        (500, "boom", AlertmanagerUnavailable, "could not create the silence (HTTP 500: boom)"),
        (200, "<html>a proxy's page</html>", AlertmanagerUnavailable, "(HTTP 200: &lt;html&gt;"),
    ],
)
async def test_refusals_and_failures_say_what_alertmanager_said(
    serve: Any, status: int, body: str, error: type[Exception], words: str
) -> None:
    async def answer(request: web.Request) -> web.Response:
        return web.Response(status=status, text=body)

    client = AlertmanagerClient()
    try:
        url = await serve(answer)
        with pytest.raises(error) as raised:
            await client.create_silence(url, SILENCE)
    finally:
        await client.close()
    assert words in str(raised.value)


async def test_lifting_one_already_gone_is_done(serve: Any) -> None:
    async def gone(request: web.Request) -> web.Response:
        return web.Response(status=404, text="silence not found")

    client = AlertmanagerClient()
    try:
        await client.expire_silence(await serve(gone), "0b9f6d6e-1111-2222-3333-444455556666")
    finally:
        await client.close()
