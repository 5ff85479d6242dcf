"""A small client for Alertmanager's silences API (v2): create one, expire one.

Only ever called with an API base the config lists (settings.py says why); redirects are not
followed, so an Alertmanager (or whatever answers in its place) cannot send opsbot elsewhere. Every
failure is an error the person who clicked can act on: no answer, or a refusal with Alertmanager's
own words.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence
from urllib.parse import quote

import aiohttp

from core.http_session import LazyClientSession
from core.text import escape
from handlers.errors import OpsbotError

SILENCES_PATH = "/api/v2/silences"
SILENCE_PATH = "/api/v2/silence/"  # + id: DELETE expires it
MAX_ANSWER_BYTES = 64 * 1024  # a silence id, or an error sentence: anything longer is not Alertmanager
REASON_LIMIT = 300


class AlertmanagerUnavailable(OpsbotError):
    """No answer in time, a connection refused, a 5xx: try again later (nothing changed, as far as we know)."""


class AlertmanagerRefused(OpsbotError):
    """Alertmanager understood and said no (a 4xx): retrying the same request will not help."""


@dataclass(frozen=True)
class NewSilence:
    matchers: Sequence[dict[str, Any]]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str

    def body(self) -> dict[str, Any]:
        return {
            "matchers": list(self.matchers),
            "startsAt": _rfc3339(self.starts_at),
            "endsAt": _rfc3339(self.ends_at),
            "createdBy": self.created_by,
            "comment": self.comment,
        }


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertmanagerClient:
    """One aiohttp session for the bot's lifetime, opened on first use and closed by `close()`."""

    def __init__(self, *, timeout_seconds: float = 5.0) -> None:
        self._http = LazyClientSession(timeout_seconds=timeout_seconds)

    async def close(self) -> None:
        await self._http.close()

    async def create_silence(self, api_url: str, silence: NewSilence) -> str:
        """POST /api/v2/silences; returns the new silence's id."""
        status, answer = await self._request("POST", api_url, SILENCES_PATH, json_body=silence.body(), what="silence")
        silence_id = answer.get("silenceID") if isinstance(answer, dict) else None
        if status != 200 or not isinstance(silence_id, str) or not silence_id:
            raise _failure(api_url, status, answer, "create the silence")
        return silence_id

    async def expire_silence(self, api_url: str, silence_id: str) -> None:
        """DELETE /api/v2/silence/{id}. One already expired, or gone, is no longer in effect: done too."""
        path = SILENCE_PATH + quote(silence_id, safe="")
        status, answer = await self._request("DELETE", api_url, path, what="lift")
        if status == 200 or status == 404 or "already expired" in str(answer):
            return
        raise _failure(api_url, status, answer, "lift the silence")

    async def _request(
        self, method: str, api_url: str, path: str, *, json_body: Any = None, what: str
    ) -> tuple[int, Any]:
        try:
            async with self._http.get().request(
                method, api_url.rstrip("/") + path, json=json_body, allow_redirects=False
            ) as response:
                raw = await response.content.read(MAX_ANSWER_BYTES)
                status = response.status
        except asyncio.TimeoutError:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {api_url} did not answer within {self._http.timeout.total:g} s: nothing changed there. "
                "Try again in a moment."
            ) from None
        except aiohttp.ClientError as error:
            raise AlertmanagerUnavailable(
                f"Alertmanager at {api_url} is unreachable ({_reason(error)}): nothing changed there."
            ) from None
        text = raw.decode("utf-8", errors="replace").strip()
        try:
            return status, json.loads(text) if text else None
        except ValueError:
            return status, text


def _failure(api_url: str, status: int, answer: Any, to_do: str) -> OpsbotError:
    if isinstance(answer, dict) and isinstance(answer.get("message"), str):
        answer = answer["message"]  # go-swagger's validation errors: {"code": 612, "message": "..."}
    reason = answer if isinstance(answer, str) else json.dumps(answer) if answer is not None else ""
    reason = escape(" ".join(reason.split())[:REASON_LIMIT]) or "no reason given"  # shown in Slack as mrkdwn
    if 400 <= status < 500:
        return AlertmanagerRefused(f"Alertmanager at {api_url} refused to {to_do} (HTTP {status}: {reason}).")
    return AlertmanagerUnavailable(f"Alertmanager at {api_url} could not {to_do} (HTTP {status}: {reason}).")


def _reason(error: aiohttp.ClientError) -> str:
    text = str(error) or type(error).__name__
    return text.split(" [")[-1].rstrip("]") if "[" in text else text
