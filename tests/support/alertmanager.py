"""A real Prometheus Alertmanager (Debian's `prometheus-alertmanager`, 0.25) for end-to-end tests.

`AlertmanagerServer` writes a configuration with a single webhook receiver that sends a bearer
token, starts Alertmanager on a free 127.0.0.1 port with clustering off and its storage in a
temporary directory, and waits for `/-/ready`. Tests then post alerts to it with
`post_alerts()` / `resolve_alerts()` and receive Alertmanager's own webhooks, exactly as
production does. Everything stays on loopback.

The `alertmanager_factory` fixture at the bottom starts servers for a test and always stops
them at teardown, failed test or not; import it into a conftest:
`from tests.support.alertmanager import alertmanager_factory`.
"""

from __future__ import annotations

import json
import os
import shutil
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.support.processes import (
    HOST,
    LOOPBACK,
    ManagedServer,
    ServerError,
    ServerProcess,
    environment_without_proxies,
    ready_endpoint_answers,
)

RECEIVER = "opsbot"
_BINARY_NAMES = ("prometheus-alertmanager", "alertmanager")  # Debian's name, then upstream's

MISSING_MESSAGE = (
    "Alertmanager not found (prometheus-alertmanager or alertmanager on PATH); install Debian's "
    "`prometheus-alertmanager` package (`make test` does so via scripts/ensure-system-deps.sh)"
)

# Requests to our own loopback servers must never go through a proxy from the environment.


class AlertmanagerError(ServerError):
    """Alertmanager could not be started or refused a request; the message includes its log tail."""


def find_alertmanager() -> Path | None:
    """Return the Alertmanager binary: Debian's `prometheus-alertmanager`, else upstream's `alertmanager`."""
    for name in _BINARY_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    fallback = Path("/usr/bin/prometheus-alertmanager")
    return fallback if os.access(fallback, os.X_OK) else None


def _now_rfc3339() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class AlertmanagerServer(ManagedServer):
    """One Alertmanager on 127.0.0.1 whose only receiver is a webhook; `with AlertmanagerServer(...) as am:`."""

    def __init__(
        self,
        webhook_url: str,
        bearer_token: str,
        group_wait: str = "1s",
        group_interval: str = "1s",
        repeat_interval: str = "1h",
        *,
        group_by: Sequence[str] = ("alertname",),
        max_alerts: int = 0,
        binary: Path | None = None,
        start_timeout: float = 30.0,
    ) -> None:
        self.webhook_url = webhook_url
        self.bearer_token = bearer_token
        self.group_wait = group_wait
        self.group_interval = group_interval
        self.repeat_interval = repeat_interval
        self.group_by = list(group_by)
        self.max_alerts = max_alerts
        self.binary = binary
        self.config_path: Path | None = None
        self.startup_seconds: float | None = None
        self._process = ServerProcess("Alertmanager", error=AlertmanagerError, start_timeout=start_timeout)

    @property
    def port(self) -> int | None:
        return self._process.port

    @property
    def url(self) -> str:
        if self.port is None:
            raise AlertmanagerError("Alertmanager is not running; call start() first")
        return f"http://{HOST}:{self.port}"

    def config(self) -> dict[str, Any]:
        """The configuration written to `config_path` (JSON is YAML, so no quoting surprises)."""
        webhook: dict[str, Any] = {
            "url": self.webhook_url,
            "send_resolved": True,
            "http_config": {"authorization": {"type": "Bearer", "credentials": self.bearer_token}},
        }
        if self.max_alerts:
            webhook["max_alerts"] = self.max_alerts
        return {
            "route": {
                "receiver": RECEIVER,
                "group_by": self.group_by,
                "group_wait": self.group_wait,
                "group_interval": self.group_interval,
                "repeat_interval": self.repeat_interval,
            },
            "receivers": [{"name": RECEIVER, "webhook_configs": [webhook]}],
        }

    # -- life cycle --------------------------------------------------------------------------

    def start(self) -> None:
        if self._process.directory is not None:
            raise AlertmanagerError("Alertmanager is already running")
        began = time.monotonic()
        binary = self.binary = self.binary or find_alertmanager()
        if binary is None:
            raise AlertmanagerError(MISSING_MESSAGE)
        try:
            directory = self._process.make_directory("opsbot-am-")
            config_path = self.config_path = directory / "alertmanager.yml"
            config_path.write_text(json.dumps(self.config(), indent=2) + "\n")
            self._process.start(
                lambda port: [
                    str(binary),
                    f"--config.file={config_path}",
                    f"--storage.path={directory / 'data'}",
                    f"--web.listen-address={HOST}:{port}",
                    f"--web.external-url=http://{HOST}:{port}",
                    "--cluster.listen-address=",
                ],
                ready=_answers_ready,
                env=environment_without_proxies(),
            )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop Alertmanager and delete its directory. Idempotent; safe after a failed start."""
        self._process.stop()

    # -- alerts ------------------------------------------------------------------------------

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """POST /api/v2/alerts: each alert is {labels, annotations?, startsAt?, endsAt?, generatorURL?}."""
        request = urllib.request.Request(
            f"{self.url}/api/v2/alerts",
            data=json.dumps(alerts).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with LOOPBACK.open(request, timeout=10) as response:
                response.read()
        except urllib.error.HTTPError as error:
            raise AlertmanagerError(
                f"Alertmanager refused the alerts: HTTP {error.code} {error.read().decode(errors='replace')}"
            ) from None

    def resolve_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """Post the same label sets again with endsAt = now, which resolves them."""
        now = _now_rfc3339()
        self.post_alerts([{**alert, "endsAt": now} for alert in alerts])


def _answers_ready(port: int) -> bool:
    return ready_endpoint_answers(f"http://{HOST}:{port}/-/ready")


AlertmanagerFactory = Callable[..., AlertmanagerServer]


@pytest.fixture
def alertmanager_factory() -> Iterator[AlertmanagerFactory]:
    """`start(webhook_url, bearer_token, **options) -> AlertmanagerServer`, started and ready.

    Every server it started is stopped at teardown, whatever the test's outcome. A missing
    Alertmanager fails the test with the install hint (never a skip).
    """
    started: list[AlertmanagerServer] = []

    def start(webhook_url: str, bearer_token: str, **options: Any) -> AlertmanagerServer:
        server = AlertmanagerServer(webhook_url, bearer_token, **options)
        started.append(server)
        try:
            server.start()
        except AlertmanagerError as error:
            failure = str(error)
        else:
            return server
        pytest.fail(failure, pytrace=False)

    try:
        yield start
    finally:
        for server in reversed(started):
            server.stop()
