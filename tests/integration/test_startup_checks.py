"""Start-up against Slack: a wrong token stops `python -m bot` with one line; channels the bot cannot use are named."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import sys
from pathlib import Path

import pytest
from aiohttp import web
from pydantic import SecretStr

from bot.app import create_app
from bot.settings import Settings
from slack_standin import SlackStandIn
from tests.harness import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, test_config

REPO = Path(__file__).resolve().parents[2]
EXIT_TIMEOUT = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_bot(env_overrides: dict[str, str]) -> tuple[int, str]:
    """`python -m bot` with the given settings until it exits: (exit code, what it wrote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALERT_WEBHOOK", "OPSBOT_", "KB_"))}
    env.update({"HOST": "127.0.0.1", "PORT": str(_free_port()), **env_overrides})
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", cwd=REPO, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )  # fmt: skip
    try:
        output, _ = await asyncio.wait_for(process.communicate(), EXIT_TIMEOUT)
    except asyncio.TimeoutError:
        process.kill()
        output, _ = await process.communicate()
        raise AssertionError(f"opsbot did not stop; it wrote:\n{output.decode()}") from None
    return process.returncode or 0, output.decode()


async def test_a_wrong_token_stops_start_up_with_one_line(standin: SlackStandIn, tmp_path: Path) -> None:
    code, output = await run_bot({
        "SLACK_BOT_TOKEN": "xoxb-not-the-right-one",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "ALERT_WEBHOOK_TOKEN": WEBHOOK_TOKEN,
        "SLACK_API_URL": standin.api_url,
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}",
    })  # fmt: skip
    assert code == 2, output
    lines = output.strip().splitlines()
    assert lines[-1] == "opsbot: invalid setting SLACK_BOT_TOKEN: Slack answered invalid_auth"
    assert "Traceback" not in output and len([line for line in lines if "SLACK_BOT_TOKEN" in line]) == 1
    assert [call.method for call in standin.calls] == ["auth.test"]


async def test_channels_the_bot_cannot_use_are_named_in_one_warning(
    standin: SlackStandIn, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    for n in range(250):  # more than a page of conversations.list
        standin.add_channel(f"team-{n:03d}")
    standin.add_channel("alerts")
    standin.add_channel("db-alerts", member=False)
    standin.add_channel("ops-managers", archived=True)
    standin.add_channel("secret-team", private=True, member=False)
    standin.add_channel("team-249-bis")
    config = test_config(
        routes=[{"match": {"service": "db"}, "channel": "#db-alerts"}, {"match": {"x": "y"}, "channel": "#team-249-bis"}],
        helpdesk_channel="#help-desk",  # never created
        managers_channel="#ops-managers",
        teams={"dba": {"name": "DBAs", "channel": "#secret-team", "categories": ["database"]}},
    )
    settings = Settings(
        slack_bot_token=SecretStr(BOT_TOKEN), slack_signing_secret=SecretStr(SIGNING_SECRET),
        alert_webhook_token=SecretStr(WEBHOOK_TOKEN), slack_api_url=standin.api_url, database_url=sqlite_url,
    )  # fmt: skip
    runner = web.AppRunner(create_app(settings, config))
    with caplog.at_level(logging.WARNING, logger="bot.slack_checks"):
        await runner.setup()  # start-up: the checks run before the bot serves
    try:
        warnings = [r.getMessage() for r in caplog.records if r.name == "bot.slack_checks"]
        assert len(warnings) == 1
        [warning] = warnings
        for named in ("#db-alerts (the bot is not in it)", "#ops-managers (archived)", "#help-desk (not found",
                      "#secret-team (not found"):
            assert named in warning
        for fine in ("#alerts", "#team-249-bis"):  # on the second page, and fine
            assert f"{fine} (" not in warning
        pages = standin.calls_to("conversations.list")
        assert len(pages) >= 2 and pages[1].args.get("cursor")
    finally:
        await runner.cleanup()
