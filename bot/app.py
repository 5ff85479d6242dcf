"""create_app: the one composition root. Builds settings-driven resources and wires every feature."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import AsyncIterator, Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.config import OpsConfig
from delivery.worker import DeliveryWorker
from core.metrics import Metrics
from core.scheduler import Scheduler
from bot.settings import Settings, SettingsError
from handlers.user_groups import UserGroupDirectory
from handlers import autofix, escalations, home, performance, questions, summaries, surveys
from handlers.alerts.service import AlertService
from handlers.issues.message import build_issue_message
from handlers.issues.message_view import load_issue_view
from handlers.alerts.webhooks import MAX_BODY_BYTES, AlertWebhooks
from handlers.autofix.runbooks import RunbookCatalog
from handlers.autofix.service import AUTOFIX_START_OPERATION, AutofixService
from handlers.escalations.chains import CHAIN_INTERVAL_SECONDS, EscalationChains
from handlers.escalations.pagerduty import PAGERDUTY_OPERATION, PagerDutyClient, PagerDutyEvents, resolve_targets
from handlers.escalations.service import EscalationService
from handlers.escalations.teams import TeamDirectory
from handlers.issues import register as register_issues
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.service import IssueService
from handlers.listeners import report_listener_error
from delivery.outbox import OutboxWriter
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.questions.service import QuestionService
from handlers.roles import RoleChecker
from handlers.slack_receipts import SlackReceipts, receipt_key
from handlers.summaries.daily import DailyReport
from handlers.summaries.service import SummaryService
from handlers.surveys.service import SurveyService
from storage.database import (
    check_writable,
    create_engine,
    create_health_engine,
    create_read_engine,
    create_sessionmaker,
)
from storage.errors import StorageUnavailable
from storage.migrations import upgrade_to_head
from storage.models import utcnow

log = logging.getLogger(__name__)

AUTOFIX_CHECK_SECONDS = 15.0  # how often verify deadlines (and interrupted runs) are looked at
RECEIPT_PURGE_SECONDS = 600.0
HEALTH_TIMEOUT_SECONDS = 0.9  # load balancers give up on a health check after about a second


@dataclass
class Opsbot:
    """Everything create_app built, for the server's lifecycle and for tests to reach in."""

    settings: Settings
    config: OpsConfig
    engine: AsyncEngine
    read_engine: AsyncEngine  # the same engine on PostgreSQL; extra read-only connections on SQLite
    health_engine: AsyncEngine  # /healthz's own connections on SQLite, so it never queues behind the writer
    sessionmaker: async_sessionmaker[AsyncSession]
    metrics: Metrics
    slack_app: AsyncApp
    worker: DeliveryWorker
    scheduler: Scheduler
    lifecycle: IssueLifecycle
    roles: RoleChecker
    alerts: AlertService
    issues: IssueService
    surveys: SurveyService
    summaries: SummaryService
    daily_report: DailyReport
    escalations: EscalationService
    escalation_chains: EscalationChains
    autofix: AutofixService
    knowledge: KnowledgeBaseLoader
    questions: QuestionService
    receipts: SlackReceipts  # Slack deliveries already acted on (event retries, replays), across replicas
    signature_verifier: SignatureVerifier
    performance: performance.PerformanceFeature


OPSBOT = web.AppKey("opsbot", Opsbot)


def require_production_secrets(settings: Settings) -> None:
    """Outside local mode, Slack and webhook secrets are mandatory: refuse to start without them."""
    if settings.local_mode:
        return
    for name in ("slack_signing_secret", "alert_webhook_token"):
        value = getattr(settings, name)
        if value is None or not value.get_secret_value():
            raise SettingsError(f"missing setting {name.upper()}: required when SLACK_BOT_TOKEN is set")


def _web_client(settings: Settings, *, retries: bool, timeout: float = 10) -> AsyncWebClient:
    token = settings.slack_bot_token.get_secret_value() if settings.slack_bot_token else None
    handlers = (
        [AsyncConnectionErrorRetryHandler(max_retry_count=1), AsyncRateLimitErrorRetryHandler(max_retry_count=1)]
        if retries
        else []
    )
    return AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=handlers)


def create_app(
    settings: Settings,
    config: OpsConfig,
    *,
    clock: Callable[[], datetime] = utcnow,
    environ: Mapping[str, str] | None = None,
) -> web.Application:
    """`environ` (default os.environ) is where secrets named in the config live, e.g. PagerDuty routing keys."""
    require_production_secrets(settings)
    engine = create_engine(settings.database_url)
    sessionmaker = create_sessionmaker(engine)
    read_engine = create_read_engine(settings.database_url, engine)
    reader = create_sessionmaker(read_engine)  # summaries, listings and exports: never in a writer's way
    health_engine = create_health_engine(settings.database_url, engine)
    metrics = Metrics()

    bolt_client = _web_client(settings, retries=True)
    scheduler = Scheduler()
    lifecycle = IssueLifecycle()
    roles = RoleChecker(config.roles, UserGroupDirectory(bolt_client).members)
    worker_holder: list[DeliveryWorker] = []
    writer = OutboxWriter(wake=lambda: worker_holder[0].wake() if worker_holder else None)
    issues = IssueService(
        sessionmaker, writer, reader=reader, helpdesk_channel=config.helpdesk_channel, roles=roles,
        lifecycle=lifecycle, clock=clock,
    )
    alerts = AlertService(sessionmaker, config, writer, issues=issues, lifecycle=lifecycle, clock=clock)
    knowledge = KnowledgeBaseLoader(settings.kb_paths)  # loaded in a thread by _knowledge, below
    question_service = QuestionService(
        sessionmaker, knowledge, issues, roles, tz=config.issue_log.zone, clock=clock
    )
    runbooks = RunbookCatalog(config.runbooks)
    teams = TeamDirectory(config.teams, default_channel=config.default_channel)
    worker = DeliveryWorker(
        sessionmaker,
        _web_client(settings, retries=False, timeout=config.delivery.slack_timeout_seconds),
        config.delivery,
        partial(
            load_issue_view, key_labels=config.key_labels, has_runbook=runbooks.has_match,
            find_article=knowledge.article_for_alert, team_name=teams.name_of,
        ),
        build_issue_message,
        metrics,
        clock=clock,
    )
    worker_holder.append(worker)
    survey_service = SurveyService(
        sessionmaker, config.surveys, writer, managers_channel=config.managers_channel, clock=clock
    )
    summary_service = SummaryService(reader, config.reports, clock=clock)
    kpi_reports = performance.build_feature(
        config.performance, prometheus_url=settings.prometheus_url, sessionmaker=sessionmaker, reader=reader,
        writer=writer, roles=roles, scheduler=scheduler, tz=config.reports.tz,
        templates_dir=config.reports.templates_dir, kb_paths=settings.kb_paths, clock=clock,
    )
    daily_report = DailyReport(
        sessionmaker, summary_service, writer, config.reports,
        default_channel=config.managers_channel, client=bolt_client, clock=clock,
        performance=kpi_reports.daily_section if config.performance.daily_report else None,
    )
    escalation_service, escalation_chains = _escalations(
        settings, config, os.environ if environ is None else environ, sessionmaker, writer, worker, teams,
        issues=issues, roles=roles, lifecycle=lifecycle, scheduler=scheduler, clock=clock,
        find_article=knowledge.article_for_alert,
    )
    autofix_service = AutofixService(
        sessionmaker, writer, runbooks, roles=roles, escalator=escalation_service,
        environ=dict(os.environ if environ is None else environ), clock=clock,
    )
    lifecycle.on_resolved.append(autofix_service.on_resolved)
    if runbooks.has_auto:  # with no listener the alert pipeline skips the opened hook entirely
        lifecycle.on_opened.append(autofix_service.on_opened)
    worker.handle(AUTOFIX_START_OPERATION, autofix_service.start_requested)
    scheduler.every(AUTOFIX_CHECK_SECONDS, "autofix-verification", autofix_service.check_deadlines)

    signing_secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    receipts = SlackReceipts(sessionmaker, clock=clock)
    scheduler.every(RECEIPT_PURGE_SECONDS, "slack-receipts-purge", receipts.purge)
    slack_app = AsyncApp(
        client=bolt_client,
        signing_secret=signing_secret,
        request_verification_enabled=True,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )
    slack_app.error(report_listener_error)
    autofix.register(slack_app, autofix_service)
    surveys.register(slack_app, survey_service, lifecycle, scheduler)
    summaries.register(slack_app, summary_service, daily_report, roles, scheduler, kpi_reports.command.summary)
    kpi_reports.register(slack_app)
    escalations.register(slack_app, escalation_service)
    # Before the issue's listeners: both hear `message` events and Bolt runs only the first match (DMs are questions).
    questions.register(slack_app, question_service)
    register_issues(slack_app, issues, config.issue_log)
    home.register(slack_app, issues, config.issue_log)

    # Keep this registration last: it only sees events no feature handles, so Slack gets its 200.
    slack_app.event(re.compile(".*"))(_acknowledge_unhandled_event)

    opsbot = Opsbot(
        settings=settings,
        config=config,
        engine=engine,
        read_engine=read_engine,
        health_engine=health_engine,
        sessionmaker=sessionmaker,
        metrics=metrics,
        slack_app=slack_app,
        worker=worker,
        scheduler=scheduler,
        lifecycle=lifecycle,
        roles=roles,
        alerts=alerts,
        issues=issues,
        surveys=survey_service,
        summaries=summary_service,
        daily_report=daily_report,
        escalations=escalation_service,
        escalation_chains=escalation_chains,
        autofix=autofix_service,
        knowledge=knowledge,
        questions=question_service,
        receipts=receipts,
        signature_verifier=SignatureVerifier(signing_secret),
        performance=kpi_reports,
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[OPSBOT] = opsbot
    webhook_token = settings.alert_webhook_token.get_secret_value() if settings.alert_webhook_token else ""
    app.add_routes(AlertWebhooks(alerts, webhook_token, metrics).routes())
    app.add_routes(
        [
            web.post("/slack/events", _slack_events),
            web.get("/healthz", _healthz),
            web.get("/metrics", _metrics),
        ]
    )
    app.cleanup_ctx.append(_knowledge)  # first, so the articles load while migrations run
    app.cleanup_ctx.append(_database)
    app.cleanup_ctx.append(_delivery)
    app.cleanup_ctx.append(_scheduler)
    app.cleanup_ctx.append(_autofix)
    app.cleanup_ctx.append(kpi_reports.lifespan)
    return app


def _escalations(
    settings: Settings,
    config: OpsConfig,
    environ: Mapping[str, str],
    sessionmaker: async_sessionmaker[AsyncSession],
    writer: OutboxWriter,
    worker: DeliveryWorker,
    teams: TeamDirectory,
    *,
    issues: IssueService,
    roles: RoleChecker,
    lifecycle: IssueLifecycle,
    scheduler: Scheduler,
    clock: Callable[[], datetime],
    find_article: Callable[[str, str], tuple[str, str | None] | None] | None = None,
) -> tuple[EscalationService, EscalationChains]:
    """PagerDuty (its events ride the outbox), the Escalate modal's service and the chain job."""
    targets, missing = resolve_targets(config.teams, environ)
    if missing and not settings.local_mode:
        team, variable = next(iter(missing.items()))
        raise SettingsError(f"missing setting {variable}: teams.{team}.pagerduty.routing_key_env names it")
    pagerduty = PagerDutyEvents(sessionmaker, writer, PagerDutyClient(), targets, missing, clock=clock)
    worker.handle(PAGERDUTY_OPERATION, pagerduty.deliver)
    load_view = partial(load_issue_view, key_labels=config.key_labels, find_article=find_article, team_name=teams.name_of)
    service = EscalationService(
        sessionmaker, writer, teams, issues=issues, roles=roles, pagerduty=pagerduty, load_view=load_view, clock=clock
    )
    chains = EscalationChains(sessionmaker, writer, teams, pagerduty=pagerduty, load_view=load_view, clock=clock)
    lifecycle.on_acknowledged.append(chains.on_acknowledged)
    lifecycle.on_resolved.append(chains.on_resolved)
    scheduler.every(CHAIN_INTERVAL_SECONDS, "escalation-chains", chains.advance)
    return service, chains


async def _knowledge(app: web.Application) -> AsyncIterator[None]:
    """Load the knowledge base in a thread (the server answers meanwhile), then watch its folders."""
    stop = asyncio.Event()
    task = asyncio.create_task(app[OPSBOT].knowledge.run(stop), name="opsbot-knowledge")
    yield
    stop.set()
    try:
        await asyncio.wait_for(task, timeout=10)
    except asyncio.TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _database(app: web.Application) -> AsyncIterator[None]:
    opsbot = app[OPSBOT]
    await upgrade_to_head(opsbot.engine)
    yield
    for extra in {opsbot.read_engine, opsbot.health_engine} - {opsbot.engine}:
        await extra.dispose()
    await opsbot.engine.dispose()


async def _delivery(app: web.Application) -> AsyncIterator[None]:
    opsbot = app[OPSBOT]
    stop = asyncio.Event()
    task = asyncio.create_task(opsbot.worker.run(stop), name="opsbot-delivery")
    yield
    stop.set()
    opsbot.worker.wake()
    if task.done():  # it was cancelled (a crash, as tests make one): nothing left to wait for
        return
    try:
        await asyncio.wait_for(task, timeout=15)
    except asyncio.TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def _scheduler(app: web.Application) -> AsyncIterator[None]:
    scheduler = app[OPSBOT].scheduler
    scheduler.start()
    yield
    await scheduler.stop()


async def _autofix(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[OPSBOT].autofix.close()  # runs in flight are cancelled and their processes killed


async def _acknowledge_unhandled_event(ack: Callable[[], Awaitable[None]]) -> None:
    await ack()


async def _slack_events(request: web.Request) -> web.Response:
    if not await _verifiable(request):
        return web.json_response({"error": "invalid request"}, status=401)  # as Bolt refuses a bad signature
    opsbot = request.app[OPSBOT]
    receipt = await _take_receipt(request, opsbot)
    if receipt == _ALREADY_TAKEN:
        opsbot.metrics.slack_duplicates.inc()
        return web.Response(status=200)  # Slack stops retrying; nothing is done twice
    bolt_request = await to_bolt_request(request)
    bolt_response = await opsbot.slack_app.async_dispatch(bolt_request)
    if receipt and bolt_response.status >= 400:
        await _forget_receipt(opsbot, receipt)  # not handled: Slack's retry must be acted on
    return await to_aiohttp_response(bolt_response)


_ALREADY_TAKEN = "already taken"


async def _take_receipt(request: web.Request, opsbot: Opsbot) -> str | None:
    """The delivery's receipt key once recorded, `_ALREADY_TAKEN` for a retry or replay, None if unkeyed.

    Only a correctly signed request gets a receipt, so a forger cannot use up a real event's id. If the
    database cannot record it, the request is handled anyway: a rare duplicate beats a lost click.
    """
    body = await request.read()
    signature = request.headers.get("X-Slack-Signature", "")
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not opsbot.signature_verifier.is_valid(body, timestamp, signature):
        return None  # Bolt refuses it with 401
    key = receipt_key(body, request.headers.get("Content-Type", ""), signature)
    if key is None:
        return None
    try:
        return key if await opsbot.receipts.first_time(key) else _ALREADY_TAKEN
    except (SQLAlchemyError, OSError, StorageUnavailable):
        log.warning("could not record Slack receipt %s; handling the request anyway", key, exc_info=True)
        return None


async def _forget_receipt(opsbot: Opsbot, key: str) -> None:
    try:
        await opsbot.receipts.forget(key)
    except (SQLAlchemyError, OSError, StorageUnavailable):
        log.warning("could not forget Slack receipt %s", key, exc_info=True)


async def _verifiable(request: web.Request) -> bool:
    """Whether Bolt can check this request's signature at all: it calls int() on the timestamp and
    decodes the body as text, and lets the ValueError or UnicodeDecodeError become a 500. Slack sends
    neither a non-numeric timestamp nor an undecodable body, so such a request is refused as forged."""
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
        return False
    try:
        await request.text()  # aiohttp keeps the bytes: Bolt's adapter reads them again for free
    except (UnicodeDecodeError, LookupError):  # LookupError: a charset Python does not know
        return False
    return True


async def _healthz(request: web.Request) -> web.Response:
    """Healthy means a write can commit now: what webhooks need to accept an alert."""
    health = await check_writable(request.app[OPSBOT].health_engine, timeout=HEALTH_TIMEOUT_SECONDS)
    if health.ok:
        return web.json_response({"database": "ok"})
    return web.json_response({"database": "unavailable", "problem": health.problem}, status=503)


async def _metrics(request: web.Request) -> web.Response:
    metrics = request.app[OPSBOT].metrics
    return web.Response(body=metrics.render(), headers={"Content-Type": metrics.content_type})
