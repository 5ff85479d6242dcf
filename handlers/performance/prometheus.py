"""A small client for the Prometheus HTTP API (`/api/v1/query`): Prometheus, Thanos, Mimir, VictoriaMetrics.

Every query names its evaluation time: reports are about a period seen from the bot's clock, never
about whatever "now" the server has. Failures come in two kinds, because a report says different
things about them: the source is unreachable or broken (`SourceUnavailable`, one line for the whole
report), or one query was refused (`QueryRejected`, PromQL the config got wrong, named per KPI).
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import aiohttp

from core.http_session import LazyClientSession

QUERY_PATH = "/api/v1/query"


class PrometheusError(Exception):
    """Base of what a query can raise; the message is one line fit for a report."""


class SourceUnavailable(PrometheusError):
    """No answer, a 5xx, or an answer that is not the Prometheus API: nothing from this source can be trusted."""


class QueryRejected(PrometheusError):
    """The server understood the request and refused the query (HTTP 400/422: a PromQL error, say)."""


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


class PrometheusClient:
    """One aiohttp session for the bot's lifetime, opened on first use and closed by `close()`."""

    def __init__(self, base_url: str, *, timeout_seconds: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = LazyClientSession(timeout_seconds=timeout_seconds)

    async def close(self) -> None:
        await self._http.close()

    async def query(self, promql: str, at: datetime) -> list[Sample]:
        """An instant query evaluated at `at`; a scalar result comes back as one sample without labels.

        NaN and infinite values (0/0 when a period had no requests, say) are left out: they are not figures.
        """
        form = {"query": promql, "time": f"{at.timestamp():.3f}"}
        data = await self._post(QUERY_PATH, form)
        kind, result = data.get("resultType"), data.get("result")
        if kind == "vector" and isinstance(result, list):
            samples = [_sample(item.get("metric") or {}, item.get("value")) for item in result if isinstance(item, dict)]
        elif kind == "scalar":
            samples = [_sample({}, result)]
        else:
            raise SourceUnavailable(f"{self.base_url} answered a {kind or 'malformed'} result to an instant query")
        return [sample for sample in samples if sample is not None and math.isfinite(sample.value)]

    async def _post(self, path: str, form: dict[str, str]) -> dict[str, Any]:
        try:
            async with self._http.get().post(self.base_url + path, data=form) as response:
                status = response.status
                text = await response.text()
        except asyncio.TimeoutError:
            raise SourceUnavailable(f"{self.base_url} did not answer within {self._http.timeout.total:g} s") from None
        except aiohttp.ClientError as error:
            raise SourceUnavailable(f"{self.base_url} is unreachable ({_reason(error)})") from None
        try:
            body = json.loads(text)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise SourceUnavailable(f"{self.base_url} answered HTTP {status} without the Prometheus API's JSON")
        if body.get("status") == "success" and isinstance(body.get("data"), dict):
            return body["data"]
        message = str(body.get("error") or f"HTTP {status}")
        if status in (400, 422):
            raise QueryRejected(message)
        raise SourceUnavailable(f"{self.base_url} answered HTTP {status}: {message}")


def _sample(labels: Mapping[str, Any], pair: Any) -> Sample | None:
    try:
        _, raw = pair
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return Sample({str(k): str(v) for k, v in labels.items()}, value)


def _reason(error: aiohttp.ClientError) -> str:
    text = str(error) or type(error).__name__
    return text.split(" [")[-1].rstrip("]") if "[" in text else text
