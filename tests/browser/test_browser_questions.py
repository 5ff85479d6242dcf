"""Questions and issues in the browser: /ask and its two feedback buttons, /issue new."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.workspace import act_as, field, message, modal, open_conversation, send
from tests.harness import RunningBot

pytestmark = pytest.mark.browser
QUESTION = "my database connections keep timing out"


async def ask(page: Any) -> Any:
    """/ask in #help-desk; the answer is an ephemeral only the asker sees."""
    await act_as(page, "U0STAFF")
    await open_conversation(page, "help-desk")
    await send(page, f"/ask {QUESTION}")
    answer = page.locator("#messages .msg.ephemeral").last
    await expect(answer).to_contain_text("Only visible to you")
    await expect(answer.get_by_role("button", name="This solved it")).to_be_visible()
    return answer


async def test_ask_answers_and_this_solved_it_thanks(page: Any, sandbox: RunningBot) -> None:
    answer = await ask(page)
    await answer.get_by_role("button", name="This solved it").click()
    await expect(answer).to_contain_text("Marked as solved")
    await expect(answer.get_by_role("button", name="This solved it")).to_have_count(0)


async def test_ask_didnt_help_opens_a_ticket_form_that_opens_an_issue(page: Any, sandbox: RunningBot) -> None:
    answer = await ask(page)
    await answer.get_by_role("button", name="Didn't help — open a ticket").click()
    form = modal(page)
    await expect(form).to_contain_text("Open a ticket")
    await expect(field(form, "Title")).to_have_value(QUESTION)
    await field(form, "What happens?").fill("Since this morning every query from the LMS times out after 30 s.")
    await field(form, "Priority").select_option("High")
    await field(form, "Category").select_option("database")
    await form.locator(".modal-actions .btn.primary").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    await open_conversation(page, "help-desk")
    await expect(message(page, QUESTION)).to_contain_text("High")


async def test_issue_new_reports_a_problem_in_the_help_desk(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0STAFF")
    await open_conversation(page, "general")
    await send(page, "/issue new")
    form = modal(page)
    await expect(form).to_contain_text("Report an issue")
    await field(form, "Title").fill("Course registration fails in the LMS")
    await field(form, "What happens?").fill("Clicking Register shows a blank page since 9:00.")
    await field(form, "Priority").select_option("Medium")
    await field(form, "Category").select_option("application")
    await field(form, "Screenshot or page link").fill("not a link")
    await form.locator(".modal-actions .btn.primary").click()
    await expect(form.locator(".input-error")).to_contain_text("http")  # the bot's own response_action errors
    await field(form, "Screenshot or page link").fill("https://lms.example.com/register")
    await form.locator(".modal-actions .btn.primary").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    await open_conversation(page, "help-desk")
    report = message(page, "Course registration fails in the LMS")
    await expect(report).to_contain_text("@Sam Staff")
