"""A real, throw-away PostgreSQL server for the test suite.

`PostgresServer` initdb's a cluster in a temporary directory, runs the `postgres` server on a
free 127.0.0.1 port (its unix socket in that directory, durability off) and deletes it all on
`stop()`. The directory is in memory (/dev/shm) when there is room: a CREATE DATABASE there
takes ~30 ms instead of 200-300 ms on disk. Tests isolate themselves by database, not by
server: `create_database(name, template=...)` copies a template (say, one already migrated)
in a few milliseconds, where a server start takes about a second.

PostgreSQL refuses to run as root; as root the server runs as the `postgres` OS user (Debian's
postgresql package creates it). The process life cycle is `tests.support.processes`.

Fixtures for a conftest: `postgres_server` (import it into one conftest only: each module that
imports it defines a session fixture of its own, that is, a second server) and
`postgres_database_url` (an empty database for one test); `scratch_database()` makes such a
database from a template.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.processes import HOST, ManagedServer, ServerError, ServerProcess

USER = "opsbot"
DATABASE = "opsbot"
SERVER_OS_USER = "postgres"

# The data is thrown away, so durability buys nothing; minimal WAL keeps the directory small.
_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "wal_level": "minimal",
    "max_wal_senders": "0",
    "max_connections": "200",
}
_SERVER_BINARIES = ("initdb", "postgres")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
_MEMORY_DIR = Path("/dev/shm")
_MEMORY_DIR_MIN_FREE = 1 << 30  # Docker's default /dev/shm is 64 MiB: too small, use the disk then

MISSING_MESSAGE = (
    "PostgreSQL server binaries (initdb, postgres) not found on PATH, via `pg_config --bindir` "
    "or under /usr/lib/postgresql/*/bin; install Debian's `postgresql` package "
    "(`make test` does so via scripts/ensure-system-deps.sh)"
)


class PostgresServerError(ServerError):
    """The throw-away server could not be set up; the message says why (with the server log tail)."""


def find_postgres_bindir() -> Path | None:
    """Return the directory holding initdb and postgres, or None.

    Looks at PATH first (resolving symlinks such as /usr/local/bin/initdb), then at
    `pg_config --bindir`, then at the highest /usr/lib/postgresql/<version>/bin, where
    Debian puts the server binaries without linking them into PATH.
    """
    candidates: list[Path] = []
    if initdb := shutil.which("initdb"):
        candidates.append(Path(initdb).resolve().parent)
    if pg_config := shutil.which("pg_config"):
        try:
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            bindir = ""
        if bindir:
            candidates.append(Path(bindir))
    candidates.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True))
    for directory in candidates:
        if all(os.access(directory / name, os.X_OK) for name in _SERVER_BINARIES):
            return directory
    return None


def _version_key(bindir: Path) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", bindir.parent.name))


def _client_env() -> dict[str, str]:
    # PGHOST, PGPASSWORD, PGOPTIONS... from the developer's shell must not leak into our commands.
    return {key: value for key, value in os.environ.items() if not key.startswith("PG")}


def _memory_dir() -> Path | None:
    try:
        if os.access(_MEMORY_DIR, os.W_OK | os.X_OK) and shutil.disk_usage(_MEMORY_DIR).free >= _MEMORY_DIR_MIN_FREE:
            return _MEMORY_DIR
    except OSError:
        pass
    return None


def _checked_name(name: str) -> str:
    if not _NAME.match(name):
        raise ValueError(f"not a plain database name: {name!r}")
    return name


class PostgresServer(ManagedServer):
    """A PostgreSQL cluster of our own on 127.0.0.1; `with PostgresServer() as pg: ...`.

    Role `opsbot` (superuser, trust authentication) and database `opsbot` exist once started.
    """

    def __init__(self, bindir: Path | None = None, *, start_timeout: float = 30.0) -> None:
        self.bindir = bindir
        self.startup_seconds: float | None = None
        self._process = ServerProcess(
            "PostgreSQL",
            error=PostgresServerError,
            user=SERVER_OS_USER if os.geteuid() == 0 else None,
            stop_signal=signal.SIGINT,  # "fast" shutdown: SIGTERM would wait for clients to leave
            start_timeout=start_timeout,
        )
        self._version = 0

    # -- addresses ---------------------------------------------------------------------------

    @property
    def port(self) -> int | None:
        return self._process.port

    @property
    def directory(self) -> Path | None:
        """The cluster's directory while it runs: data/, the unix socket and server.log."""
        return self._process.directory

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
        if self.port is None:
            raise PostgresServerError("the PostgreSQL server is not running; call start() first")
        return self.port

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._process.directory is not None:
            raise PostgresServerError("the PostgreSQL server is already running")
        began = time.monotonic()
        bindir = self.bindir = self.bindir or find_postgres_bindir()
        if bindir is None:
            raise PostgresServerError(MISSING_MESSAGE)
        try:
            directory = self._process.make_directory("opsbot-pg-", parent=_memory_dir())
            data = directory / "data"
            self._process.run(
                [
                    str(bindir / "initdb"), "-D", str(data), "-U", USER, "-A", "trust",
                    "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
                ],  # fmt: skip
                env=_client_env(),
            )
            settings = [arg for key, value in _SETTINGS.items() for arg in ("-c", f"{key}={value}")]
            self._process.start(
                lambda port: [
                    str(bindir / "postgres"), "-D", str(data), "-p", str(port), "-k", str(directory), *settings
                ],  # fmt: skip
                ready=lambda _port: _postmaster_status(data) == "ready",
                env=_client_env(),
            )
            self._version = int(self.run_sql("SHOW server_version_num", database="postgres"))
            self.run_sql(f'CREATE DATABASE "{DATABASE}"', database="postgres")
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop the server (its data is discarded) and delete its directory. Idempotent."""
        self._process.stop()

    # -- databases ---------------------------------------------------------------------------

    def create_database(self, name: str, *, template: str | None = None) -> str:
        """Create a database, empty or a copy of `template`, and return its SQLAlchemy async URL."""
        sql = f'CREATE DATABASE "{_checked_name(name)}"'
        if template is not None:
            sql += f' TEMPLATE "{_checked_name(template)}"'
            if self._version >= 150000:  # copying the files beats writing every page to the WAL
                sql += " STRATEGY FILE_COPY"
        self.run_sql(sql, database="postgres")
        return self.url_for(name)

    def mark_template(self, name: str) -> None:
        """Make a database a template; it then refuses connections, which would block copying it."""
        self.run_sql(
            f'ALTER DATABASE "{_checked_name(name)}" WITH IS_TEMPLATE true ALLOW_CONNECTIONS false',
            database="postgres",
        )

    def drop_database(self, name: str) -> None:
        """Drop a database, disconnecting whoever is still connected to it."""
        self.run_sql(f'DROP DATABASE IF EXISTS "{_checked_name(name)}" WITH (FORCE)', database="postgres")

    def run_sql(self, sql: str, database: str = DATABASE) -> str:
        """Run SQL through psql (no event loop needed, so safe inside async tests); return its output."""
        assert self.bindir is not None
        psql = self.bindir / "psql"
        command = [
            str(psql if os.access(psql, os.X_OK) else shutil.which("psql") or psql),
            "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
            "-h", HOST, "-p", str(self._port()), "-U", USER, "-d", database, "-c", sql,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, env=_client_env())
        if result.returncode != 0:
            raise PostgresServerError(f"psql failed on {sql!r}: {result.stderr.strip()}")
        return result.stdout


def _postmaster_status(data: Path) -> str:
    """The 8th line of postmaster.pid: "ready" once connections are accepted (what pg_ctl -w reads)."""
    try:
        lines = (data / "postmaster.pid").read_text().splitlines()
    except OSError:
        return ""
    return lines[7].strip() if len(lines) > 7 else ""


# -- pytest fixtures ---------------------------------------------------------------------------

_database_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """The session's PostgreSQL server; fails (never skips) the test when PostgreSQL is missing."""
    server = PostgresServer()
    try:
        server.start()
    except PostgresServerError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()


@contextmanager
def scratch_database(
    server: PostgresServer, request: pytest.FixtureRequest, *, template: str | None = None
) -> Iterator[str]:
    """A database named after the test, empty or a copy of `template`, dropped afterwards; yields its URL."""
    slug = re.sub(r"[^a-z0-9_]+", "_", request.node.name.lower())
    name = f"t{next(_database_numbers)}_{slug}"[:63]
    url = server.create_database(name, template=template)
    try:
        yield url
    finally:
        try:
            server.drop_database(name)
        except PostgresServerError:
            pass  # the whole cluster is deleted at the end of the session anyway


@pytest.fixture
def postgres_database_url(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[str]:
    """SQLAlchemy async URL of a fresh, empty database for this test only (dropped afterwards)."""
    with scratch_database(postgres_server, request) as url:
        yield url
