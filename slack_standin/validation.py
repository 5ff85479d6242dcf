"""Block Kit and view checks, strict where real Slack is strict.

A bot that passes here should not meet `invalid_blocks` in production: the limits are Slack's
(see tests/fixtures/NOTES_slack_limits.md). Each check returns Slack-style detail lines,
"[ERROR] <what> [json-pointer:/blocks/0/text/text]", which the stand-in sends back in
`response_metadata.messages` as Slack does, so a failing test says which block is wrong.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from .blockkit_rules import MESSAGE_BLOCK_TYPES, SURFACE_BLOCK_TYPES, block_rules, error, text_object, too_long

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000


_MODEL_ERRORS = (SlackObjectFormationError, TypeError, ValueError, KeyError, AttributeError)
logging.getLogger("slack_sdk.models").setLevel(logging.ERROR)  # unknown types are reported by us, with a pointer


def _model_problems(blocks: list[Any], where: str) -> list[str]:
    """What slack_sdk's models refuse (lengths and required fields they know), block by block."""
    problems = []
    for i, raw in enumerate(blocks):
        try:
            block = Block.parse(raw)
            if block is not None:
                block.validate_json()
        except _MODEL_ERRORS as exc:
            problems.append(error(str(exc) or type(exc).__name__, f"{where}/{i}"))
    return problems


def check_blocks(
    blocks: Any, max_blocks: int, where: str = "/blocks", allowed_types: frozenset[str] = MESSAGE_BLOCK_TYPES
) -> list[str]:
    """Problems in a list of blocks; empty when Slack would accept it."""
    if not isinstance(blocks, list):
        return [error("must be an array", where)]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(error(f"no more than {max_blocks} items allowed", where))
    problems += block_rules(blocks, where, allowed_types)
    return problems or _model_problems(blocks, where)


def rejection(error: str, details: list[str] | None = None) -> dict[str, Any]:
    """Slack's shape for a refused call: HTTP 200, ok false, and optional detail lines."""
    body: dict[str, Any] = {"ok": False, "error": error}
    if details:
        body["response_metadata"] = {"messages": details}
    return body


def check_message(args: dict[str, Any]) -> tuple[str, list[str]] | None:
    """(error code, details) for a chat.postMessage/update body Slack would reject, else None."""
    text, blocks = args.get("text"), args.get("blocks")
    if not text and not blocks and not args.get("attachments"):
        return "no_text", []
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return "msg_too_long", []
    if blocks is not None:
        if isinstance(blocks, str):
            return "invalid_blocks_format", [error("blocks must be a JSON array", "/blocks")]
        problems = check_blocks(blocks, MAX_MESSAGE_BLOCKS)
        if problems:
            return "invalid_blocks", problems
    return None


def check_view(view: Any) -> list[str]:
    """Problems in a modal or Home tab view; empty when Slack would accept it."""
    if not isinstance(view, dict):
        return [error("must be a view object", "/view")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [error("must be one of modal, home", "/view/type")]
    problems: list[str] = []
    if kind == "modal":
        problems += text_object(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if view.get(key) is not None:
                problems += text_object(view[key], f"/view/{key}", 24, plain_only=True)
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_inputs and view.get("submit") is None:
            problems.append(error("must provide a submit property when using input blocks", "/view"))
    problems += check_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks", SURFACE_BLOCK_TYPES)
    problems += too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    problems += too_long(view.get("callback_id"), 255, "/view/callback_id")
    problems += too_long(view.get("external_id"), 255, "/view/external_id")
    if not problems:
        try:
            View(**view).validate_json()
        except _MODEL_ERRORS as exc:
            problems.append(error(str(exc) or type(exc).__name__, "/view"))
    return problems
