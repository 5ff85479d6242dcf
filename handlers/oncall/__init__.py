"""/oncall: who is on call now and next, from the teams' rotas, and temporary covers of a rota.

`/oncall take dba until friday` records an override that escalations honour while it lasts
(handlers.escalations.on_call.on_call_for); it is announced in the team's channel and ends by itself.
Every answer is ephemeral.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from core.scheduler import Scheduler
from handlers.oncall.blocks import build_cover_reply, build_help, build_oncall_overview, build_release_reply
from handlers.oncall.parsing import CoverOnCall, OnCallHelp, ReleaseOnCall, ShowOnCall, parse_oncall_command
from handlers.oncall.service import OnCallService
from handlers.slack.listeners import reporting_errors
from handlers.slack.payloads import parse_command

ONCALL_COMMAND = "/oncall"
ENDED_CHECK_SECONDS = 60.0  # how soon a cover that ran out is announced in the team's channel


class OnCallCommand:
    """Ack at once, then answer ephemerally; mistakes come back as one sentence (reporting_errors)."""

    def __init__(self, service: OnCallService) -> None:
        self._service = service

    async def oncall(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        command = parse_command(body)
        request = parse_oncall_command(command.text, command.user_id)
        if isinstance(request, ShowOnCall):
            teams = await self._service.overview(request.team)
            text, blocks = build_oncall_overview(teams, self._service.now())
            await respond(text=text, blocks=blocks, response_type="ephemeral", replace_original=False)
            return
        if isinstance(request, CoverOnCall):
            change = await self._service.cover(request, command.user_id)
            answer = build_cover_reply(change)
        elif isinstance(request, ReleaseOnCall):
            change = await self._service.release(request.team, command.user_id)
            answer = build_release_reply(change)
        else:
            assert isinstance(request, OnCallHelp)
            answer = build_help(request.problem)
        await respond(text=answer, response_type="ephemeral", replace_original=False)


def register(slack_app: AsyncApp, service: OnCallService, scheduler: Scheduler) -> None:
    command = OnCallCommand(service)
    slack_app.command(ONCALL_COMMAND)(reporting_errors(command.oncall))
    scheduler.every(ENDED_CHECK_SECONDS, "on-call-cover-ends", service.announce_ended)
