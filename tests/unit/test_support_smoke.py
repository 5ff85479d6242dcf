"""The test infrastructure itself works: a real PostgreSQL and a real Alertmanager on loopback."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from tests.support.alertmanager import AlertmanagerFactory, AlertmanagerServer, alertmanager_factory  # noqa: F401
# `postgres_server` comes from the project conftest: importing it here too would start a second server.
from tests.support.postgres import PostgresServer, find_postgres_bindir, postgres_database_url  # noqa: F401


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := predicate()):
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout} s")
        time.sleep(interval)
    return result


def port_is_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class WebhookRecorder:
    """A loopback HTTP server that records every POST (path, headers, JSON body) and answers 200."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                recorder.requests.append(
                    {"path": self.path, "headers": dict(self.headers), "body": json.loads(body)}
                )
                self.send_response(200)
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_port}/webhooks/alertmanager"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookRecorder:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def bodies_with_status(self, status: str) -> list[dict[str, Any]]:
        return [request["body"] for request in self.requests if request["body"]["status"] == status]


@pytest.fixture
def webhook_recorder() -> Iterator[WebhookRecorder]:
    with WebhookRecorder() as recorder:
        yield recorder


def test_find_postgres_bindir_finds_server_binaries() -> None:
    bindir = find_postgres_bindir()
    assert bindir is not None, "install Debian's postgresql package"
    assert (bindir / "initdb").exists() and (bindir / "postgres").exists()


@pytest.mark.postgres
async def test_postgres_server_serves_asyncpg_and_sqlalchemy(
    postgres_server: PostgresServer, postgres_database_url: str
) -> None:
    assert postgres_server.url.startswith("postgresql+asyncpg://opsbot@127.0.0.1:")
    assert postgres_server.url.endswith("/opsbot")

    connection = await asyncpg.connect(postgres_server.dsn)
    try:
        assert await connection.fetchval("select current_user") == "opsbot"
        assert await connection.fetchval("show fsync") == "off"
        assert await connection.fetchval("show listen_addresses") == "127.0.0.1"
    finally:
        await connection.close()

    engine = create_async_engine(postgres_database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(text("create table note (id serial primary key, body text not null)"))
            await conn.execute(text("insert into note (body) values ('isolated')"))
        async with engine.connect() as conn:
            assert (await conn.execute(text("select body from note"))).scalar_one() == "isolated"
    finally:
        await engine.dispose()
    # Each test's database is its own: the shared `opsbot` database has no such table.
    assert postgres_server.run_sql("select to_regclass('note') is null").strip() == "t"


@pytest.mark.postgres
def test_postgres_databases_copy_a_template(postgres_server: PostgresServer) -> None:
    postgres_server.create_database("smoke_template")
    postgres_server.run_sql("create table note (body text); insert into note values ('copied')", "smoke_template")
    postgres_server.mark_template("smoke_template")
    postgres_server.create_database("smoke_copy", template="smoke_template")
    try:
        assert postgres_server.run_sql("select body from note", "smoke_copy").strip() == "copied"
    finally:
        postgres_server.drop_database("smoke_copy")


@pytest.mark.postgres
def test_postgres_server_stops_its_process_and_deletes_its_directory() -> None:
    with PostgresServer() as server:
        port = server.port
        assert port is not None and port_is_open(port)
        directory = server.directory
        assert directory is not None and (directory / "data" / "PG_VERSION").exists()
    assert not port_is_open(port)
    assert not directory.exists()


@pytest.mark.alertmanager
def test_alertmanager_delivers_firing_and_resolved_webhooks_with_bearer_token(
    alertmanager_factory: AlertmanagerFactory, webhook_recorder: WebhookRecorder
) -> None:
    alertmanager = alertmanager_factory(webhook_recorder.url, "s3cret-token")
    if shutil.which("amtool"):
        check = subprocess.run(["amtool", "check-config", str(alertmanager.config_path)], capture_output=True)
        assert check.returncode == 0, check.stdout + check.stderr

    alert = {
        "labels": {"alertname": "DiskFull", "service": "db", "severity": "warning", "instance": "db-1:9100"},
        "annotations": {"summary": "Disk almost full on db-1"},
    }
    alertmanager.post_alerts([alert])
    firing = wait_for(lambda: webhook_recorder.bodies_with_status("firing"))[0]
    alertmanager.resolve_alerts([alert])
    resolved = wait_for(lambda: webhook_recorder.bodies_with_status("resolved"))[0]

    first = webhook_recorder.requests[0]
    assert first["path"] == "/webhooks/alertmanager"
    assert first["headers"]["Authorization"] == "Bearer s3cret-token"
    assert first["headers"]["User-Agent"].startswith("Alertmanager/")
    assert firing["receiver"] == "opsbot"
    assert firing["externalURL"] == alertmanager.url
    assert firing["alerts"][0]["labels"] == alert["labels"]
    assert resolved["alerts"][0]["fingerprint"] == firing["alerts"][0]["fingerprint"]
    assert resolved["alerts"][0]["status"] == "resolved"


@pytest.mark.alertmanager
def test_alertmanager_server_stops_its_process() -> None:
    with AlertmanagerServer("http://127.0.0.1:9/unused", "token") as alertmanager:
        port = alertmanager.port
        assert port is not None and port_is_open(port)
    assert not port_is_open(port)
