"""Alerts in the browser: fire, acknowledge, auto-fix the demo service, escalate, resolve."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.async_api import expect

from tests.browser.workspace import act_as, fire_sample, message, modal, open_conversation
from tests.harness import RunningBot

pytestmark = pytest.mark.browser


async def test_a_fired_alert_appears_and_acknowledge_updates_it(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    alert = message(page, "High 5xx error rate on checkout-1")
    await expect(alert).to_contain_text("nobody has acknowledged this yet")
    await alert.get_by_role("button", name="Acknowledge").click()
    await expect(alert).to_contain_text("Acknowledged by @Riley Responder")
    await expect(alert.get_by_role("button", name="Unacknowledge")).to_be_visible()
    await expect(alert).to_contain_text("(edited)")


async def test_auto_fix_restarts_the_demo_service_and_the_fix_is_verified(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0OPERATOR")
    await page.get_by_role("button", name="Break the demo service").click()
    await open_conversation(page, "alerts")
    alert = message(page, "DemoServiceErrors")
    await alert.get_by_role("button", name="Auto-fix").click()
    await expect(alert).to_contain_text("Resolved", timeout=30_000)
    assert sandbox.standin.demo_service is not None and sandbox.standin.demo_service.healthy
    await alert.get_by_role("link", name="repl").click()  # the thread tells the run step by step
    thread = page.locator("#thread-messages")
    await expect(thread).to_contain_text("Restart the demo service")
    await expect(thread).to_contain_text("Verified: the alert resolved")
    await expect(alert).to_contain_text("Auto-fixed by runbook Restart the demo service")


async def test_escalate_opens_a_modal_whose_submission_escalates(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    alert = message(page, "High 5xx error rate on checkout-1")
    await alert.get_by_role("button", name="Escalate").click()
    form = modal(page)
    await expect(form).to_contain_text("Escalate")
    await form.locator("select").first.select_option(index=2)
    await form.locator("input[type=radio]").first.check()
    await form.locator("textarea, input[type=text]").last.fill("Error rate still climbing after a restart.")
    await form.get_by_role("button", name="Escalate").click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    escalation = message(page, "Escalated to Developers")
    await expect(escalation).to_contain_text("by @Riley Responder")
    await expect(escalation).to_contain_text("Error rate still climbing after a restart.")
    await expect(escalation.get_by_role("button", name="I'm on it")).to_be_visible()


async def test_resolve_modal_shows_validation_errors_then_resolves(page: Any, sandbox: RunningBot) -> None:
    await act_as(page, "U0RESPONDER")
    await fire_sample(page)
    await open_conversation(page, "alerts")
    alert = message(page, "High 5xx error rate on checkout-1")
    await alert.get_by_role("button", name="Resolve").click()
    form = modal(page)
    await expect(form).to_contain_text("Resolve")
    submit = form.locator(".modal-actions .btn.primary")
    await submit.click()  # nothing filled in: Slack's own client refuses, naming the fields
    await expect(form.locator(".input-error").first).to_contain_text("required")
    await form.locator("textarea, input[type=text]").first.fill("   ")  # blank to the bot: its errors come back
    await form.locator("select").first.select_option(index=1)
    await submit.click()
    await expect(form.locator(".input-error")).to_contain_text("Say what fixed it")
    await form.locator("textarea, input[type=text]").first.fill("Rolled back the bad deploy.")
    await submit.click()
    await expect(page.locator("#modal-overlay")).to_be_hidden()
    await expect(alert).to_contain_text("Resolved")
