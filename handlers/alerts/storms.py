"""Storm planning: decide which new alerts get their own issue and which fold into a grouped one.

Pure functions over what the database already holds (recent issues per storm key), so the rule is
easy to read and to test: a bucket is (channel, key) where the key is the Alertmanager group when
one delivery brings `threshold` new alerts, else the alertname; a bucket joins an open grouped
issue, or becomes one when it would push the window's count to `threshold`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable, Sequence

from handlers.alerts.settings import StormSettings
from handlers.alerts.parsers import AlertBatch, IncomingAlert
from storage.models import Issue


@dataclass(frozen=True)
class NewAlert:
    """A firing alert we have no open record of, with the delivery (index) it came in."""

    delivery: int
    alert: IncomingAlert
    batch: AlertBatch


@dataclass
class Bucket:
    channel: str
    group_key: str
    alerts: list[NewAlert] = field(default_factory=list)


@dataclass
class StormPlan:
    singles: list[tuple[Bucket, NewAlert]] = field(default_factory=list)
    new_groups: list[Bucket] = field(default_factory=list)
    joins: list[tuple[Issue, Bucket]] = field(default_factory=list)


def bucket_new_alerts(
    new_alerts: Sequence[NewAlert], storm: StormSettings, channel_for: Callable[[dict[str, str]], str]
) -> dict[str, Bucket]:
    per_delivery: dict[int, int] = defaultdict(int)
    for new in new_alerts:
        per_delivery[new.delivery] += 1
    buckets: dict[str, Bucket] = {}
    for new in new_alerts:
        channel = channel_for(new.alert.labels)
        by_group = new.batch.group_key is not None and per_delivery[new.delivery] >= storm.threshold
        key = f"group:{new.batch.group_key}" if by_group else f"alertname:{new.alert.alertname}"
        group_key = f"{channel}|{key}"[:500]
        buckets.setdefault(group_key, Bucket(channel, group_key)).alerts.append(new)
    return buckets


def plan_storms(buckets: dict[str, Bucket], recent: Sequence[Issue], storm: StormSettings) -> StormPlan:
    """`recent`: issues opened within the storm window under any of the buckets' keys, oldest first."""
    plan = StormPlan()
    for group_key, bucket in buckets.items():
        in_window = [issue for issue in recent if issue.group_key == group_key]
        open_group = next((i for i in reversed(in_window) if i.is_grouped and i.is_open), None)
        if open_group is not None:
            plan.joins.append((open_group, bucket))
        elif len(in_window) + len(bucket.alerts) >= storm.threshold:
            plan.new_groups.append(bucket)
        else:
            plan.singles.extend((bucket, new) for new in bucket.alerts)
    return plan
