"""A real, throw-away PostgreSQL server for the test suite.

`PostgresServer` initdb's a fresh cluster in a temporary directory, starts it on a free
127.0.0.1 port (its unix socket inside that directory too, durability switched off for speed),
and deletes everything on `stop()`. Tests isolate themselves by database, not by server:
`create_database()` is a few milliseconds, a server start about a second.

PostgreSQL refuses to run as root; as root the server commands run as the `postgres` system
user (which Debian's postgresql package creates) and the directory is handed to it.

The pytest fixtures at the bottom are meant to be imported into a conftest:
`from tests.support.postgres import postgres_server, postgres_database_url`.
"""

from __future__ import annotations

import atexit
import itertools
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

USER = "opsbot"
DATABASE = "opsbot"
HOST = "127.0.0.1"
SERVER_OS_USER = "postgres"

# Appended to postgresql.conf. The data is thrown away, so durability buys nothing here.
_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
}
_SERVER_BINARIES = ("initdb", "pg_ctl", "postgres")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")

MISSING_MESSAGE = (
    "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found on PATH, via "
    "`pg_config --bindir` or under /usr/lib/postgresql/*/bin; install Debian's `postgresql` "
    "package (`make test` does so via scripts/ensure-system-deps.sh)"
)


class PostgresServerError(RuntimeError):
    """The throw-away server could not be set up; the message says why (with the server log tail)."""


def find_postgres_bindir() -> Path | None:
    """Return the directory holding initdb, pg_ctl and postgres, or None.

    Looks at PATH first (resolving symlinks such as /usr/local/bin/initdb), then at
    `pg_config --bindir`, then at the highest /usr/lib/postgresql/<version>/bin, where
    Debian puts the server binaries without linking them into PATH.
    """
    candidates: list[Path] = []
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).resolve().parent)
    pg_config = shutil.which("pg_config")
    if pg_config:
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            bindir = ""
        if bindir:
            candidates.append(Path(bindir))
    candidates.extend(
        sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    )
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in _SERVER_BINARIES):
            return directory
    return None


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def _client_env() -> dict[str, str]:
    # PGHOST, PGPASSWORD, PGOPTIONS... from the developer's shell must not leak into our commands.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _tail(path: Path, lines: int = 30) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no server log)"
    return "\n".join(text.splitlines()[-lines:])


class PostgresServer:
    """A PostgreSQL cluster of our own on 127.0.0.1; `with PostgresServer() as pg: ...`.

    Role `opsbot` (superuser, trust authentication) and database `opsbot` exist once started.
    """

    def __init__(self, bindir: Path | None = None, *, start_timeout: float = 30.0) -> None:
        self.bindir = bindir
        self.start_timeout = start_timeout
        self.port: int | None = None
        self.startup_seconds: float | None = None
        self._tmp: Path | None = None

    # -- addresses ---------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """SQLAlchemy async URL of the `opsbot` database."""
        return self.url_for(DATABASE)

    @property
    def dsn(self) -> str:
        """libpq/asyncpg DSN of the `opsbot` database."""
        return self.dsn_for(DATABASE)

    def url_for(self, database: str) -> str:
        return f"postgresql+asyncpg://{USER}@{HOST}:{self._port()}/{database}"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://{USER}@{HOST}:{self._port()}/{database}"

    def _port(self) -> int:
        if self.port is None or self._tmp is None:
            raise PostgresServerError("the PostgreSQL server is not running; call start() first")
        return self.port

    # -- life cycle --------------------------------------------------------------------------

    def __enter__(self) -> PostgresServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> None:
        if self._tmp is not None:
            raise PostgresServerError("the PostgreSQL server is already running")
        began = time.monotonic()
        if self.bindir is None:
            self.bindir = find_postgres_bindir()
        if self.bindir is None:
            raise PostgresServerError(MISSING_MESSAGE)
        self._tmp = Path(tempfile.mkdtemp(prefix="opsbot-pg-"))
        atexit.register(self.stop)
        try:
            self._hand_over_directory()
            self._initdb()
            self._start_on_free_port()
            self.run_sql(f'CREATE DATABASE "{DATABASE}"', database="postgres")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server (immediately: its data is discarded) and delete its directory. Idempotent."""
        tmp, self._tmp = self._tmp, None
        if tmp is None:
            return
        atexit.unregister(self.stop)
        data = tmp / "data"
        pid = self._postmaster_pid(data)
        if pid is not None:
            try:
                subprocess.run(
                    self._as_server_user(
                        [str(self._bin("pg_ctl")), "-D", str(data), "-m", "immediate", "-w", "-t", "15", "stop"]
                    ),
                    capture_output=True,
                    timeout=30,
                    cwd=tmp,
                )
            except (OSError, subprocess.SubprocessError):
                pass
            if self._postmaster_pid(data) == pid and _is_postgres_process(pid):
                try:
                    os.kill(pid, signal.SIGKILL)  # pg_ctl could not stop it
                except OSError:
                    pass
        shutil.rmtree(tmp, ignore_errors=True)
        self.port = None

    # -- databases ---------------------------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create an empty database and return its SQLAlchemy async URL."""
        self.run_sql(f'CREATE DATABASE "{_checked_name(name)}"', database="postgres")
        return self.url_for(name)

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        self.run_sql(f'DROP DATABASE IF EXISTS "{_checked_name(name)}" WITH (FORCE)', database="postgres")

    def run_sql(self, sql: str, database: str = DATABASE) -> str:
        """Run SQL through psql (no event loop needed, so safe inside async tests); return its output."""
        command = [
            str(self._client("psql")), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", HOST, "-p", str(self._port()), "-U", USER, "-d", database, "-c", sql,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=_client_env())
        if result.returncode != 0:
            raise PostgresServerError(f"psql failed on {sql!r}: {result.stderr.strip()}")
        return result.stdout

    # -- internals ---------------------------------------------------------------------------

    def _bin(self, name: str) -> Path:
        assert self.bindir is not None
        return self.bindir / name

    def _client(self, name: str) -> Path | str:
        path = self._bin(name)
        return path if os.access(path, os.X_OK) else (shutil.which(name) or path)

    @staticmethod
    def _running_as_root() -> bool:
        return os.geteuid() == 0

    def _as_server_user(self, command: list[str]) -> list[str]:
        if not self._running_as_root():
            return command
        if shutil.which("runuser"):
            return ["runuser", "-u", SERVER_OS_USER, "--", *command]
        return ["su", SERVER_OS_USER, "-s", "/bin/sh", "-c", shlex.join(command)]

    def _hand_over_directory(self) -> None:
        if not self._running_as_root():
            return
        try:
            account = pwd.getpwnam(SERVER_OS_USER)
        except KeyError:
            raise PostgresServerError(
                f"running as root, PostgreSQL must run as the '{SERVER_OS_USER}' system user, "
                "which does not exist; install Debian's postgresql package or run as a normal user"
            ) from None
        assert self._tmp is not None
        os.chown(self._tmp, account.pw_uid, account.pw_gid)
        probe = subprocess.run(self._as_server_user(["test", "-w", str(self._tmp)]), capture_output=True)
        if probe.returncode != 0:
            raise PostgresServerError(
                f"user '{SERVER_OS_USER}' cannot write to {self._tmp}; is a parent of TMPDIR private to root?"
            )

    def _run_as_server(self, command: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
        assert self._tmp is not None
        return subprocess.run(
            self._as_server_user(command),
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=self._tmp,  # the server user must be able to enter its working directory
            env=_client_env(),
        )

    def _initdb(self) -> None:
        assert self._tmp is not None
        data = self._tmp / "data"
        result = self._run_as_server(
            [
                str(self._bin("initdb")), "-D", str(data), "-U", USER, "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync",
            ],  # fmt: skip
            timeout=120,
        )
        if result.returncode != 0:
            raise PostgresServerError(f"initdb failed:\n{result.stdout}\n{result.stderr}")
        settings = "".join(f"{key} = {value}\n" for key, value in _SETTINGS.items())
        settings += f"unix_socket_directories = '{self._tmp}'\n"
        with open(data / "postgresql.conf", "a") as conf:  # keeps the server user as its owner
            conf.write("\n# opsbot test server\n" + settings)

    def _start_on_free_port(self) -> None:
        assert self._tmp is not None
        data, log = self._tmp / "data", self._tmp / "server.log"
        for _attempt in range(3):
            port = _free_port()
            result = self._run_as_server(
                [
                    str(self._bin("pg_ctl")), "-D", str(data), "-l", str(log),
                    "-o", f"-p {port}", "-w", "-t", str(int(self.start_timeout)), "start",
                ],  # fmt: skip
                timeout=self.start_timeout + 15,
            )
            if result.returncode == 0:
                self.port = port
                self._wait_until_accepting()
                return
            # Another process may have taken the port between our probe and the server's bind.
            if "could not bind" not in _tail(log, 200) and "in use" not in _tail(log, 200):
                break
        raise PostgresServerError(
            f"PostgreSQL did not start:\n{result.stdout}{result.stderr}\n--- server log tail ---\n{_tail(log)}"
        )

    def _wait_until_accepting(self) -> None:
        """pg_ctl -w waited for the postmaster; check that it answers on TCP as well."""
        assert self._tmp is not None
        deadline = time.monotonic() + self.start_timeout
        command = [
            str(self._client("pg_isready")), "-q", "-h", HOST, "-p", str(self.port), "-U", USER, "-d", "postgres",
        ]  # fmt: skip
        while True:
            if subprocess.run(command, capture_output=True, env=_client_env()).returncode == 0:
                return
            if time.monotonic() > deadline:
                raise PostgresServerError(
                    f"PostgreSQL on {HOST}:{self.port} did not accept connections within "
                    f"{self.start_timeout:.0f} s\n--- server log tail ---\n{_tail(self._tmp / 'server.log')}"
                )
            time.sleep(0.05)

    @staticmethod
    def _postmaster_pid(data: Path) -> int | None:
        try:
            return int((data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None


def _is_postgres_process(pid: int) -> bool:
    try:
        return b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


# -- pytest fixtures ---------------------------------------------------------------------------
# One server per test session, however many modules import the fixture: a session-scoped fixture
# defined in two places (the conftest and a test module) is two fixtures to pytest, so they share
# the server through a reference count.

_shared_server: PostgresServer | None = None
_shared_users = 0
_database_numbers = itertools.count(1)


def _acquire_shared_server() -> PostgresServer:
    global _shared_server, _shared_users
    if _shared_server is None:
        server = PostgresServer()
        try:
            server.start()
        except PostgresServerError as error:
            failure = str(error)
        else:
            failure = ""
        if failure:
            pytest.fail(failure, pytrace=False)
        _shared_server = server
    _shared_users += 1
    return _shared_server


def _release_shared_server() -> None:
    global _shared_server, _shared_users
    _shared_users -= 1
    if _shared_users == 0 and _shared_server is not None:
        _shared_server.stop()
        _shared_server = None


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; fails (never skips) the test when PostgreSQL is missing."""
    server = _acquire_shared_server()
    try:
        yield server
    finally:
        _release_shared_server()


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy async URL of a fresh, empty database for this test only (dropped afterwards)."""
    slug = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())
    name = f"t{next(_database_numbers)}_{slug}"[:63]
    url = postgres_server.create_database(name)
    yield url
    try:
        postgres_server.drop_database(name)
    except PostgresServerError:
        pass  # the whole cluster is deleted at the end of the session anyway
