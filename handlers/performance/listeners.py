"""Slack listeners of the performance feature: thin (parse, call a service, reply), each acks first.

- `/summary performance [period] [export]`: routed here by the summary command after its ack and
  its manager check; the report ephemerally, the chart (and on request the Markdown report and the
  KPI table as CSV) in the asker's DM, since files cannot be ephemeral.
- `/adjustment [area]`: opens the modal; its submission is validated in the modal, then recorded.
- "Start a review" on a High-priority issue, and "Save to KB drafts" in the review's thread.
"""

from __future__ import annotations

from typing import Any

from handlers.errors import PermissionDenied
from handlers.performance.adjustments import AdjustmentInput, AdjustmentService
from handlers.performance.blocks import AdjustmentForm, build_adjustment_modal, build_performance_message
from handlers.performance.export import export_basename, kpi_table_csv, report_markdown
from handlers.performance.ids import AdjustmentModal
from handlers.performance.reviews import ReviewService
from handlers.performance.service import PerformanceReports
from handlers.roles import Role, RoleChecker
from handlers.slack.blockkit import escape
from handlers.slack.listeners import describe_error
from handlers.slack.metadata import encode_metadata
from handlers.slack.payloads import FormValues, SlashCommand, parse_click, parse_command, parse_submission
from handlers.slack.submissions import ack_submission, tell_submitter

EXPORT_WORD = "export"


class PerformanceCommand:
    def __init__(self, reports: PerformanceReports) -> None:
        self._reports = reports

    async def summary(self, command: SlashCommand, respond: Any, client: Any) -> None:
        """`/summary performance ...`, after the summary command's ack and manager check."""
        user = command.user_id
        words = command.words[1:]
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


def _answers(values: FormValues) -> AdjustmentInput:
    return AdjustmentInput(
        area=values.text(AdjustmentModal.AREA),
        change=values.text(AdjustmentModal.CHANGE),
        expected_impact=values.text(AdjustmentModal.IMPACT),
        kpi=values.selected(AdjustmentModal.KPI) or None,
        follow_up_on=values.selected_date(AdjustmentModal.FOLLOW_UP),
    )


class AdjustmentListeners:
    def __init__(self, adjustments: AdjustmentService, roles: RoleChecker) -> None:
        self._adjustments = adjustments
        self._roles = roles

    async def open_modal(self, ack: Any, body: dict[str, Any], client: Any, respond: Any) -> None:
        await ack()
        command = parse_command(body)
        await _require_responder_or_manager(self._roles, command.user_id, "log adjustments")
        trigger_id = command.require_trigger("Slack sent no form trigger with the command: please run /adjustment again.")
        form = AdjustmentForm(
            kpis=self._adjustments.kpi_choices(),
            today=self._adjustments.today(),
            area=command.text.strip(),
            private_metadata=encode_metadata(channel=command.channel_id or None),
        )
        await client.views_open(trigger_id=trigger_id, view=build_adjustment_modal(form))

    async def submit(self, ack: Any, body: dict[str, Any], client: Any) -> None:
        submission = parse_submission(body)
        user = submission.user_id
        answers = _answers(submission.values)
        if not await ack_submission(ack, self._adjustments.problems(answers)):
            return
        channel = submission.metadata.channel_id
        try:
            await _require_responder_or_manager(self._roles, user, "log adjustments")
            adjustment = await self._adjustments.record(answers, user)
        except Exception as error:  # noqa: BLE001 - the modal is closed: tell the person another way
            await tell_submitter(client, user, describe_error(error, user), channel)
            return
        follow_up = f" I'll remind you on {adjustment.follow_up_on:%a %d %b}." if adjustment.follow_up_on else ""
        await tell_submitter(
            client, user,
            f"📝 Logged adjustment #{adjustment.id} ({escape(answers.area)}): it shows in the next performance reports."
            + follow_up,
            channel,
        )


class ReviewButtons:
    def __init__(self, reviews: ReviewService, roles: RoleChecker) -> None:
        self._reviews = reviews
        self._roles = roles

    async def start(self, ack: Any, body: dict[str, Any], respond: Any, client: Any) -> None:
        await ack()
        click = parse_click(body)
        issue_id, user = click.number("This button does not point at an issue."), click.user_id
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
        click = parse_click(body)
        review_id, user = click.number("This button does not point at a review."), click.user_id
        await self._roles.require(user, Role.RESPONDER, "save reviews into the knowledge base")
        path = await self._reviews.save(review_id, user)
        await respond(
            text=f"💾 Saved as `{path}` among the knowledge base's drafts (`draft: true`: remove it to publish).",
            response_type="ephemeral",
            replace_original=False,
        )
