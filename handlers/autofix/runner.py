"""Executing planned steps: HTTP calls and programs, each bounded in time and in output kept.

Programs run with create_subprocess_exec (never a shell) in their own session, so a timeout or a
cancelled run kills the whole process group, grandchildren included. The environment is an
allow-list: only PATH and the variables a step names are passed. Output is hashed in full (the
audit digest) but only its tail is kept, so a chatty program cannot fill memory or the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import signal
import time
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import aiohttp
from yarl import URL

from handlers.autofix.params import PlannedCommand, PlannedHttp, PlannedManual, PlannedStep
from handlers.autofix.runbooks import EnvValue

OUTPUT_KEPT_BYTES = 16 * 1024
HTTP_BODY_READ_LIMIT = 1024 * 1024
KILL_GRACE_SECONDS = 2.0
PIPE_DRAIN_SECONDS = 2.0


class StepStatus(StrEnum):
    OK = "ok"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    SHOWN = "shown"  # a manual step: shown to the responder, nothing executed
    DONE = "done"  # a walkthrough's manual step a person checked off (handlers/autofix/walkthrough.py)
    SKIPPED = "skipped"  # ... that a person chose to skip
    STUCK = "stuck"  # ... where a person got stuck: the run stops and the issue escalates


@dataclass(frozen=True)
class StepOutcome:
    name: str
    kind: str
    status: str
    seconds: float
    detail: str  # "exit 0", "HTTP 503 (expected 200)", "timed out after 5s; process group killed"
    output: str  # the kept tail of the output, decoded (a manual step: its text)

    @property
    def passed(self) -> bool:
        return self.status in (StepStatus.OK, StepStatus.SHOWN, StepStatus.DONE, StepStatus.SKIPPED)

    def as_record(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status,
            "seconds": round(self.seconds, 3),
            "detail": self.detail,
            "output": self.output[-2000:],
        }


class _Tail:
    """Hashes everything written and keeps the last `limit` bytes."""

    def __init__(self, digest: Any, limit: int = OUTPUT_KEPT_BYTES) -> None:
        self._digest = digest
        self._limit = limit
        self._kept = bytearray()
        self.total = 0

    def write(self, chunk: bytes) -> None:
        self._digest.update(chunk)
        self.total += len(chunk)
        self._kept += chunk
        if len(self._kept) > self._limit:
            del self._kept[: len(self._kept) - self._limit]

    def text(self) -> str:
        text = self._kept.decode("utf-8", errors="replace")
        dropped = self.total - len(self._kept)
        return f"[{dropped} earlier bytes not kept]\n{text}" if dropped else text


class StepRunner:
    def __init__(self, environ: Mapping[str, str]) -> None:
        """`environ` is the bot's environment as the composition root read it; nothing here reads os.environ."""
        self._environ = dict(environ)

    async def run(self, step: PlannedStep, digest: Any | None = None) -> StepOutcome:
        digest = digest if digest is not None else hashlib.sha256()
        started = time.monotonic()
        if isinstance(step, PlannedManual):
            return StepOutcome(step.name, step.kind, StepStatus.SHOWN, 0.0, "shown to the responder", step.text)
        if isinstance(step, PlannedCommand):
            status, detail, output = await self._command(step, _Tail(digest))
        else:
            status, detail, output = await self._http(step, _Tail(digest))
        return StepOutcome(step.name, step.kind, status, time.monotonic() - started, detail, output)

    async def _command(self, step: PlannedCommand, tail: _Tail) -> tuple[str, str, str]:
        env = {"PATH": self._environ.get("PATH", os.defpath)}
        env.update({name: self._environ[name] for name in step.env_names if name in self._environ})
        try:
            process = await asyncio.create_subprocess_exec(
                *step.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
                cwd=step.cwd,
                env=env,
                start_new_session=True,  # its own process group, so we can kill all of it
            )
        except OSError as error:
            return StepStatus.FAILED, f"could not start {step.argv[0]}: {error.strerror or error}", ""
        assert process.stdout is not None
        reader = asyncio.create_task(_pump(process.stdout, tail))
        try:
            await asyncio.wait_for(process.wait(), timeout=step.timeout)
        except asyncio.TimeoutError:
            await _kill_group(process)
            await _finish_reading(reader)
            return StepStatus.TIMED_OUT, f"timed out after {step.timeout:g}s; process group killed", tail.text()
        except BaseException:  # cancelled (shutdown): leave nothing running behind us
            await _kill_group(process)
            reader.cancel()
            raise
        await _finish_reading(reader)
        code = process.returncode
        status = StepStatus.OK if code == 0 else StepStatus.FAILED
        return status, f"exit {code}", tail.text()

    async def _http(self, step: PlannedHttp, tail: _Tail) -> tuple[str, str, str]:
        headers: dict[str, str] = {}
        for name, value in step.headers.items():
            if isinstance(value, EnvValue):
                secret = self._environ.get(value.env)
                if not secret:
                    return StepStatus.FAILED, f"environment variable {value.env} is not set (header {name})", ""
                headers[name] = value.prefix + secret
            else:
                headers[name] = value
        kwargs: dict[str, Any] = {"headers": headers, "allow_redirects": False}
        if step.body is not None:
            kwargs["json"] = step.body
        timeout = aiohttp.ClientTimeout(total=step.timeout)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                async with session.request(step.method, URL(step.url, encoded=True), **kwargs) as response:
                    tail.write((await response.content.read(HTTP_BODY_READ_LIMIT)))
                    status = response.status
        except asyncio.TimeoutError:
            return StepStatus.TIMED_OUT, f"no answer within {step.timeout:g}s", tail.text()
        except aiohttp.ClientError as error:
            return StepStatus.FAILED, f"request failed: {type(error).__name__}: {error}", tail.text()
        if status in step.expected_status:
            return StepStatus.OK, f"HTTP {status}", tail.text()
        expected = "/".join(str(code) for code in step.expected_status)
        return StepStatus.FAILED, f"HTTP {status} (expected {expected})", tail.text()


async def _pump(stream: asyncio.StreamReader, tail: _Tail) -> None:
    while chunk := await stream.read(65536):
        tail.write(chunk)


async def _finish_reading(reader: asyncio.Task[None]) -> None:
    """A daemonised grandchild may hold the pipe open: stop reading after a short wait."""
    done, _ = await asyncio.wait({reader}, timeout=PIPE_DRAIN_SECONDS)
    if not done:
        reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reader


def _signal_group(pgid: int, signum: int) -> bool:
    try:
        os.killpg(pgid, signum)
        return True
    except (ProcessLookupError, PermissionError):
        return False


async def _kill_group(process: asyncio.subprocess.Process) -> None:
    """SIGTERM the group, then SIGKILL what is still there after a short grace."""
    if not _signal_group(process.pid, signal.SIGTERM):
        return
    try:
        await asyncio.wait_for(process.wait(), timeout=KILL_GRACE_SECONDS)
    except asyncio.TimeoutError:
        pass
    _signal_group(process.pid, signal.SIGKILL)
    with contextlib.suppress(asyncio.TimeoutError):
        await asyncio.wait_for(process.wait(), timeout=KILL_GRACE_SECONDS)
