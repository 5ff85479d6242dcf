"""Modals the issue buttons open. Pure builders: a small form in, a view dict out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.vocabulary import CATEGORY_LABELS
from handlers.slack.blockkit import escape, mrkdwn_section, truncate
from handlers.issues.ids import ResolveModal

TEXT_MAX_LENGTH = 2000
ROOT_CAUSE_CATEGORIES: tuple[tuple[str, str], ...] = tuple((str(c), label) for c, label in CATEGORY_LABELS.items())


@dataclass(frozen=True)
class ResolveForm:
    issue_id: int
    title: str
    category: str  # preselects the root cause category; people change it when the alert misled
    private_metadata: str = ""


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _text_input(action_id: str, placeholder: str) -> dict[str, Any]:
    return {
        "type": "plain_text_input",
        "action_id": action_id,
        "multiline": True,
        "max_length": TEXT_MAX_LENGTH,
        "placeholder": _plain(placeholder),
    }


def build_resolve_modal(form: ResolveForm) -> dict[str, Any]:
    options = [{"text": _plain(label), "value": value} for value, label in ROOT_CAUSE_CATEGORIES]
    category: dict[str, Any] = {
        "type": "static_select",
        "action_id": ResolveModal.ROOT_CAUSE_CATEGORY,
        "placeholder": _plain("Choose a category"),
        "options": options,
    }
    initial = next((option for option in options if option["value"] == form.category), None)
    if initial is not None:
        category["initial_option"] = initial
    return {
        "type": "modal",
        "callback_id": ResolveModal.CALLBACK,
        "title": _plain("Resolve issue"),
        "submit": _plain("Resolve"),
        "close": _plain("Cancel"),
        "private_metadata": form.private_metadata,
        "blocks": [
            mrkdwn_section(f"*Issue #{form.issue_id}:* {escape(truncate(form.title, 500))}"),
            {
                "type": "input",
                "block_id": ResolveModal.RESOLUTION,
                "label": _plain("What fixed it"),
                "element": _text_input(ResolveModal.RESOLUTION, "e.g. Restarted the connection pooler, raised max_connections"),
            },
            {
                "type": "input",
                "block_id": ResolveModal.ROOT_CAUSE_CATEGORY,
                "label": _plain("Root cause category"),
                "element": category,
            },
            {
                "type": "input",
                "block_id": ResolveModal.ROOT_CAUSE,
                "optional": True,
                "label": _plain("Root cause"),
                "hint": _plain("What caused it, as far as you know. Leave empty if it is not known yet."),
                "element": _text_input(ResolveModal.ROOT_CAUSE, "e.g. A batch job opened a connection per row"),
            },
        ],
    }
