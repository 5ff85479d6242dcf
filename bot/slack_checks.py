"""Start-up checks against Slack: a wrong token stops start-up; a channel the bot cannot use is named.

Without them a bad SLACK_BOT_TOKEN is silent (webhooks answer 202 and every post logs invalid_auth),
and a route to a channel without the bot shows only when its first alert arrives (issue 11). With
SLACK_APP_TOKEN the app-level token is checked the same way (apps.connections.open).
A Slack that is down or slow at start-up is not the token's fault: it is logged and start-up goes on.
"""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import OpsConfig
from bot.settings import SettingsError
from delivery.channels import ChannelDirectory, slack_error_code

log = logging.getLogger(__name__)

CHECK_TIMEOUT_SECONDS = 15.0
# Slack's answers that mean the token itself is wrong: no retry or restart fixes them.
TOKEN_ERRORS = frozenset({
    "invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired", "not_allowed_token_type",
})  # fmt: skip
_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
_UNREACHABLE = (aiohttp.ClientError, asyncio.TimeoutError, OSError)


async def check_token(client: AsyncWebClient) -> None:
    """auth.test; raises SettingsError naming SLACK_BOT_TOKEN when Slack refuses the token."""
    try:
        response = await asyncio.wait_for(client.auth_test(), CHECK_TIMEOUT_SECONDS)
    except SlackApiError as error:
        code = slack_error_code(error)
        if code in TOKEN_ERRORS:
            raise SettingsError(f"invalid setting SLACK_BOT_TOKEN: Slack answered {code}") from None
        log.warning("could not check SLACK_BOT_TOKEN at start-up: Slack answered %s", code or error.response.status_code)
        return
    except _UNREACHABLE as error:
        log.warning("could not check SLACK_BOT_TOKEN at start-up: Slack unreachable (%r)", error)
        return
    log.info("connected to Slack workspace %s as %s", response.get("team"), response.get("user"))


async def check_app_token(client: AsyncWebClient, app_token: str) -> None:
    """apps.connections.open once (Socket Mode); raises SettingsError naming SLACK_APP_TOKEN when Slack refuses it.

    Without this a wrong app token never connects, and Slack's SDK retries for ever with a traceback
    each time. The URL it answers is left to expire: the socket opens its own once the database is ready.
    """
    try:
        await asyncio.wait_for(client.apps_connections_open(app_token=app_token), CHECK_TIMEOUT_SECONDS)
    except SlackApiError as error:
        code = slack_error_code(error)
        if code in TOKEN_ERRORS:
            raise SettingsError(f"invalid setting SLACK_APP_TOKEN: Slack answered {code}") from None
        log.warning("could not check SLACK_APP_TOKEN at start-up: Slack answered %s", code or error.response.status_code)
    except _UNREACHABLE as error:
        log.warning("could not check SLACK_APP_TOKEN at start-up: Slack unreachable (%r)", error)


def configured_channels(config: OpsConfig) -> list[str]:
    """Every channel the config names ("#name" or an id, under a key ending in "channel"), once, in order."""
    found: list[str] = []

    def walk(value: Any, key: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key.endswith("channel") and (value.startswith("#") or _CHANNEL_ID.match(value)):
            if value not in found:
                found.append(value)

    walk(config.model_dump(mode="json"), "")
    return found


async def check_channels(directory: ChannelDirectory, config: OpsConfig) -> dict[str, str]:
    """The config's channels by id (conversations.list, paged); one warning names each one the bot cannot use.

    Each one found is pinned in `directory` to its id, which routing posts to from then on.
    """
    try:
        await asyncio.wait_for(directory.refresh(), CHECK_TIMEOUT_SECONDS)
    except Exception as error:  # noqa: BLE001 - a check that cannot run must not stop the bot
        log.warning("could not check the configured channels at start-up: %r", error)
        return {}
    ids: dict[str, str] = {}
    problems: list[str] = []
    for channel in configured_channels(config):
        found = await directory.find(channel)  # the list was just read: no second call
        if found is None:
            problems.append(f"{channel} (not found, or private without the bot)")
            continue
        ids[channel] = str(found["id"])
        if found.get("is_archived"):
            problems.append(f"{channel} (archived)")
        elif not found.get("is_member"):
            problems.append(f"{channel} (the bot is not in it)")
    if problems:
        log.warning(
            "configured channels the bot cannot post to: %s; invite the bot (/invite @opsbot) or fix the config "
            "(meanwhile a public channel is joined on its first message, the others' go to the default channel)",
            ", ".join(problems),
        )  # fmt: skip
    return ids
