"""Turn Alertmanager, Grafana and generic webhook bodies into one normalised shape (Datadog and
New Relic: vendors.py).

Unknown keys are ignored (Alertmanager adds fields in newer versions); a wrong shape raises
PayloadError naming the field, which the webhook answers with a 422. Bodies come through
sanitising.decode_json first (storable strings, bounded depth); what is checked here is what only
the shape knows: times that leave datetime's range once in UTC, counts that must fit an integer
column, and fingerprints longer than their column.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from functools import lru_cache
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Annotated, Any, Literal
from urllib.parse import quote

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from handlers.issues.message_view import GRAFANA_VALUE_STRING_KEY, GRAFANA_VALUES_KEY, IMAGE_KEY
from handlers.silences.matchers import EXTERNAL_URL_KEY
from storage.models import AlertStatus

# Alertmanager and Grafana mark "not resolved yet" with Go's zero time.
_GO_ZERO_YEAR = 1
MAX_FINGERPRINT_CHARS = 128  # alerts.fingerprint is VARCHAR(128): PostgreSQL refuses longer, SQLite keeps it
MAX_COUNT = 2**31 - 1  # counts from a body must fit an INTEGER column


class PayloadError(ValueError):
    """The body is JSON but not the shape we expect; `problem` says where."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


@dataclass(frozen=True)
class IncomingAlert:
    source: str
    fingerprint: str
    status: AlertStatus
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None = None
    generator_url: str | None = None
    acknowledged: bool = False  # the sender says someone took it (New Relic ACKNOWLEDGED): the source acknowledges

    @property
    def alertname(self) -> str:
        return self.labels.get("alertname") or self.annotations.get("summary") or "Alert"


@dataclass(frozen=True)
class AlertBatch:
    """One webhook delivery: for Alertmanager, one notification of one alert group."""

    source: str
    alerts: list[IncomingAlert]
    group_key: str | None = None
    receiver: str | None = None
    external_url: str | None = None
    truncated_alerts: int = 0
    common_labels: dict[str, str] = field(default_factory=dict)


def _labels_fingerprint(source: str, labels: dict[str, str]) -> str:
    canonical = json.dumps(sorted(labels.items()), separators=(",", ":"))
    return hashlib.sha256(f"{source}:{canonical}".encode()).hexdigest()[:16]


def fingerprint_for(given: str | None, source: str, labels: dict[str, str]) -> str:
    """The sender's fingerprint (or dedup key), else one made from the labels.

    One longer than the column keeps a readable prefix and gains a hash of the whole, so it still
    deduplicates (the same key maps to the same fingerprint) on both databases.
    """
    if not given:
        return _labels_fingerprint(source, labels)
    if len(given) <= MAX_FINGERPRINT_CHARS:
        return given
    digest = hashlib.sha256(given.encode("utf-8", "surrogatepass")).hexdigest()
    return f"{given[: MAX_FINGERPRINT_CHARS - len(digest) - 1]}~{digest}"


def _utc(value: datetime | None) -> datetime | None:
    """Aware UTC, or None for Go's zero time; a time past year 9999 once in UTC is a field error."""
    if value is None or value.year <= _GO_ZERO_YEAR:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    try:
        return value.astimezone(timezone.utc)
    except OverflowError:
        raise ValueError("out of range once converted to UTC") from None


UTCTime = Annotated[datetime | None, AfterValidator(_utc)]
Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class Lenient(BaseModel):
    """A sender's body: unknown keys ignored (senders add fields), fields read by alias or name."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)


def _stringify(value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object of strings")
    return {str(key): "" if item is None else str(item) for key, item in value.items()}


class _PromAlert(Lenient):
    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: UTCTime = Field(alias="startsAt")
    ends_at: UTCTime = Field(default=None, alias="endsAt")
    generator_url: str | None = Field(default=None, alias="generatorURL")
    fingerprint: str | None = None
    dashboard_url: str | None = Field(default=None, alias="dashboardURL")
    panel_url: str | None = Field(default=None, alias="panelURL")
    silence_url: str | None = Field(default=None, alias="silenceURL")
    image_url: str | None = Field(default=None, alias="imageURL")
    values: dict[str, Any] | None = None
    value_string: str | None = Field(default=None, alias="valueString")

    _strings = field_validator("labels", "annotations", mode="before")(_stringify)

    @field_validator("values", mode="before")
    @classmethod
    def _values_object(cls, value: Any) -> Any:
        return value if isinstance(value, dict) else None  # shown, never needed: a wrong shape is dropped


class _PromNotification(Lenient):
    alerts: list[_PromAlert]
    receiver: str | None = None
    group_key: str | None = Field(default=None, alias="groupKey")
    external_url: str | None = Field(default=None, alias="externalURL")
    truncated_alerts: Count = Field(default=0, alias="truncatedAlerts")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")

    _strings = field_validator("common_labels", mode="before")(_stringify)


def describe_error(error: ValidationError) -> str:
    first = error.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return f"{where}: {first['msg']}"


def _format_value(value: Any) -> str:
    if isinstance(value, float) and math.isfinite(value):
        return f"{value:.6g}"
    return str(value)


def format_grafana_values(values: dict[str, Any]) -> str:
    """Grafana's own "Value:" line: `A=2.47355e+09, B=0, C=1`."""
    return ", ".join(f"{name}={_format_value(value)}" for name, value in values.items())


def silence_url(external_url: str | None, labels: dict[str, str]) -> str | None:
    """Alertmanager's UI form for a new silence, its matchers those of this alert's labels.

    The shape Alertmanager's own Slack template links to (`__alert_silence_link`):
    `{externalURL}/#/silences/new?filter={alertname="X",instance="y"}`, URL-encoded, alertname first.
    """
    if not external_url or not external_url.startswith(("http://", "https://")) or not labels:
        return None
    names = sorted(labels, key=lambda name: (name != "alertname", name))
    # quote() encodes character by character, so the filter `{name="value",...}` is encoded piece by
    # piece: a piece with nothing to encode (most names and values) skips urllib's step per byte.
    matchers = "%2C".join(f"{_quoted(name)}%3D%22{_quoted(_matcher_value(labels[name]))}%22" for name in names)
    return f"{external_url.rstrip('/')}/#/silences/new?filter=%7B{matchers}%7D"


def _matcher_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


_UNRESERVED = re.compile(r"[A-Za-z0-9_.~-]*")  # what quote(text, safe="") leaves as it is


@lru_cache(maxsize=4096)  # label names and most values recur from one notification to the next
def _quoted(text: str) -> str:
    return text if _UNRESERVED.fullmatch(text) else quote(text, safe="")


def _prometheus_style(source: str, body: Any) -> AlertBatch:
    try:
        notification = _PromNotification.model_validate(body)
    except ValidationError as error:
        raise PayloadError(describe_error(error)) from None
    alerts = []
    for item in notification.alerts:
        annotations = dict(item.annotations)
        # Grafana carries its links beside the annotations; keep them where the message looks.
        if item.dashboard_url and "dashboard" not in annotations:
            annotations["dashboard"] = item.dashboard_url
        if item.panel_url and "panel" not in annotations:
            annotations["panel"] = item.panel_url
        if item.silence_url and "silence" not in annotations:
            annotations["silence"] = item.silence_url
        if source == "alertmanager" and "silence" not in annotations:
            made = silence_url(notification.external_url, item.labels)
            if made:
                annotations["silence"] = made
        if source == "alertmanager":  # where Silence from Slack calls, if the config lists it (handlers/silences)
            annotations.pop(EXTERNAL_URL_KEY, None)  # never a sender's own value
            if notification.external_url:
                annotations[EXTERNAL_URL_KEY] = notification.external_url
        if item.image_url:
            annotations[IMAGE_KEY] = item.image_url
        if item.values:
            annotations[GRAFANA_VALUES_KEY] = format_grafana_values(item.values)
        if item.value_string:
            annotations[GRAFANA_VALUE_STRING_KEY] = item.value_string
        alerts.append(
            IncomingAlert(
                source=source,
                fingerprint=fingerprint_for(item.fingerprint, source, item.labels),
                status=AlertStatus(item.status),
                labels=item.labels,
                annotations=annotations,
                starts_at=item.starts_at or datetime.now(timezone.utc),
                ends_at=item.ends_at,
                generator_url=item.generator_url or None,
            )
        )
    return AlertBatch(
        source=source,
        alerts=alerts,
        group_key=notification.group_key,
        receiver=notification.receiver,
        external_url=notification.external_url,
        truncated_alerts=notification.truncated_alerts,
        common_labels=notification.common_labels,
    )


def parse_alertmanager(body: Any) -> AlertBatch:
    """Alertmanager webhook v4 (0.25 and newer)."""
    return _prometheus_style("alertmanager", body)


def parse_grafana(body: Any) -> AlertBatch:
    """Grafana unified alerting's webhook contact point: Alertmanager's shape plus a few links."""
    return _prometheus_style("grafana", body)


_RESOLVED_WORDS = {"resolved", "ok", "closed", "recovered", "inactive", "normal"}


class _GenericAlert(Lenient):
    title: str = Field(min_length=1, max_length=10_000)
    status: str = "firing"
    key: str | None = Field(default=None, alias="dedup_key")
    severity: str | None = None
    description: str | None = None
    service: str | None = None
    category: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    links: dict[str, str] = Field(default_factory=dict)
    started_at: UTCTime = None
    ended_at: UTCTime = None

    _strings = field_validator("labels", "links", mode="before")(_stringify)

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str) -> str:
        lowered = value.strip().lower()
        if lowered not in _RESOLVED_WORDS | {"firing", "triggered", "alerting", "open", "problem"}:
            raise ValueError("must be 'firing' or 'resolved'")
        return "resolved" if lowered in _RESOLVED_WORDS else "firing"


class _GenericBody(Lenient):
    source: str = Field(default="generic", max_length=64)
    alerts: list[_GenericAlert] = Field(min_length=1, max_length=1000)


def parse_generic(body: Any) -> AlertBatch:
    """The documented generic shape: one alert object, or {"source": ..., "alerts": [...]}.

    A resolve carries the same `dedup_key` (or the same title and labels) as its firing.
    """
    if isinstance(body, dict) and "alerts" not in body:
        body = {"source": body.get("source", "generic"), "alerts": [body]}
    try:
        parsed = _GenericBody.model_validate(body)
    except ValidationError as error:
        raise PayloadError(describe_error(error)) from None
    now = datetime.now(timezone.utc)
    alerts = []
    for item in parsed.alerts:
        labels = {"alertname": item.title, **item.labels}
        for name in ("severity", "service", "category"):
            value = getattr(item, name)
            if value:
                labels.setdefault(name, value)
        labels.setdefault("monitor", parsed.source)
        annotations = {"summary": item.title}
        if item.description:
            annotations["description"] = item.description
        for name, url in item.links.items():
            annotations["runbook_url" if name in ("runbook", "runbook_url") else name] = url
        status = AlertStatus(item.status)
        alerts.append(
            IncomingAlert(
                source="generic",
                fingerprint=fingerprint_for(item.key, "generic", labels),
                status=status,
                labels=labels,
                annotations=annotations,
                starts_at=item.started_at or now,
                ends_at=item.ended_at or (now if status is AlertStatus.RESOLVED else None),
                generator_url=item.links.get("source") or item.links.get("url"),
            )
        )
    return AlertBatch(source="generic", alerts=alerts)
