"""Prometheus metrics, on a registry per app so tests can build many apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST


class Metrics:
    content_type = CONTENT_TYPE_LATEST

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.alerts_received = Counter(
            "opsbot_alerts_received",
            "Alerts received through webhooks, by source and alert status.",
            ["source", "status"],
            registry=self.registry,
        )
        self.webhook_requests = Counter(
            "opsbot_webhook_requests",
            "Webhook requests by source and HTTP status code.",
            ["source", "code"],
            registry=self.registry,
        )
        self.webhooks_processed = Counter(
            "opsbot_webhooks_processed",
            "Stored webhooks turned into alerts and issues by the processor.",
            registry=self.registry,
        )
        self.webhooks_parked = Counter(
            "opsbot_webhooks_parked",
            "Stored webhooks the processor gave up on after repeated failures (kept in received_webhooks).",
            registry=self.registry,
        )
        self.webhooks_waiting = Gauge(
            "opsbot_webhooks_waiting", "Stored webhooks not processed yet.", registry=self.registry
        )
        self.webhooks_lag = Gauge(
            "opsbot_webhooks_processing_lag_seconds",
            "Age of the oldest stored webhook not processed yet.",
            registry=self.registry,
        )
        self.webhooks_stored_parked = Gauge(
            "opsbot_webhooks_parked_stored",
            "Parked webhooks kept in received_webhooks: alerts not shown until a person re-queues them.",
            registry=self.registry,
        )
        self.slack_calls = Counter(
            "opsbot_slack_calls",
            "Slack Web API calls by method and outcome (ok, ratelimited, server_error, network_error, error).",
            ["method", "outcome"],
            registry=self.registry,
        )
        self.slack_duplicates = Counter(
            "opsbot_slack_duplicate_requests",
            "Slack requests acknowledged without acting: Events API retries and replayed requests.",
            registry=self.registry,
        )
        self.channel_fallbacks = Counter(
            "opsbot_channel_fallbacks",
            "Messages posted to the default channel because their own channel cannot take them (the bot is not "
            "in it and cannot join: private, archived or missing), by channel and Slack's reason.",
            ["channel", "reason"],
            registry=self.registry,
        )
        self.outbox_depth = Gauge(
            "opsbot_outbox_depth", "Slack calls waiting in the outbox.", registry=self.registry
        )
        self.delivery_lag = Gauge(
            "opsbot_outbox_delivery_lag_seconds",
            "Age of the oldest Slack call still waiting in the outbox.",
            registry=self.registry,
        )
        self.delivery_latency = Histogram(
            "opsbot_outbox_delivery_seconds",
            "Time from accepting a change to Slack confirming its message.",
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800),
            registry=self.registry,
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
