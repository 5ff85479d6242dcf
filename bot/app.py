"""create_app: the one composition root. Builds settings-driven resources and wires every feature."""

from __future__ import annotations

import logging
import os
import re
import secrets
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Awaitable, Callable, Mapping

from aiohttp import web
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot import routes
from bot.config import OpsConfig
from bot.lifecycle import background
from bot.opsbot import OPSBOT, Opsbot
from bot.settings import Settings, SettingsError
from core.metrics import Metrics
from core.scheduler import Scheduler
from delivery.channels import ChannelFallback
from delivery.directory import PERIODIC_REFRESH_SECONDS, ChannelDirectory
from delivery.outbox import OutboxWriter
from delivery.parked import ParkedDeliveries
from delivery.worker import DeliveryWorker
from handlers import (
    autofix,
    escalations,
    home,
    oncall,
    performance,
    questions,
    summaries,
    surveys,
)
from handlers.alerts.processor import WebhookProcessor
from handlers.alerts.service import AlertService
from handlers.alerts.triage import AlertTriage
from handlers.alerts.webhooks import MAX_BODY_BYTES, AlertWebhooks
from handlers.autofix.library import bundled_runbooks
from handlers.autofix.runbooks import RunbookCatalog
from handlers.autofix.service import AUTOFIX_START_OPERATION, AutofixService
from handlers.escalations.chains import CHAIN_INTERVAL_SECONDS, EscalationChains
from handlers.escalations.pagerduty import (
    PAGERDUTY_OPERATION,
    PagerDutyClient,
    PagerDutyEvents,
    resolve_targets,
)
from handlers.escalations.service import EscalationService
from handlers.escalations.teams import TeamDirectory
from handlers.issues import register as register_issues
from handlers.issues.lifecycle import IssueLifecycle
from handlers.issues.message import build_issue_message
from handlers.issues.message_view import load_issue_view
from handlers.issues.service import IssueService
from handlers import knowledge as knowledge_feed
from handlers.oncall.service import OnCallService
from handlers.parked.routes import ParkedRoutes
from handlers import silences
from handlers.slack.listeners import report_listener_error
from handlers.questions.loader import KnowledgeBaseLoader
from handlers.questions.service import QuestionService
from handlers.people import PeopleDirectory
from handlers.roles import Role, RoleChecker
from handlers.slack.receipts import SlackReceipts
from handlers.summaries.daily import DailyReport
from handlers.summaries.service import SummaryService
from handlers.surveys.service import SurveyService
from handlers.slack.user_groups import UserGroupDirectory
from storage.database import (
    create_engine,
    create_health_engine,
    create_intake_engine,
    create_read_engine,
    create_sessionmaker,
)
from storage.models import utcnow

log = logging.getLogger(__name__)

AUTOFIX_CHECK_SECONDS = 15.0  # how often verify deadlines (and interrupted runs) are looked at
RECEIPT_PURGE_SECONDS = 600.0


def require_production_secrets(settings: Settings) -> None:
    """Outside local mode, Slack and webhook secrets are mandatory: refuse to start without them.

    In Socket Mode (SLACK_APP_TOKEN) Slack sends nothing over HTTP, so the signing secret is optional.
    """
    if settings.local_mode:
        return
    for name in ("slack_signing_secret", "alert_webhook_token"):
        value = getattr(settings, name)
        if name == "slack_signing_secret" and settings.socket_mode:
            continue
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
    channels = ChannelDirectory(bolt_client, clock=clock)  # read at start-up (bot.slack_checks), then every ten minutes
    scheduler.every(PERIODIC_REFRESH_SECONDS, "slack-channels-refresh", channels.refresh)
    worker_holder: list[DeliveryWorker] = []
    writer = OutboxWriter(wake=lambda: worker_holder[0].wake() if worker_holder else None)
    issues = IssueService(
        sessionmaker, writer, reader=reader, helpdesk_channel=config.helpdesk_channel, roles=roles,
        lifecycle=lifecycle, clock=clock,
    )
    kb_folder = knowledge_feed.writable_folder(config.knowledge_base, settings.kb_paths, _data_dir(settings))
    # loaded in a thread by the lifecycle; write-ups' folder included, so a draft answers at once
    knowledge = KnowledgeBaseLoader(knowledge_feed.loaded_paths(settings.kb_paths, kb_folder))
    question_service = QuestionService(
        sessionmaker, knowledge, issues, roles, tz=config.issue_log.zone, clock=clock
    )
    runbooks = RunbookCatalog(config.runbooks, bundled_runbooks(config.runbook_library))  # configured ones win
    triage = AlertTriage(config, article_category=knowledge.category_for_alert, runbook_applies=runbooks.has_match)
    webhook_processor = WebhookProcessor(
        sessionmaker, config, writer, issues=issues, lifecycle=lifecycle, triage=triage, metrics=metrics, clock=clock
    )
    intake_engine = create_intake_engine(settings.database_url, engine)
    alerts = AlertService(intake_engine, webhook_processor, clock=clock)
    teams = TeamDirectory(config.teams, default_channel=config.default_channel)
    worker = DeliveryWorker(
        sessionmaker,
        _web_client(settings, retries=False, timeout=config.delivery.slack_timeout_seconds),
        config.delivery,
        partial(
            load_issue_view, key_labels=config.key_labels, has_runbook=runbooks.runbook_for,
            find_article=knowledge.article_for_alert, team_name=teams.name_of,
        ),
        build_issue_message,
        metrics,
        clock=clock,
        channel_fallback=ChannelFallback(config.default_channel, partial(roles.members, Role.ADMIN)),
        channel_directory=channels,
    )
    worker_holder.append(worker)
    survey_service = SurveyService(
        sessionmaker, config.surveys, writer, managers_channel=config.managers_channel, clock=clock
    )
    summary_service = SummaryService(reader, config.reports, clock=clock)
    kpi_reports = performance.build_feature(
        config.performance, prometheus_url=settings.prometheus_url, sessionmaker=sessionmaker, reader=reader,
        writer=writer, roles=roles, scheduler=scheduler, tz=config.reports.tz,
        templates_dir=config.reports.templates_dir, clock=clock,
        kb_paths=[kb_folder] if kb_folder is not None else settings.kb_paths,  # reviews saved where /kb drafts looks
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
    # Socket Mode may run without one: then no request can verify (a random secret nobody knows), and
    # /slack/events is not even served (below).
    verifying_secret = signing_secret or secrets.token_hex(32)
    receipts = SlackReceipts(sessionmaker, clock=clock)
    scheduler.every(RECEIPT_PURGE_SECONDS, "slack-receipts-purge", receipts.purge)
    slack_app = AsyncApp(
        client=bolt_client,
        signing_secret=verifying_secret,
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
    holds = silences.build(sessionmaker, writer, config.alertmanager, roles, clock=clock)
    silences.register(slack_app, holds, scheduler)  # Silence / Snooze on issue messages
    oncall.register(
        slack_app,
        OnCallService(sessionmaker, writer, teams, roles, default_zone=config.issue_log.timezone, clock=clock),
        scheduler,
    )
    # Before the issue's listeners: both hear `message` events and Bolt runs only the first match (DMs are questions).
    kb_feed = knowledge_feed.build_feature(
        config.knowledge_base, folder=kb_folder, knowledge=knowledge, questions=question_service,
        sessionmaker=sessionmaker, reader=reader, writer=writer, roles=roles, tz=config.issue_log.zone, clock=clock,
    )
    kb_feed.register(slack_app)  # before questions: it takes `/kb drafts` and `/kb gaps` from the `/kb` they share
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
        intake_engine=intake_engine,
        sessionmaker=sessionmaker,
        metrics=metrics,
        slack_app=slack_app,
        worker=worker,
        channels=channels,
        scheduler=scheduler,
        lifecycle=lifecycle,
        roles=roles,
        alerts=alerts,
        webhook_processor=webhook_processor,
        issues=issues,
        surveys=survey_service,
        summaries=summary_service,
        daily_report=daily_report,
        escalations=escalation_service,
        escalation_chains=escalation_chains,
        autofix=autofix_service,
        knowledge=knowledge,
        questions=question_service,
        knowledge_feed=kb_feed,
        receipts=receipts,
        signature_verifier=SignatureVerifier(verifying_secret),
        performance=kpi_reports,
        resolve_people=partial(_resolve_people, PeopleDirectory(bolt_client), roles, teams),
    )
    app = web.Application(client_max_size=MAX_BODY_BYTES)
    app[OPSBOT] = opsbot
    webhook_token = settings.alert_webhook_token.get_secret_value() if settings.alert_webhook_token else ""
    app.add_routes(AlertWebhooks(alerts, webhook_token, metrics).routes())
    app.add_routes(ParkedRoutes(webhook_processor, ParkedDeliveries(sessionmaker, worker.wake, clock=clock), webhook_token).routes())
    app.add_routes([web.get("/healthz", routes.healthz), web.get("/metrics", routes.metrics)])
    if signing_secret:
        app.add_routes([web.post("/slack/events", routes.slack_events)])
    app.on_cleanup.append(holds.close)  # the Alertmanager client's connections
    app.cleanup_ctx.append(background)  # migrations, then every background task, one owner
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


async def _resolve_people(people: PeopleDirectory, roles: RoleChecker, teams: TeamDirectory) -> None:
    """Wherever the config names a person by email, the features hold the user id from start-up on."""
    ids = await people.resolve([*roles.people(), *teams.people()])
    roles.use_user_ids(ids)
    teams.use_user_ids(ids)


def _data_dir(settings: Settings) -> Path:
    """Where the bot keeps its files: beside the SQLite database, else ./data."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        return Path(url.database).parent
    return Path("data")


async def _acknowledge_unhandled_event(ack: Callable[[], Awaitable[None]]) -> None:
    await ack()
