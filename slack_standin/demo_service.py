"""The sandbox's demo service: something to break, an alert about it, and a restart that really fixes it.

Served by the stand-in under /demo/ in local mode, with the little monitoring a real service has:
when it breaks, an Alertmanager-style alert goes to the app's webhook; when it is healthy again
(the runbook's POST /demo/restart), the resolved alert follows a moment later, as Alertmanager
would send it on its next group interval. The runbook's step really changes what GET /demo/health
answers, so a fix that is "verified" was verified against something real.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

ALERT_NAME = "DemoServiceErrors"
SERVICE = "demo"
RESOLVE_DELAY_SECONDS = 2.0  # after the restart: the runbook has finished and waits for the alert to clear

Send = Callable[[str, bytes], Awaitable[Any]]


def alertmanager_body(status: str, starts_at: str, ends_at: str = "0001-01-01T00:00:00Z") -> bytes:
    labels = {"alertname": ALERT_NAME, "service": SERVICE, "instance": "demo-1:8080", "severity": "critical"}
    alert = {
        "status": status,
        "labels": labels,
        "annotations": {
            "summary": "The demo service answers 500 on every request",
            "description": "The sandbox's demo service is broken. Its runbook restarts it: try *Auto-fix*.",
        },
        "startsAt": starts_at,
        "endsAt": ends_at,
        "generatorURL": "http://127.0.0.1/demo/health",
        "fingerprint": "d3m0d3m0d3m0d3m0",
    }
    return json.dumps({
        "receiver": "opsbot", "status": status, "alerts": [alert], "groupLabels": {"alertname": ALERT_NAME},
        "commonLabels": labels, "commonAnnotations": alert["annotations"], "externalURL": "http://127.0.0.1:9093",
        "version": "4", "groupKey": '{}:{alertname="DemoServiceErrors"}', "truncatedAlerts": 0,
    }).encode()


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class DemoService:
    def __init__(self, send: Send) -> None:
        self._send = send
        self.healthy = True
        self.restarts = 0
        self._since = _now()
        self._tasks: set[asyncio.Task[None]] = set()

    def _later(self, coroutine: Awaitable[None]) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _alert(self, status: str, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        body = alertmanager_body(status, self._since, _now() if status == "resolved" else "0001-01-01T00:00:00Z")
        try:
            await self._send("alertmanager", body)
        except Exception:  # the app being down must not take the demo service with it
            log.warning("demo service: could not send the %s alert", status, exc_info=True)

    def break_it(self) -> None:
        if self.healthy:
            self.healthy = False
            self._since = _now()
            self._later(self._alert("firing"))

    def fix(self) -> None:
        if not self.healthy:
            self.healthy = True
            self._later(self._alert("resolved", RESOLVE_DELAY_SECONDS))

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # HTTP -----------------------------------------------------------------------------------

    async def health(self, request: web.Request) -> web.Response:
        status = 200 if self.healthy else 500
        return web.json_response({"healthy": self.healthy, "restarts": self.restarts}, status=status)

    async def restart(self, request: web.Request) -> web.Response:
        self.restarts += 1
        self.fix()
        return web.json_response({"restarted": True, "healthy": self.healthy})
