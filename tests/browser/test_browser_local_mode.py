"""`python -m bot` with no Slack token, as a newcomer runs it: open the printed URL, fire the sample, acknowledge it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.conftest import SCREENSHOTS
from tests.browser.workspace import act_as, fire_sample, message, open_conversation

pytestmark = pytest.mark.browser
REPO = Path(__file__).resolve().parents[2]


def _start_local_mode(tmp_path: Path) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALERT_WEBHOOK", "OPSBOT_", "HOST"))}
    env.update({"PORT": "0", "SLACK_STANDIN_PORT": "0", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/local.db"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    seen = ""
    assert process.stdout is not None
    for line in process.stdout:  # the banner comes within seconds; a crash ends the output
        seen += line
        found = re.search(r"Slack stand-in:\s+(http://127\.0\.0\.1:\d+)/", seen)
        if found:  # keep reading, or the bot blocks on a full pipe once its logs fill it
            threading.Thread(target=process.stdout.read, daemon=True).start()
            return process, found.group(1)
    process.wait(timeout=5)
    raise AssertionError(f"local mode never printed the stand-in's URL:\n{seen}")


async def test_local_mode_is_clickable_from_the_printed_url(browser: Any, tmp_path: Path) -> None:
    process, url = _start_local_mode(tmp_path)
    try:
        page = await browser.new_page(viewport={"width": 1400, "height": 1000})
        await page.goto(url + "/")
        await act_as(page, "U0RESPONDER")
        await fire_sample(page)
        await open_conversation(page, "alerts")
        alert = message(page, "High 5xx error rate on checkout-1")
        await alert.get_by_role("button", name="Acknowledge").click()
        await expect(alert).to_contain_text("Acknowledged by @Riley Responder")
        SCREENSHOTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(SCREENSHOTS / "test_local_mode_is_clickable_from_the_printed_url.png"))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0
