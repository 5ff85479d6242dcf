"""Datadog and New Relic webhooks, in the shape every alert takes (parsers.AlertBatch).

Each vendor says what happened in its own words; here that becomes firing or resolved, a `severity`
label the config maps to a priority, and a note where the state needs one:

| Datadog `$ALERT_TRANSITION`         | New Relic `state`  | here                                           |
|-------------------------------------|--------------------|------------------------------------------------|
| Triggered, Re-Triggered, Renotify   | CREATED, ACTIVATED | firing; severity from the monitor's priority   |
| Warn, Re-Warn                       |                    | firing, `warning`: a step below Triggered      |
| No Data, Re-No Data                 |                    | firing, `info` (Low), with a note              |
|                                     | ACKNOWLEDGED       | firing, and the source acknowledges the issue  |
| Recovered                           | CLOSED             | resolved                                       |

An alert and its recovery share a key (Datadog: `$ALERT_CYCLE_KEY`, else the monitor id and its
scope; New Relic: the issue id), so the recovery resolves the issue the alert opened.

Datadog fills `$VARIABLES` into a payload the user writes, so every value arrives as a string and
any field may be missing; a variable left as written (`"$ALERT_SCOPE"`) counts as missing.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from pydantic import Field, ValidationError, field_validator

from handlers.alerts.parsers import (
    AlertBatch,
    IncomingAlert,
    Lenient,
    PayloadError,
    describe_error,
    fingerprint_for,
)
from handlers.issues.message_view import IMAGE_KEY, NOTE_KEY
from storage.models import AlertStatus

DATADOG = "datadog"
NEWRELIC = "newrelic"
MAX_TAG_LABELS = 30
_UNFILLED = re.compile(r"\$[A-Z][A-Z0-9_]*")
_LABEL_NAME = re.compile(r"[^A-Za-z0-9_]")
_BRACKET = re.compile(r"\s*\[([^\[\]]*)\]")
_PRIORITY_WORD = re.compile(r"P[1-5]", re.I)
_RESERVED_LABELS = {"alertname", "severity", "instance", "scope", "monitor", "monitor_id"}


def _text(value: Any) -> str | None:
    """A scalar as trimmed text; None when empty or a `$VARIABLE` Datadog did not fill."""
    if value is None:
        return None
    if isinstance(value, (dict, list)):
        raise ValueError("must be a string")
    text = str(value).strip()
    if not text or _UNFILLED.fullmatch(text):
        return None
    return text


def _names(value: Any) -> list[str]:
    """A list of names, sent as a JSON list or (by a hand-written template) one comma-separated string."""
    if value is None:
        return []
    items = value if isinstance(value, list) else str(value).split(",")
    names = [_text(item) for item in items if not isinstance(item, (dict, list))]
    return [name for name in names if name]


def _epoch(value: str | None) -> datetime | None:
    """Epoch milliseconds (Datadog's $DATE, New Relic's createdAt) or seconds, or ISO 8601; None if neither."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return moment.astimezone(timezone.utc) if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
        except (ValueError, OverflowError):
            return None
    if not math.isfinite(number) or number <= 0:
        return None
    seconds = number / 1000 if number > 1e11 else number
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        return None


def _label_name(raw: str) -> str:
    name = _LABEL_NAME.sub("_", raw.strip())
    return f"_{name}" if name[:1].isdigit() else name


# --- Datadog -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Transition:
    status: AlertStatus
    severity: str | None  # None: the monitor's own priority decides
    note: str | None = None


_TRIGGERED = _Transition(AlertStatus.FIRING, None)
_WARN = _Transition(
    AlertStatus.FIRING, "warning", "Datadog: Warn, past the monitor's warning threshold but not its alert threshold."
)
_NO_DATA = _Transition(
    AlertStatus.FIRING, "info",
    "Datadog: No Data, the monitor stopped receiving data: the agent, the integration or the host may be down "
    "rather than the service.",
)
_DATADOG_TRANSITIONS = {
    "triggered": _TRIGGERED,
    "re-triggered": _Transition(AlertStatus.FIRING, None, "Datadog: Re-Triggered, the monitor fired again."),
    "renotify": _Transition(AlertStatus.FIRING, None, "Datadog: still triggered (a reminder)."),
    "null": _TRIGGERED,
    "warn": _WARN,
    "re-warn": _WARN,
    "no data": _NO_DATA,
    "re-no data": _NO_DATA,
    "recovered": _Transition(AlertStatus.RESOLVED, None),
}
_DATADOG_ALERT_TYPES = {"error": "triggered", "warning": "warn", "success": "recovered"}
# Datadog's monitor priorities (P1 Critical ... P5 Info) as severities the default config knows.
_DATADOG_PRIORITY_SEVERITY = {"p1": "critical", "p2": "critical", "p3": "warning", "p4": "info", "p5": "info"}
_SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


class _DatadogEvent(Lenient):
    title: str | None = None  # $EVENT_TITLE, e.g. "[Triggered on {host:web-1}] CPU high"
    alert_title: str | None = None  # $ALERT_TITLE
    body: str | None = None  # $EVENT_MSG
    alert_transition: str | None = None
    alert_type: str | None = None  # error, warning, success, info
    alert_id: str | None = None  # the monitor
    alert_cycle_key: str | None = None  # the same from trigger to recovery
    aggreg_key: str | None = None
    alert_scope: str | None = None  # "host:web-1,env:prod": which group of a multi-alert monitor
    alert_status: str | None = None
    alert_metric: str | None = None
    alert_priority: str | None = None  # P1 ... P5
    hostname: str | None = None
    link: str | None = None
    snapshot: str | None = None
    date: str | None = None
    last_updated: str | None = None
    dedup_key: str | None = None  # anyone's own key wins
    tags: list[str] = Field(default_factory=list)

    _texts = field_validator(
        "title", "alert_title", "body", "alert_transition", "alert_type", "alert_id", "alert_cycle_key",
        "aggreg_key", "alert_scope", "alert_status", "alert_metric", "alert_priority", "hostname", "link",
        "snapshot", "date", "last_updated", "dedup_key", mode="before",
    )(_text)
    _tags = field_validator("tags", mode="before")(_names)


@dataclass(frozen=True)
class _DatadogTitle:
    """What Datadog packs into a title: "[P2] [Triggered on {host:web-1}] CPU high"."""

    name: str
    transition: str | None = None
    scope: str | None = None
    priority: str | None = None


def _split_title(title: str) -> _DatadogTitle:
    transition = scope = priority = None
    rest = title
    while match := _BRACKET.match(rest):
        word = match.group(1).strip()
        head, _, on = word.partition(" on ")
        if _PRIORITY_WORD.fullmatch(word):
            priority = word
        elif head.strip().lower() in _DATADOG_TRANSITIONS:
            transition = head.strip()
            scope = on.strip().strip("{}") or None
        else:
            break  # "[Memory Alert]": the monitor's own name, kept
        rest = rest[match.end():]
    name = rest.strip()
    if name.startswith("[") and name.endswith("]") and name.count("[") == 1:
        name = name[1:-1].strip()
    return _DatadogTitle(name, transition, scope, priority)


def _datadog_transition(event: _DatadogEvent, title: _DatadogTitle) -> tuple[str, _Transition]:
    named = event.alert_transition or title.transition
    if named is None and event.alert_type:
        named = _DATADOG_ALERT_TYPES.get(event.alert_type.lower())
    named = named or "Triggered"
    known = _DATADOG_TRANSITIONS.get(" ".join(named.lower().replace("_", " ").split()))
    if known is not None:
        return named, known
    # A word Datadog adds later: shown, never lost; a recovery still resolves.
    if "recover" in named.lower():
        return named, _DATADOG_TRANSITIONS["recovered"]
    return named, _Transition(AlertStatus.FIRING, None, f"Datadog: {named}.")


def _datadog_severity(transition: _Transition, priority: str | None) -> str:
    by_priority = _DATADOG_PRIORITY_SEVERITY.get((priority or "").lower(), "critical")
    if transition.severity is None:
        return by_priority
    # Warn and No Data sit below what the monitor's priority would give a full trigger, never above.
    return max(transition.severity, by_priority, key=_SEVERITY_RANK.__getitem__)


def _scope_labels(scope: str | None, tags: list[str]) -> dict[str, str]:
    """`key:value` tags of the scope, then of the monitor, as labels (routing and categories read them)."""
    labels: dict[str, str] = {}
    for tag in [*(scope or "").split(","), *tags]:
        key, sep, value = tag.strip().partition(":")
        name = _label_name(key) if sep and key.strip() and value.strip() else ""
        if name and name not in _RESERVED_LABELS and name not in labels and len(labels) < MAX_TAG_LABELS:
            labels[name] = value.strip()
    return labels


def _message(body: str | None) -> str:
    """$EVENT_MSG without Datadog's %%% markdown fences."""
    return (body or "").replace("%%%", "").strip()


def parse_datadog(body: Any) -> AlertBatch:
    """One Datadog monitor notification (the Webhooks integration, a custom payload of $VARIABLES)."""
    if not isinstance(body, dict):
        raise PayloadError("body: must be a JSON object (one Datadog notification)")
    try:
        event = _DatadogEvent.model_validate(body)
    except ValidationError as error:
        raise PayloadError(describe_error(error)) from None
    title = _split_title(event.alert_title or event.title or "")
    if not (title.name or event.alert_id or event.dedup_key or event.alert_cycle_key):
        raise PayloadError("title: a Datadog notification needs $EVENT_TITLE (title) or $ALERT_ID (alert_id)")
    named, transition = _datadog_transition(event, title)
    priority = event.alert_priority or title.priority
    scope = event.alert_scope or title.scope
    alertname = title.name or f"Datadog monitor {event.alert_id}"
    labels = {
        "alertname": alertname,
        "severity": _datadog_severity(transition, priority),
        "monitor": DATADOG,
        **_scope_labels(scope, event.tags),
    }
    if event.alert_id:
        labels["monitor_id"] = event.alert_id
    if scope:
        labels["scope"] = scope
    if event.hostname:
        labels["instance"] = event.hostname
    annotations = {"summary": title.name or alertname, "transition": named}
    description = _message(event.body) or event.alert_status or ""
    if description:
        annotations["description"] = description
    if event.alert_metric:
        annotations["metric"] = event.alert_metric
    if priority:
        annotations["priority"] = priority.upper()
    if transition.note:
        annotations[NOTE_KEY] = transition.note
    if event.snapshot:
        annotations[IMAGE_KEY] = event.snapshot
    # The key an alert and its recovery share; labels would not do, as severity moves with the transition.
    key = event.dedup_key or event.alert_cycle_key or (
        f"{event.alert_id}:{scope or ''}" if event.alert_id else f"{alertname}:{scope or ''}"
    )
    happened = _epoch(event.last_updated) or _epoch(event.date)
    now = datetime.now(timezone.utc)
    alert = IncomingAlert(
        source=DATADOG,
        fingerprint=fingerprint_for(key, DATADOG, labels),
        status=transition.status,
        labels=labels,
        annotations=annotations,
        starts_at=_epoch(event.date) or now,
        ends_at=(happened or now) if transition.status is AlertStatus.RESOLVED else None,
        generator_url=event.link,
    )
    return AlertBatch(source=DATADOG, alerts=[alert])


# --- New Relic -----------------------------------------------------------------------------------

_NEWRELIC_PRIORITY_SEVERITY = {"critical": "critical", "high": "high", "medium": "medium", "low": "low"}
_NEWRELIC_FIRING = {"CREATED", "ACTIVATED"}


class _NewRelicIssue(Lenient):
    """New Relic workflows' default webhook payload (an issue, not an incident)."""

    id: str
    state: str
    title: str | None = None
    priority: str | None = None
    issue_url: str | None = Field(default=None, alias="issueUrl")
    created_at: str | None = Field(default=None, alias="createdAt")
    updated_at: str | None = Field(default=None, alias="updatedAt")
    trigger: str | None = None
    total_incidents: str | None = Field(default=None, alias="totalIncidents")
    impacted_entities: list[str] = Field(default_factory=list, alias="impactedEntities")
    policy_names: list[str] = Field(default_factory=list, alias="alertPolicyNames")
    condition_names: list[str] = Field(default_factory=list, alias="alertConditionNames")
    workflow_name: str | None = Field(default=None, alias="workflowName")

    _texts = field_validator(
        "title", "priority", "issue_url", "created_at", "updated_at", "trigger", "total_incidents",
        "workflow_name", mode="before",
    )(_text)
    _lists = field_validator("impacted_entities", "policy_names", "condition_names", mode="before")(_names)

    @field_validator("id", "state", mode="before")
    @classmethod
    def _required_text(cls, value: Any) -> str:
        text = _text(value)
        if text is None:
            raise ValueError("must be a non-empty string")
        return text


def parse_newrelic(body: Any) -> AlertBatch:
    """One New Relic workflow notification: its issue's state says whether it fires, was taken or closed."""
    if not isinstance(body, dict):
        raise PayloadError("body: must be a JSON object (one New Relic issue)")
    try:
        issue = _NewRelicIssue.model_validate(body)
    except ValidationError as error:
        raise PayloadError(describe_error(error)) from None
    state = issue.state.upper()
    alertname = (issue.condition_names[:1] or [issue.title or f"New Relic issue {issue.id}"])[0]
    labels = {"alertname": alertname, "monitor": NEWRELIC}
    severity = _NEWRELIC_PRIORITY_SEVERITY.get((issue.priority or "").lower())
    if severity:
        labels["severity"] = severity
    if issue.policy_names:
        labels["policy"] = ", ".join(issue.policy_names[:5])
    if issue.impacted_entities:
        labels["entity"] = ", ".join(issue.impacted_entities[:5])
        if len(issue.impacted_entities) == 1:
            labels["instance"] = issue.impacted_entities[0]
    if issue.workflow_name:
        labels["workflow"] = issue.workflow_name
    annotations = {"summary": issue.title or alertname, "state": state}
    if issue.priority:
        annotations["priority"] = issue.priority.upper()
    if issue.total_incidents:
        annotations["incidents"] = issue.total_incidents
    status = AlertStatus.RESOLVED if state == "CLOSED" else AlertStatus.FIRING
    if state == "ACKNOWLEDGED":
        annotations[NOTE_KEY] = "New Relic: acknowledged in New Relic."
    elif state not in _NEWRELIC_FIRING and status is AlertStatus.FIRING:
        annotations[NOTE_KEY] = f"New Relic: state {state}."  # a state added later: shown, never lost
    now = datetime.now(timezone.utc)
    alert = IncomingAlert(
        source=NEWRELIC,
        fingerprint=fingerprint_for(issue.id, NEWRELIC, labels),
        status=status,
        labels=labels,
        annotations=annotations,
        starts_at=_epoch(issue.created_at) or now,
        ends_at=(_epoch(issue.updated_at) or now) if status is AlertStatus.RESOLVED else None,
        generator_url=issue.issue_url,
        acknowledged=state == "ACKNOWLEDGED",
    )
    return AlertBatch(source=NEWRELIC, alerts=[alert])
