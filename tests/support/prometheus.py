"""A real Prometheus (Debian's `prometheus`, 2.42) over known data, for the performance report's tests.

`PrometheusServer` writes the bundled KPI data (tests/support/kpi_data.py) as OpenMetrics, turns it
into TSDB blocks with `promtool tsdb create-blocks-from openmetrics`, and serves them on a free
127.0.0.1 port with no scrape targets, so the data is exactly what was written. Retention is a
century: Prometheus measures it from the newest block, and the data must never age out.

The data's eventful day is `day` (tomorrow by default): a bot whose clock stands on that day is
ahead of the real clock, which its outbox needs (items are due at the real time they were written).

The session fixture `prometheus_kpis` starts one server per test session; import it into one
conftest only (tests/conftest.py does). A missing Prometheus fails the test with the install hint.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.kpi_data import write_openmetrics
from tests.support.processes import (
    HOST,
    ManagedServer,
    ServerError,
    ServerProcess,
    environment_without_proxies,
    ready_endpoint_answers,
)

MISSING_MESSAGE = (
    "Prometheus not found (prometheus and promtool on PATH); install Debian's `prometheus` package "
    "(`make test` does so via scripts/ensure-system-deps.sh)"
)


class PrometheusError(ServerError):
    """Prometheus could not be started or its blocks not built; the message includes its log tail."""


def _binary(name: str) -> Path | None:
    found = shutil.which(name)
    if found:
        return Path(found)
    fallback = Path("/usr/bin") / name
    return fallback if os.access(fallback, os.X_OK) else None


def tomorrow() -> date:
    return datetime.now(timezone.utc).date() + timedelta(days=1)


class PrometheusServer(ManagedServer):
    """`with PrometheusServer(day) as prometheus:` serves the KPI data whose eventful day is `day`."""

    def __init__(self, day: date, *, start_timeout: float = 60.0) -> None:
        self.day = day
        self.openmetrics: Path | None = None
        self.startup_seconds: float | None = None
        self._process = ServerProcess("Prometheus", error=PrometheusError, start_timeout=start_timeout)

    @property
    def url(self) -> str:
        if self._process.port is None:
            raise PrometheusError("Prometheus is not running; call start() first")
        return f"http://{HOST}:{self._process.port}"

    def start(self) -> None:
        prometheus, promtool = _binary("prometheus"), _binary("promtool")
        if prometheus is None or promtool is None:
            raise PrometheusError(MISSING_MESSAGE)
        began = time.monotonic()
        try:
            directory = self._process.make_directory("opsbot-prometheus-")
            self.openmetrics = write_openmetrics(directory / "kpis.om", self.day)
            tsdb = directory / "tsdb"
            self._process.run([str(promtool), "tsdb", "create-blocks-from", "openmetrics", "-q", str(self.openmetrics), str(tsdb)])
            config = directory / "prometheus.yml"
            config.write_text("global:\n  scrape_interval: 1h\n")  # no scrape_configs: nothing but our blocks
            self._process.start(
                lambda port: [
                    str(prometheus),
                    f"--config.file={config}",
                    f"--storage.tsdb.path={tsdb}",
                    "--storage.tsdb.retention.time=100y",
                    f"--web.listen-address={HOST}:{port}",
                ],
                ready=_answers_ready,
                env=environment_without_proxies(),
            )
        except BaseException:
            self.stop()
            raise
        self.startup_seconds = time.monotonic() - began

    def stop(self) -> None:
        """Stop Prometheus and delete its directory (blocks, data file). Idempotent."""
        self._process.stop()


def _answers_ready(port: int) -> bool:
    return ready_endpoint_answers(f"http://{HOST}:{port}/-/ready")


@pytest.fixture(scope="session")
def prometheus_kpis() -> Iterator[PrometheusServer]:
    """The session's Prometheus over the KPI data, its eventful day tomorrow."""
    server = PrometheusServer(tomorrow())
    try:
        server.start()
    except PrometheusError as error:
        pytest.fail(str(error), pytrace=False)
    try:
        yield server
    finally:
        server.stop()
