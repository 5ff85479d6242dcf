"""What create_app builds, held on the aiohttp app under OPSBOT: the lifecycle, the routes and the
tests reach everything through it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.signature import SignatureVerifier
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import OpsConfig
from bot.settings import Settings
from core.metrics import Metrics
from core.scheduler import Scheduler
from delivery.directory import ChannelDirectory
from delivery.worker import DeliveryWorker
from handlers import (
    performance,
)
from handlers.alerts.processor import WebhookProcessor
from handlers.alerts.service import AlertService
from handlers.autofix.service import AutofixService
from handlers.escalations.chains import EscalationChains
from handlers.escalations.service import EscalationService
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.service import IssueService
from handlers.knowledge import KnowledgeFeature
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.questions.service import QuestionService
from handlers.roles import RoleChecker
from handlers.slack.receipts import SlackReceipts
from handlers.summaries.daily import DailyReport
from handlers.summaries.service import SummaryService
from handlers.surveys.service import SurveyService


@dataclass
class Opsbot:
    """Everything create_app built, for the server's lifecycle and for tests to reach in."""

    settings: Settings
    config: OpsConfig
    engine: AsyncEngine
    read_engine: AsyncEngine  # the same engine on PostgreSQL; extra read-only connections on SQLite
    health_engine: AsyncEngine  # /healthz's own connections on SQLite, so it never queues behind the writer
    intake_engine: AsyncEngine  # where webhooks store their bodies: no pre-ping on PostgreSQL; the writer on SQLite
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics
    slack_app: AsyncApp
    worker: DeliveryWorker
    channels: ChannelDirectory  # the workspace's channels by name and id: routes post to ids (delivery.directory)
    scheduler: Scheduler
    lifecycle: IssueLifecycle
    roles: RoleChecker
    alerts: AlertService  # stores webhooks before their 202
    webhook_processor: WebhookProcessor  # turns stored webhooks into issues (handlers/alerts/processor.py)
    issues: IssueService
    surveys: SurveyService
    summaries: SummaryService
    daily_report: DailyReport
    escalations: EscalationService
    escalation_chains: EscalationChains
    autofix: AutofixService
    knowledge: KnowledgeBaseLoader
    questions: QuestionService
    knowledge_feed: KnowledgeFeature  # write-ups, drafts and /kb gaps (handlers/knowledge)
    receipts: SlackReceipts  # Slack deliveries already acted on (event retries, replays), across replicas
    signature_verifier: SignatureVerifier
    performance: performance.PerformanceFeature
    # Emails the config names people by, looked up at start-up after the token check (handlers.people).
    resolve_people: Callable[[], Awaitable[None]] | None = None


OPSBOT = web.AppKey("opsbot", Opsbot)
