"""The sandbox in a real browser: the bot and the Slack stand-in on loopback, Debian's Chromium through Playwright.

Each test gets a fresh sandbox (SQLite file, the stand-in's page wired to the bot as in local mode,
the sandbox's people and demo service) and a fresh headless Chromium. Playwright's auto-waiting and
`expect` bound every wait (EXPECT_SECONDS); nothing sleeps a fixed time. Each test saves a
screenshot of where it ended in tests/browser/screenshots/ (ignored by git).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, AsyncIterator

import pytest
import yaml

from bot.config import OpsConfig
from slack_standin import SlackStandIn
from tests.harness import BOT_TOKEN, SIGNING_SECRET, WEBHOOK_TOKEN, RunningBot, start_bot, stop_bot

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
EXPECT_SECONDS = 20.0
SAMPLE = "Alertmanager: HighErrorRate on checkout"
PEOPLE = {
    "U0RESPONDER": ("Riley Responder", "responder"),
    "U0OPERATOR": ("Olivia Operator", "operator"),
    "U0MANAGER": ("Morgan Manager", "manager"),
    "U0STAFF": ("Sam Staff", "staff member"),
}

# What the bot must never meet in a real workspace after clicks a person can make.
SLACK_WOULD_REFUSE = {
    "invalid_blocks", "invalid_arguments", "unknown_method", "invalid_trigger_id", "expired_trigger_id",
    "exchanged_trigger_id", "not_in_channel", "channel_not_found", "user_not_found", "push_limit_reached",
}


def sandbox_config(standin_url: str) -> OpsConfig:
    """examples/local-sandbox.yaml, as local mode reads it, with a delivery fast enough for tests."""
    text = (REPO / "examples" / "local-sandbox.yaml").read_text(encoding="utf-8")
    raw: dict[str, Any] = yaml.safe_load(text.replace("${SANDBOX_URL}", standin_url))
    raw["delivery"] = {"channel_messages_per_second": 50, "poll_interval_seconds": 0.05, "lease_seconds": 5}
    return OpsConfig.model_validate(raw)


@pytest.fixture
async def sandbox(tmp_path: Path) -> AsyncIterator[RunningBot]:
    standin = SlackStandIn(bot_token=BOT_TOKEN)
    await standin.start()
    for user_id, (name, title) in PEOPLE.items():
        standin.add_user(user_id, name.split()[0].lower(), name, title=title)
    bot = await start_bot(f"sqlite+aiosqlite:///{tmp_path / 'sandbox.db'}", standin, config=sandbox_config(standin.base_url))
    examples = REPO / "examples"
    standin.connect_app(
        f"{bot.url}/slack/events", SIGNING_SECRET, webhooks_url=f"{bot.url}/webhooks", webhook_token=WEBHOOK_TOKEN,
        samples={SAMPLE: {"source": "alertmanager", "firing": str(examples / "alertmanager-firing.json"),
                          "resolved": str(examples / "alertmanager-resolved.json")}},
        demo=True,
    )
    yield bot
    refused = [f"{c.method}: {c.error} {c.response.get('response_metadata', {})}" for c in standin.calls
               if c.error in SLACK_WOULD_REFUSE]
    await bot.opsbot.autofix.wait_idle()
    await stop_bot(bot)
    await standin.stop()
    assert not refused, f"Slack would have refused what the bot sent: {refused}"


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs it (scripts/ensure-system-deps.sh chromium)")
    from playwright.async_api import async_playwright, expect

    expect.set_options(timeout=EXPECT_SECONDS * 1000)
    os.environ.setdefault("PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD", "1")
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


@pytest.fixture
async def page(browser: Any, sandbox: RunningBot, request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The stand-in's page, open; a screenshot of the last state is saved whatever the outcome."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    opened = await context.new_page()
    opened.set_default_timeout(EXPECT_SECONDS * 1000)
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    await opened.goto(sandbox.standin.base_url + "/")
    yield opened
    SCREENSHOTS.mkdir(exist_ok=True)
    await opened.screenshot(path=str(SCREENSHOTS / f"{request.node.name}.png"), full_page=True)
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"
