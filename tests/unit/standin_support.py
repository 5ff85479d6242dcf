"""Fixtures and helpers shared by the stand-in's test modules."""

from __future__ import annotations

from pathlib import Path

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_standin import SlackStandIn

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
TOKEN = "xoxb-local"
SECRET = "test-signing-secret"


CHANNELS = ("#a", "#alerts", "#ops", "#reports", "C0FILES")  # channels the bot is in; the tests post to them
USERS = ("U1", "U7", "U123")


@pytest.fixture
async def standin():
    server = SlackStandIn(bot_token=TOKEN)
    for name in CHANNELS:
        server.add_channel(name)
    for user in USERS:
        server.add_user(user)
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def client(standin: SlackStandIn) -> AsyncWebClient:
    return AsyncWebClient(base_url=standin.api_url, token=TOKEN)


def section(text: str) -> dict:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(label: str, **fields: str) -> dict:
    return {"type": "button", "text": {"type": "plain_text", "text": label}, **fields}


async def assert_slack_error(call, error: str, status: int = 200) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call
    assert caught.value.response.status_code == status
    assert caught.value.response["error"] == error
    return caught.value
