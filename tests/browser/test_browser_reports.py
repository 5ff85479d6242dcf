"""Reports and follow-ups in the browser: /summary today with its chart, a survey answered, the App Home tab."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.workspace import act_as, fire_sample, message, modal, open_conversation, send
from tests.harness import RunningBot

pytestmark = pytest.mark.browser


async def test_summary_today_shows_the_figures_and_the_chart_image(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    await expect(message(page, "High 5xx error rate on checkout-1")).to_be_visible()
    await act_as(page, "U0MANAGER")
    await open_conversation(page, "ops-managers")
    await send(page, "/summary today")
    summary = page.locator("#messages .msg.ephemeral").last
    await expect(summary).to_contain_text("Only visible to you")
    await open_conversation(page, "opsbot")  # the chart comes as a file in the manager's DM
    chart = page.locator("#messages img.file-image").last
    await expect(chart).to_be_visible()
    width = await chart.evaluate("img => img.complete ? img.naturalWidth : 0")
    assert width > 100, "the chart PNG did not load"


async def test_a_survey_is_answered_after_the_issue_resolves(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    alert = message(page, "High 5xx error rate on checkout-1")
    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert).to_contain_text("Acknowledged by @Riley Responder")
    await fire_sample(page, "resolved")
    await expect(alert).to_contain_text("Resolved")
    await open_conversation(page, "opsbot")
    survey = message(page, "How did it go?")
    await survey.get_by_role("button", name=re.compile(r"4$")).click()
    form = modal(page)
    await expect(form).to_contain_text("How did we do?")
    await form.locator("textarea").last.fill("Quick and clear, thanks.")
    await form.get_by_role("button", name="Send").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    await expect(message(page, "Thank you!")).to_contain_text("is recorded")


async def test_the_home_tab_shows_the_issue_log(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    await expect(message(page, "High 5xx error rate on checkout-1")).to_be_visible()
    await page.get_by_role("link", name="Home").click()
    home = page.locator("#messages .home")
    await expect(home).to_contain_text("Issue log")
    await expect(home).to_contain_text("High 5xx error rate on checkout-1")
