"""Error reporting for Slack listeners: errors users can act on become an ephemeral sentence.

Listeners are wrapped with `reporting_errors` rather than left to Bolt's error handler: when a
listener raises right after `ack()`, Bolt's async runner can drop the ack it already has and answer
Slack 404 (slack_bolt/listener/asyncio_runner.py). Catching inside the listener avoids that race.
"""

from __future__ import annotations

import functools
import logging
import uuid
from typing import Any, Awaitable, Callable

from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.errors import USER_ERRORS
from handlers.slack.payloads import payload_user

log = logging.getLogger("opsbot.slack")

Listener = Callable[..., Awaitable[Any]]


def describe_error(error: Exception, user: str | None) -> str:
    if isinstance(error, USER_ERRORS):
        log.info("refused for %s: %s", user, error)
        return str(error)
    error_id = uuid.uuid4().hex[:8]
    log.error("error %s while handling a Slack request from %s", error_id, user, exc_info=error)
    return f"Something went wrong on our side (error id `{error_id}`). The team has it in the logs."


async def tell_user(body: dict[str, Any], message: str, respond: Any = None) -> None:
    """Answer ephemerally through Bolt's respond, or the body's response_url, if there is one."""
    user = payload_user(body)
    try:
        if respond is not None:
            await respond(text=message, response_type="ephemeral", replace_original=False)
            return
        response_url = body.get("response_url") or next(
            (item.get("response_url") for item in body.get("response_urls") or []), None
        )
        if response_url:
            await AsyncWebhookClient(response_url).send(
                text=message, response_type="ephemeral", replace_original=False
            )
    except Exception:  # noqa: BLE001 - reporting an error must not raise another
        log.warning("could not tell %s about an error", user, exc_info=True)


async def report_listener_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
    """Bolt's global error handler, for errors raised before a listener runs."""
    user = payload_user(body)
    await tell_user(body, describe_error(error, user), respond)


def reporting_errors(listener: Listener) -> Listener:
    """Wrap a listener so its errors reach the user instead of Bolt's runner.

    Bolt passes arguments by the names the wrapped function declares (it unwraps `__wrapped__`);
    declare `body` (and `respond` where Slack gives a response_url) to get the best reply.
    """

    @functools.wraps(listener)
    async def run(**kwargs: Any) -> Any:
        try:
            return await listener(**kwargs)
        except Exception as error:  # noqa: BLE001 - every failure is reported to the user and logged
            body = kwargs.get("body") or {}
            user = payload_user(body)
            await tell_user(body, describe_error(error, user), kwargs.get("respond"))
            return None

    return run
