"""Reports and follow-ups in the browser: /summary today with its chart, a reporter's survey answered, the App Home tab."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.workspace import act_as, field, fire_sample, message, modal, open_conversation, send
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


async def test_the_reporter_answers_a_survey_once_the_issue_resolves(page: Any, sandbox: RunningBot) -> None:
    """Surveys go to the person who was helped: the staff member who reported, not the responder."""
    await act_as(page, "U0STAFF")
    await open_conversation(page, "general")
    await send(page, "/issue new")
    form = modal(page)
    await field(form, "Title").fill("Printer on floor 2 jams on every page")
    await field(form, "What happens?").fill("Every print job stops after one page since this morning.")
    await field(form, "Priority").select_option("Low")
    await field(form, "Category").select_option("infrastructure")
    await form.locator(".modal-actions .btn.primary").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()

    await act_as(page, "U0RESPONDER")
    await open_conversation(page, "help-desk")
    report = message(page, "Printer on floor 2 jams on every page")
    await report.get_by_role("button", name="Resolve").click()
    form = modal(page)
    await form.locator("textarea, input[type=text]").first.fill("Replaced the worn feed roller.")
    await form.locator("select").first.select_option(index=1)
    await form.locator(".modal-actions .btn.primary").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    await expect(report).to_contain_text("Resolved")

    await act_as(page, "U0STAFF")
    await open_conversation(page, "opsbot")
    survey = message(page, "Printer on floor 2 jams on every page")
    await expect(survey).to_contain_text("was resolved by @Riley Responder. How did we do?")
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
