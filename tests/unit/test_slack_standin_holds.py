"""Holding a method's calls in the stand-in: they wait unanswered until released, and never past stop()."""

from __future__ import annotations

import asyncio

import pytest
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from slack_standin import SlackStandIn
from tests.unit.standin_support import client, standin  # noqa: F401 - fixtures

HANG_GUARD = 10  # seconds: only a broken hold gets near it; nothing here is timed


async def test_a_held_call_waits_unanswered_until_released(standin: SlackStandIn, client: AsyncWebClient) -> None:
    gate = standin.hold("chat.postMessage")
    post = asyncio.create_task(client.chat_postMessage(channel="#a", text="held"))
    await gate.wait_for_waiting(1)
    assert not post.done() and standin.calls_to("chat.postMessage") == []
    assert standin.messages("#a") == []

    assert (await client.auth_test())["ok"]  # other methods are not held
    assert [c.method for c in standin.calls] == ["auth.test"]

    gate.release()
    response = await asyncio.wait_for(post, HANG_GUARD)
    assert response["ok"] and gate.waiting == 0 and gate.arrived == 1
    assert [c.method for c in standin.calls] == ["auth.test", "chat.postMessage"]  # recorded when answered
    assert (await client.chat_postMessage(channel="#a", text="after"))["ok"]  # a released hold holds nothing
    assert [m["text"] for m in standin.messages("#a")] == ["held", "after"]


async def test_waiting_counts_every_held_call_and_a_wait_that_comes_to_nothing_explains(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    async with standin.hold("chat.update") as gate:
        with pytest.raises(AssertionError, match=r"expected 1 call\(s\) to chat.update held.*0 waiting"):
            await gate.wait_for_waiting(1, timeout=0.1)
        updates = [asyncio.create_task(client.chat_update(channel="#a", ts="1.0", text=str(n))) for n in range(3)]
        await gate.wait_for_waiting(3)
        assert gate.waiting == 3 and not any(task.done() for task in updates)
    answers = await asyncio.wait_for(asyncio.gather(*updates, return_exceptions=True), HANG_GUARD)
    assert len(answers) == 3 and gate.released and gate.waiting == 0
    assert len(standin.calls_to("chat.update", include_failed=True)) == 3


async def test_leaving_the_block_releases_even_on_error_and_the_method_can_be_held_again(
    standin: SlackStandIn, client: AsyncWebClient
) -> None:
    with pytest.raises(RuntimeError):
        async with standin.hold("chat.postMessage") as gate:
            post = asyncio.create_task(client.chat_postMessage(channel="#a", text="x"))
            await gate.wait_for_waiting(1)
            raise RuntimeError("the test failed while holding")
    assert (await asyncio.wait_for(post, HANG_GUARD))["ok"]

    again = standin.hold("chat.postMessage")
    with pytest.raises(ValueError, match="already held"):
        standin.hold("chat.postMessage")
    second = asyncio.create_task(client.chat_postMessage(channel="#a", text="y"))
    await again.wait_for_waiting(1)
    again.release()
    again.release()  # harmless
    assert (await asyncio.wait_for(second, HANG_GUARD))["ok"]
    with pytest.raises(AssertionError, match="released before"):
        await again.wait_for_waiting(2)


async def test_response_urls_and_uploads_are_held_by_their_names(standin: SlackStandIn, client: AsyncWebClient) -> None:
    async with standin.hold("response_url") as gate:
        reply = asyncio.create_task(AsyncWebhookClient(standin.response_url("r1")).send(text="later"))
        await gate.wait_for_waiting(1)
        assert standin.calls_to("response_url") == []
    assert (await asyncio.wait_for(reply, HANG_GUARD)).status_code == 200
    [answered] = standin.calls_to("response_url")
    assert answered.args["text"] == "later"

    async with standin.hold("file_upload") as gate:
        upload = asyncio.create_task(client.files_upload_v2(channel="C0FILES", content=b"chart", filename="c.png"))
        await gate.wait_for_waiting(1)
        assert [c.method for c in standin.calls] == ["response_url", "files.getUploadURLExternal"]
    await asyncio.wait_for(upload, HANG_GUARD)
    assert [c.method for c in standin.calls][-2:] == ["file_upload", "files.completeUploadExternal"]


async def test_stop_and_reset_release_what_is_held(standin: SlackStandIn, client: AsyncWebClient) -> None:
    forgotten = standin.hold("conversations.open")
    opening = asyncio.create_task(client.conversations_open(users="U1"))
    await forgotten.wait_for_waiting(1)
    standin.reset()
    assert (await asyncio.wait_for(opening, HANG_GUARD))["ok"] and forgotten.released

    never_released = standin.hold("chat.postMessage")
    post = asyncio.create_task(client.chat_postMessage(channel="#a", text="x"))
    await never_released.wait_for_waiting(1)
    await asyncio.wait_for(standin.stop(), HANG_GUARD)  # a held request must not stall the shutdown
    await asyncio.wait_for(asyncio.gather(post, return_exceptions=True), HANG_GUARD)
    assert never_released.released and never_released.waiting == 0
