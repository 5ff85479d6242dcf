"""The `delivery:` section of the config file: pacing, leases, timeouts, and when to park an item."""

from __future__ import annotations

from datetime import timedelta

from pydantic import Field, field_validator

from core.settings_types import StrictModel, parse_duration


class DeliverySettings(StrictModel):
    """The outbox worker: pacing, leases, and when it stops retrying an item (it is then parked)."""

    channel_messages_per_second: float = Field(default=1.0, gt=0)  # posts, and separately updates, per channel
    # Network errors, timeouts and 5xx are retried with backoff capped at 5 minutes for `give_up_after`
    # from the first failure, then the item is parked (kept, logged, counted) instead of retried forever.
    # A day outlasts any Slack outage on record, so an accepted alert is not dropped by one; a 429 is
    # never counted (Slack said when to come back). `max_attempts` (0: no limit) adds a count limit.
    give_up_after: timedelta = Field(default=timedelta(hours=24), gt=timedelta(0))
    max_attempts: int = Field(default=0, ge=0)
    lease_seconds: float = Field(default=60.0, gt=0)  # a key's claim, renewed while in flight; a crash frees it after this
    poll_interval_seconds: float = Field(default=0.5, gt=0)
    slack_timeout_seconds: float = Field(default=10.0, gt=0)  # the worker's Web API client; then "outcome unknown"
    max_in_flight: int = Field(default=32, ge=1)  # items (ordering keys) one worker sends at once

    @field_validator("give_up_after", mode="before")
    @classmethod
    def _duration(cls, value: object) -> object:
        return parse_duration(value)  # "24h", "90m", or seconds
