"""`/issue export`: stream the period's issues into a temporary CSV file and upload it (files upload v2).

Runs after the command was acked, so Slack's 3 seconds never limit the size of the export. The
database is read a page at a time in short sessions (IssueService.export_pages); the file lives on disk
until slack_sdk reads it for the upload.
"""

from __future__ import annotations

import io
import logging
import tempfile
from dataclasses import dataclass

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from handlers.errors import InvalidInput
from handlers.issues.export import write_issue_log_csv
from handlers.issues.service import IssueService
from handlers.issues.settings import IssueLogSettings
from handlers.periods import Period

log = logging.getLogger(__name__)

_NOT_ALLOWED_HERE = {
    "not_in_channel", "channel_not_found", "is_archived", "restricted_action", "not_allowed_token_type",
}  # fmt: skip


class SlackUserNames:
    """Slack user id -> the name people know, looked up once per person per export."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._names: dict[str, str] = {}

    async def __call__(self, user_id: str) -> str:
        if user_id not in self._names:
            self._names[user_id] = await self._look_up(user_id)
        return self._names[user_id]

    async def _look_up(self, user_id: str) -> str:
        try:
            response = await self._client.users_info(user=user_id)
        except SlackApiError as error:
            log.info("no name for %s: %s", user_id, error.response.get("error"))
            return user_id
        user = response.get("user") or {}
        profile = user.get("profile") or {}
        names = (user.get("real_name"), profile.get("real_name"), profile.get("display_name"), user.get("name"))
        return next((name for name in names if name), user_id)


@dataclass(frozen=True)
class ExportResult:
    period: Period
    issues: int
    filename: str


def export_filename(period: Period) -> str:
    return f"issue-log-{period.key.replace('..', '_to_')}.csv"


class CsvExporter:
    def __init__(self, issues: IssueService, settings: IssueLogSettings) -> None:
        self._issues = issues
        self._settings = settings

    async def export(self, client: AsyncWebClient, *, channel: str, requested_by: str, period: Period) -> ExportResult:
        """Write and upload the CSV into `channel`; nothing is uploaded for a period without issues."""
        filename = export_filename(period)
        with tempfile.TemporaryFile() as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            count = await write_issue_log_csv(
                self._issues.export_pages(period, page_size=self._settings.export_page_size),
                text,
                tz=self._settings.zone,
                name_of=SlackUserNames(client),
            )
            text.flush()
            text.detach()
            if count == 0:
                return ExportResult(period, 0, filename)
            raw.seek(0)
            comment = (
                f"📄 Issue log for {period.label}: {count} issue{'s' if count != 1 else ''} reported in the period "
                f"(times in {self._settings.timezone}). Asked for by <@{requested_by}>."
            )
            try:
                await client.files_upload_v2(
                    channel=channel,
                    file=raw,
                    filename=filename,
                    title=f"Issue log — {period.label}",
                    initial_comment=comment,
                )
            except SlackApiError as error:
                if error.response.get("error") in _NOT_ALLOWED_HERE:
                    raise InvalidInput(
                        "I can't share files in this conversation: invite me with `/invite @opsbot`, "
                        "or run `/issue export` in a channel I'm in."
                    ) from None
                raise
        return ExportResult(period, count, filename)
