"""An aiohttp client session owned by a long-lived client: opened on first use, closed with its owner.

Clients of monitoring systems (Prometheus, Alertmanager) live as long as the bot but may never be
called; opening the session lazily keeps start-up free of network objects nobody uses.
"""

from __future__ import annotations

import aiohttp


class LazyClientSession:
    def __init__(self, *, timeout_seconds: float) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._session: aiohttp.ClientSession | None = None

    def get(self) -> aiohttp.ClientSession:
        # trust_env stays off: an HTTP(S)_PROXY meant for the internet must not carry calls to monitoring.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
