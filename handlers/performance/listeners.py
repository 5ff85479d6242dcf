"""Slack listeners of the performance feature: thin (parse, call a service, reply), each acks first.

- `/summary performance [period] [export]`: routed here by the summary command after its ack and
  its manager check; the report ephemerally, the chart (and on request the Markdown report and the
  KPI table as CSV) in the asker's DM, since files cannot be ephemeral.
- `/adjustment [area]`: opens the modal; its submission is validated in the modal, then recorded.
- "Start a review" on a High-priority issue, and "Save to KB drafts" in the review's thread.
"""

from __future__ import annotations

import json
import logging
import re
from datetime import date
from typing import Any

from slack_sdk.errors import SlackApiError

from handlers.slack.blockkit import escape
from handlers.errors import InvalidInput, PermissionDenied
from handlers.slack.listeners import describe_error
from handlers.performance.adjustments import AdjustmentInput, AdjustmentService
from handlers.performance.blocks import AdjustmentForm, build_adjustment_modal, build_performance_message
from handlers.performance.export import export_basename, kpi_table_csv, report_markdown
from handlers.performance.ids import AdjustmentModal
from handlers.performance.reviews import ReviewService
from handlers.performance.service import PerformanceReports
from handlers.roles import Role, RoleChecker

log = logging.getLogger(__name__)

EXPORT_WORD = "export"


def _clicked_number(body: dict[str, Any], what: str) -> int:
    value = str(((body.get("actions") or [{}])[0]).get("value", ""))
    if not re.fullmatch(r"\d{1,18}", value):
        raise InvalidInput(f"This button does not point at {what}.")
    return int(value)


class PerformanceCommand:
    def __init__(self, reports: PerformanceReports) -> None:
        self._reports = reports

    async def summary(self, body: dict[str, Any], respond: Any, client: Any) -> None:
        user = body["user_id"]
        words = (body.get("text") or "").split()[1:]
        export = any(word.lower() == EXPORT_WORD for word in words)
        period = self._reports.parse_period(" ".join(word for word in words if word.lower() != EXPORT_WORD))
        report = await self._reports.report(period)
        files = ["the chart"] if report.has_figures else []
        if export:
            files += ["the report as Markdown", "the KPI table as CSV"]
        note = f"{_sentence(files)} in your direct messages with opsbot." if files else ""
        if not export:
            note += " Add `export` for the report as Markdown and the KPI table as CSV."
        text, blocks = build_performance_message(self._reports.sections(report), note=note.strip())
        await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
        if not files:
            return
        dm = (await client.conversations_open(users=user))["channel"]["id"]
        basename = export_basename(report)
        if report.has_figures:  # a chart of no figures says nothing
            await client.files_upload_v2(
                channel=dm,
                file=await self._reports.chart(report),
                filename=f"{basename}.png",
                title=self._reports.chart_title(report),
                initial_comment=f"KPI chart for your performance report of {period.label}.",
            )
        if export:
            await client.files_upload_v2(
                channel=dm,
                file_uploads=[
                    {"content": report_markdown(report, self._reports.templates), "filename": f"{basename}.md",
                     "title": f"Performance report — {period.label}"},
                    {"content": kpi_table_csv(report), "filename": f"{basename}-kpis.csv",
                     "title": f"KPI table — {period.label}"},
                ],
                initial_comment=f"📄 Performance report of {period.label}: the report as Markdown and the KPI table as CSV.",
            )


def _sentence(parts: list[str]) -> str:
    """"The chart, the report as Markdown and the KPI table as CSV are" (capitalised, with its verb)."""
    text = parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]
    return text[0].upper() + text[1:] + (" is" if len(parts) == 1 else " are")


async def _require_responder_or_manager(roles: RoleChecker, user: str, to_do: str) -> None:
    if await roles.has(user, Role.RESPONDER) or await roles.has(user, Role.MANAGER):
        return
    raise PermissionDenied(f"You need the responder or the manager role to {to_do}.")


def _state(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    values = ((view.get("state") or {}).get("values")) or {}
    return {block: next(iter(elements.values()), {}) for block, elements in values.items() if elements}


def _text(state: dict[str, dict[str, Any]], block: str) -> str:
    return str((state.get(block) or {}).get("value") or "").strip()


def _answers(view: dict[str, Any]) -> AdjustmentInput:
    state = _state(view)
    option = (state.get(AdjustmentModal.KPI) or {}).get("selected_option") or {}
    picked = (state.get(AdjustmentModal.FOLLOW_UP) or {}).get("selected_date")
    try:
        follow_up = date.fromisoformat(picked) if picked else None
    except (TypeError, ValueError):
        follow_up = None
    return AdjustmentInput(
        area=_text(state, AdjustmentModal.AREA),
        change=_text(state, AdjustmentModal.CHANGE),
        expected_impact=_text(state, AdjustmentModal.IMPACT),
        kpi=str(option.get("value")) if option.get("value") else None,
        follow_up_on=follow_up,
    )


class AdjustmentListeners:
    def __init__(self, adjustments: AdjustmentService, roles: RoleChecker) -> None:
        self._adjustments = adjustments
        self._roles = roles

    async def open_modal(self, ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        await _require_responder_or_manager(self._roles, body["user_id"], "log adjustments")
        if not body.get("trigger_id"):
            raise InvalidInput("Slack sent no form trigger with the command: please run /adjustment again.")
        form = AdjustmentForm(
            kpis=self._adjustments.kpi_choices(),
            today=self._adjustments.today(),
            area=(body.get("text") or "").strip(),
            private_metadata=json.dumps({"channel": body.get("channel_id")}),
        )
        await client.views_open(trigger_id=body["trigger_id"], view=build_adjustment_modal(form))

    async def submit(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        view = body.get("view") or {}
        user = body["user"]["id"]
        answers = _answers(view)
        errors = self._adjustments.problems(answers)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        channel = _origin_channel(view)
        try:
            await _require_responder_or_manager(self._roles, user, "log adjustments")
            adjustment = await self._adjustments.record(answers, user)
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await _tell(client, channel, user, describe_error(error, user))
            return
        follow_up = f" I'll remind you on {adjustment.follow_up_on:%a %d %b}." if adjustment.follow_up_on else ""
        await _tell(
            client, channel, user,
            f"📝 Logged adjustment #{adjustment.id} ({escape(answers.area)}): it shows in the next performance reports."
            + follow_up,
        )


def _origin_channel(view: dict[str, Any]) -> str | None:
    try:
        channel = json.loads(view.get("private_metadata") or "{}").get("channel")
    except (ValueError, AttributeError):
        return None
    return channel if isinstance(channel, str) and channel else None


async def _tell(client: Any, channel: str | None, user: str, text: str) -> None:
    """Ephemerally where the command was typed, else by DM (a closed modal has no response_url)."""
    try:
        if channel:
            await client.chat_postEphemeral(channel=channel, user=user, text=text)
        else:
            await client.chat_postMessage(channel=user, text=text)
    except SlackApiError as error:
        log.warning("could not tell %s: %s", user, error.response.get("error"))


class ReviewButtons:
    def __init__(self, reviews: ReviewService, roles: RoleChecker) -> None:
        self._reviews = reviews
        self._roles = roles

    async def start(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        issue_id = _clicked_number(body, "an issue")
        user = body["user"]["id"]
        await self._roles.require(user, Role.RESPONDER, "start post-incident reviews")
        started = await self._reviews.start(issue_id, user)
        if not started.new:
            await respond(
                text=(
                    f"A review of issue #{issue_id} was started by <@{started.started_by}> on "
                    f"{started.started_at:%d %b %H:%M} UTC: the draft is in the issue's thread."
                ),
                response_type="ephemeral",
                replace_original=False,
            )
            return
        channel, thread = started.channel, started.thread_ts
        if channel is None:
            channel, thread = (await client.conversations_open(users=user))["channel"]["id"], None
        await client.files_upload_v2(
            channel=channel,
            thread_ts=thread,
            content=started.markdown,
            filename=started.filename,
            title=f"Post-incident review of issue #{issue_id} (draft)",
            initial_comment="The review as a Markdown document, ready for the knowledge base's drafts.",
        )

    async def save(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        review_id = _clicked_number(body, "a review")
        user = body["user"]["id"]
        await self._roles.require(user, Role.RESPONDER, "save reviews into the knowledge base")
        path = await self._reviews.save(review_id, user)
        await respond(
            text=f"💾 Saved as `{path}` among the knowledge base's drafts (`draft: true`: remove it to publish).",
            response_type="ephemeral",
            replace_original=False,
        )
