"""/slack/events refuses what it cannot verify with 401, as Slack's own signature check would, never a 500.

Bolt's check calls int() on X-Slack-Request-Timestamp and decodes the body as text; a request that
breaks either used to escape as a 500. Each request below is signed exactly as Slack signs, so
only the header or the bytes under test are wrong.
"""

from __future__ import annotations

import time

import pytest

from slack_standin.signing import block_actions_body, sign_request
from tests.harness import SIGNING_SECRET, RunningBot

FORM = "application/x-www-form-urlencoded"


async def _post(bot: RunningBot, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    async with bot.session.post(f"{bot.url}/slack/events", data=body, headers=headers) as response:
        return response.status, await response.text()


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # no storage involved
@pytest.mark.parametrize("timestamp", ["abc", "", "1e9", "9" * 5000, "-1", "\u0661\u0662\u0663", " 1"])
async def test_a_timestamp_that_is_not_a_number_gets_401(bot: RunningBot, timestamp: str) -> None:
    body = block_actions_body("issue.ack", "1", response_url=bot.standin.response_url())
    headers = {"Content-Type": FORM, **sign_request(SIGNING_SECRET, body)}
    headers["X-Slack-Request-Timestamp"] = timestamp
    status, text = await _post(bot, body.encode(), headers)
    assert status == 401 and "invalid request" in text


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_body_that_is_not_text_gets_401_even_when_signed(bot: RunningBot) -> None:
    raw = b"payload=\xff\xfe"
    signed = {"Content-Type": FORM, **sign_request(SIGNING_SECRET, raw)}
    assert (await _post(bot, raw, signed))[0] == 401
    unknown_charset = {**signed, "Content-Type": f"{FORM}; charset=no-such-charset"}
    assert (await _post(bot, raw, unknown_charset))[0] == 401


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_well_signed_request_still_gets_through(bot: RunningBot) -> None:
    body = block_actions_body("issue.ack", "1", response_url=bot.standin.response_url())
    status, _ = await bot.post_slack(body, timestamp=int(time.time()))
    assert status == 200
