"""One error handler for every Slack listener: errors users can act on become an ephemeral sentence."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from handlers.errors import OpsbotError

log = logging.getLogger("opsbot.slack")


async def report_listener_error(error: Exception, body: dict[str, Any], respond: Any = None) -> None:
    user = (body.get("user") or {}).get("id") or body.get("user_id")
    if isinstance(error, OpsbotError):
        message = str(error)
        log.info("refused for %s: %s", user, message)
    else:
        error_id = uuid.uuid4().hex[:8]
        log.error("error %s while handling a Slack request from %s", error_id, user, exc_info=error)
        message = f"Something went wrong on our side (error id `{error_id}`). The team has it in the logs."
    if respond is not None:
        try:
            await respond(text=message, response_type="ephemeral", replace_original=False)
        except Exception:  # noqa: BLE001 - reporting an error must not raise another
            log.warning("could not tell %s about an error", user, exc_info=True)
