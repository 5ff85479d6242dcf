"""Moving around the stand-in's page as a person would: who you are, where you are, what you type."""

from __future__ import annotations

from typing import Any

from playwright.async_api import Locator, expect


async def act_as(page: Any, user_id: str) -> None:
    await page.get_by_label("Act as").select_option(user_id)


async def open_conversation(page: Any, name: str) -> None:
    """A channel by name ("alerts") or the DM with the app ("opsbot")."""
    link = page.locator("#sidebar .conv").filter(has_text=name).first
    await link.click()
    await expect(page.locator("#title")).to_contain_text(name)


async def send(page: Any, text: str) -> None:
    await page.get_by_label("Message").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


def message(page: Any, text: str) -> Locator:
    """The (last) message in the open conversation that shows `text`."""
    return page.locator("#messages .msg").filter(has_text=text).last


def modal(page: Any) -> Locator:
    return page.locator("#modal")


async def fire_sample(page: Any, status: str = "firing") -> None:
    await page.get_by_role("button", name="Fire sample alert" if status == "firing" else "Send resolved").click()


def field(form: Locator, label: str) -> Locator:
    """The input of the modal's input block labelled `label`."""
    return form.locator(".input-block").filter(has=form.page.locator(".input-label", has_text=label)).locator(
        "input, textarea, select"
    ).first
