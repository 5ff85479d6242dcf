"""The HTTP listener: aiohttp's server behind a guard against slow and too many clients.

aiohttp has no timeout for reading a request's head and no cap on open connections, so 1,100
slow-loris connections under a 1,024-descriptor limit stopped the server from accepting anything.
The guard sits between the socket and aiohttp's protocol: it closes a connection whose request
head has not arrived within `head_timeout` seconds, and answers 503 at once (then closes) when
`max_connections` are already open, so descriptors stay free for the clients that matter.
Request bodies are bounded by the handlers themselves (streamed reads with a size cap and timeout).
"""

from __future__ import annotations

import asyncio
import logging
import resource
from dataclasses import dataclass
from typing import Any

from aiohttp import web

log = logging.getLogger(__name__)

HEAD_END = b"\r\n\r\n"
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nRetry-After: 1\r\n"
    b"Connection: close\r\nContent-Length: 26\r\n\r\ntoo many open connections\n"
)
DESCRIPTORS_KEPT_FREE = 64  # for the database, Slack calls, log files and the listening socket


@dataclass(frozen=True)
class ConnectionLimits:
    head_timeout: float = 10.0
    max_connections: int = 1000
    keepalive_timeout: float = 15.0

    def effective_max_connections(self) -> int:
        """The cap, lowered to fit the process's descriptor limit."""
        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft == resource.RLIM_INFINITY:
            return self.max_connections
        return max(1, min(self.max_connections, soft - DESCRIPTORS_KEPT_FREE))


class _ConnectionCounter:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.open = 0
        self.refused = 0
        self.timed_out = 0


class _GuardedConnection(asyncio.Protocol):
    """Forwards everything to aiohttp's protocol; closes connections that are slow to send a head.

    Only the first request's head is timed: later requests on a kept-alive connection are bounded by
    aiohttp's keep-alive timeout, which closes a connection that goes quiet.
    """

    def __init__(self, inner: Any, counter: _ConnectionCounter, head_timeout: float) -> None:
        self._inner = inner
        self._counter = counter
        self._head_timeout = head_timeout
        self._transport: asyncio.Transport | None = None
        self._deadline: asyncio.TimerHandle | None = None
        self._tail = b""
        self._head_seen = False
        self._refused = False
        self._counted = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        if self._counter.open >= self._counter.limit:
            self._refused = True
            self._counter.refused += 1
            transport.write(BUSY_RESPONSE)
            transport.close()
            return
        self._counter.open += 1
        self._counted = True
        self._deadline = asyncio.get_running_loop().call_later(self._head_timeout, self._head_too_slow)
        self._inner.connection_made(transport)

    def _head_too_slow(self) -> None:
        if not self._head_seen and self._transport is not None and not self._transport.is_closing():
            self._counter.timed_out += 1
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        if self._refused:
            return
        if not self._head_seen:
            window = self._tail + data
            if HEAD_END in window:
                self._head_seen = True
                if self._deadline is not None:
                    self._deadline.cancel()
            else:
                self._tail = window[-(len(HEAD_END) - 1):]
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return None if self._refused else self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        if self._counted:
            self._counter.open -= 1
        if not self._refused:
            self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        if not self._refused:
            self._inner.pause_writing()

    def resume_writing(self) -> None:
        if not self._refused:
            self._inner.resume_writing()


class GuardedTCPSite(web.TCPSite):
    """A TCPSite whose connections pass through the guard; `stats` counts what it refused."""

    def __init__(self, runner: web.BaseRunner, host: str, port: int, limits: ConnectionLimits) -> None:
        super().__init__(runner, host, port)
        self._limits = limits
        self.stats = _ConnectionCounter(limits.effective_max_connections())

    @property
    def bound_port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])  # type: ignore[union-attr]

    async def start(self) -> None:
        await web.BaseSite.start(self)  # registers the site with its runner
        server = self._runner.server
        assert server is not None

        def guarded() -> asyncio.Protocol:
            return _GuardedConnection(server(), self.stats, self._limits.head_timeout)

        self._server = await asyncio.get_running_loop().create_server(
            guarded, self._host, self._port, backlog=self._backlog, reuse_address=True
        )


def make_runner(app: web.Application, limits: ConnectionLimits) -> web.AppRunner:
    return web.AppRunner(app, access_log=None, keepalive_timeout=limits.keepalive_timeout)
