"""The life cycle shared by the servers the suite runs: a child process on a free loopback port.

`ServerProcess` owns a temporary working directory, starts `command(port)` on a port found
free, polls a readiness check (bounded), and stops the process with its stop signal, then
SIGKILL. Output goes to a log file whose tail is part of every error message. A server that
exits because another process took its port between our probe and its bind is started again
on a new port. `stop()` is idempotent and registered with atexit, so an interrupted session
leaves no server behind.

Given `user`, the directory is handed to that OS account and the commands run as it (the
process itself calls setuid, no `su` in between, so signals reach the server directly).
"""

from __future__ import annotations

import atexit
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import IO, Any

HOST = "127.0.0.1"
_PORT_TAKEN = "address already in use"  # how both PostgreSQL and Go servers word a lost bind
_PORT_ATTEMPTS = 3



LOOPBACK = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never through a proxy to 127.0.0.1


def environment_without_proxies() -> dict[str, str]:
    """The environment for a server on loopback: a proxy setting would send its own calls astray."""
    return {key: value for key, value in os.environ.items() if not key.lower().endswith("_proxy")}


def ready_endpoint_answers(url: str) -> bool:
    """The readiness probe Prometheus and Alertmanager share: their /-/ready answers 200."""
    try:
        with LOOPBACK.open(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


class ManagedServer(ABC):
    """`with Server() as server:` starts it and stops it, whatever happens in between."""

    @abstractmethod
    def start(self) -> None: ...

    @abstractmethod
    def stop(self) -> None: ...

    def __enter__(self):  # type: ignore[no-untyped-def]
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class ServerError(RuntimeError):
    """A server could not be started or refused a request; the message includes its log tail."""


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def log_tail(path: Path | None, lines: int = 30) -> str:
    if path is None:
        return "(no log)"
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


class ServerProcess:
    """One server child process, its working directory and its log; `error` is the type raised."""

    def __init__(
        self,
        name: str,
        *,
        error: type[ServerError] = ServerError,
        user: str | None = None,
        stop_signal: int = signal.SIGTERM,
        start_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.name = name
        self.error = error
        self.user = user
        self.stop_signal = stop_signal
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.directory: Path | None = None
        self.log_path: Path | None = None
        self.port: int | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def make_directory(self, prefix: str, parent: Path | None = None) -> Path:
        """Create the working directory (deleted by `stop()`), owned by `user` when one is set."""
        self.directory = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
        self.log_path = self.directory / "server.log"
        atexit.register(self.stop)
        if self.user is not None:
            account = self._account()
            os.chown(self.directory, account.pw_uid, account.pw_gid)
        return self.directory

    def run(self, command: list[str], *, env: Mapping[str, str] | None = None, timeout: float = 120.0) -> str:
        """Run a one-off command (say, initdb) as the server's user in its directory; return its output."""
        try:
            result = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout, env=env, cwd=self.directory, **self._as_user()
            )
        except (OSError, subprocess.SubprocessError) as error:
            raise self.error(f"{Path(command[0]).name} failed: {error}") from None
        if result.returncode != 0:
            raise self.error(f"{Path(command[0]).name} failed:\n{result.stdout}{result.stderr}")
        return result.stdout

    def start(
        self,
        command: Callable[[int], list[str]],
        ready: Callable[[int], bool],
        *,
        env: Mapping[str, str] | None = None,
    ) -> int:
        """Start `command(port)` on a free port, wait until `ready(port)`; return the port."""
        assert self.directory is not None and self.log_path is not None, "make_directory() first"
        for _attempt in range(_PORT_ATTEMPTS):
            port = free_port()
            argv = command(port)
            self._log = open(self.log_path, "wb")
            try:
                self.process = subprocess.Popen(
                    argv,
                    stdin=subprocess.DEVNULL,
                    stdout=self._log,
                    stderr=subprocess.STDOUT,
                    cwd=self.directory,
                    env=env,
                    start_new_session=True,  # the terminal's Ctrl-C is for pytest; we stop the server
                    **self._as_user(),
                )
            except OSError as error:
                raise self.error(f"{self.name} could not be started ({argv[0]}): {error}") from None
            self.port = port
            if self._wait_until_ready(ready):
                return port
            code = self.process.returncode
            self._end_process()
            if _PORT_TAKEN not in log_tail(self.log_path, 100).lower():
                break
        raise self.error(f"{self.name} exited during start-up (code {code})\n--- log tail ---\n{self.log_tail()}")

    def stop(self) -> None:
        """Stop the process (stop signal, then SIGKILL) and delete the directory. Idempotent."""
        self._end_process()
        directory, self.directory = self.directory, None
        if directory is not None:
            atexit.unregister(self.stop)
            shutil.rmtree(directory, ignore_errors=True)
        self.port = None

    def log_tail(self, lines: int = 30) -> str:
        return log_tail(self.log_path, lines)

    # -- internals ---------------------------------------------------------------------------

    def _wait_until_ready(self, ready: Callable[[int], bool]) -> bool:
        """True once ready, False if the process exited; on time-out stops it and raises."""
        assert self.process is not None and self.port is not None
        deadline = time.monotonic() + self.start_timeout
        while self.process.poll() is None:
            if ready(self.port):
                return True
            if time.monotonic() > deadline:
                self._end_process()
                raise self.error(
                    f"{self.name} on {HOST}:{self.port} not ready within {self.start_timeout:.0f} s"
                    f"\n--- log tail ---\n{self.log_tail()}"
                )
            time.sleep(0.05)
        return False

    def _end_process(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            process.send_signal(self.stop_signal)
            try:
                process.wait(timeout=self.stop_timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
        if self._log is not None:
            self._log.close()
            self._log = None

    def _account(self) -> pwd.struct_passwd:
        assert self.user is not None
        try:
            return pwd.getpwnam(self.user)
        except KeyError:
            raise self.error(f"{self.name} must run as the '{self.user}' OS user, which does not exist") from None

    def _as_user(self) -> dict[str, Any]:
        if self.user is None:
            return {}
        account = self._account()
        return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": []}
