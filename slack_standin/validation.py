"""Block Kit and view checks, strict where real Slack is strict.

A bot that passes here should not meet `invalid_blocks` in production: the limits are Slack's
(see tests/fixtures/NOTES_slack_limits.md). Each check returns Slack-style detail lines,
"[ERROR] <what> [json-pointer:/blocks/0/text/text]", which the stand-in sends back in
`response_metadata.messages` as Slack does, so a failing test says which block is wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000

_TEXT_TYPES = ("plain_text", "mrkdwn")


def _error(what: str, path: str) -> str:
    return f"[ERROR] {what} [json-pointer:{path}]"


def _too_long(value: Any, limit: int, path: str) -> list[str]:
    if isinstance(value, str) and len(value) > limit:
        return [_error(f"must be less than {limit + 1} characters", path)]
    return []


def _text_object(obj: Any, path: str, limit: int, *, plain_only: bool = False) -> list[str]:
    """A composition text object: {"type": "plain_text"|"mrkdwn", "text": "..."}."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [_error("must be a text object with a text string", path)]
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if obj.get("type") not in allowed:
        return [_error(f"type must be one of {', '.join(allowed)}", path + "/type")]
    return _too_long(obj["text"], limit, path + "/text")


def _check_section(block: dict[str, Any], path: str) -> list[str]:
    problems: list[str] = []
    if "text" not in block and "fields" not in block:
        problems.append(_error("must provide either text or fields", path))
    if "text" in block:
        problems += _text_object(block["text"], path + "/text", 3000)
    fields = block.get("fields")
    if fields is not None:
        if not isinstance(fields, list) or len(fields) > 10:
            problems.append(_error("must be an array of no more than 10 items", path + "/fields"))
        else:
            for i, item in enumerate(fields):
                problems += _text_object(item, f"{path}/fields/{i}", 2000)
    return problems


def _check_header(block: dict[str, Any], path: str) -> list[str]:
    return _text_object(block.get("text"), path + "/text", 150, plain_only=True)


def _elements_count(limit: int) -> Callable[[dict[str, Any], str], list[str]]:
    def check(block: dict[str, Any], path: str) -> list[str]:
        elements = block.get("elements")
        if not isinstance(elements, list) or not 1 <= len(elements) <= limit:
            return [_error(f"must be an array of 1 to {limit} items", path + "/elements")]
        return []

    return check


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], list[str]]] = {
    "section": _check_section,
    "header": _check_header,
    "context": _elements_count(10),
    "actions": _elements_count(25),
}


def _check_interactive(node: Any, path: str) -> list[str]:
    """Walk every nested element: action_id and button limits apply wherever they appear."""
    problems: list[str] = []
    if isinstance(node, list):
        for i, item in enumerate(node):
            problems += _check_interactive(item, f"{path}/{i}")
        return problems
    if not isinstance(node, dict):
        return problems
    problems += _too_long(node.get("action_id"), 255, path + "/action_id")
    if node.get("type") == "button":
        problems += _text_object(node.get("text"), path + "/text", 75, plain_only=True)
        problems += _too_long(node.get("value"), 2000, path + "/value")
        problems += _too_long(node.get("url"), 3000, path + "/url")
    for key, child in node.items():
        if isinstance(child, (dict, list)) and key != "text":
            problems += _check_interactive(child, f"{path}/{key}")
    return problems


def check_blocks(blocks: Any, max_blocks: int, where: str = "/blocks") -> list[str]:
    """Problems in a list of blocks; empty when Slack would accept it."""
    if not isinstance(blocks, list):
        return [_error("must be an array", where)]
    problems: list[str] = []
    if len(blocks) > max_blocks:
        problems.append(_error(f"no more than {max_blocks} items allowed", where))
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"{where}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(_error("missing required field: type", path))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if block_id in seen_block_ids:
                problems.append(_error(f"duplicate block_id {block_id!r}", path + "/block_id"))
            seen_block_ids.add(block_id)
            problems += _too_long(block_id, 255, path + "/block_id")
        check = _BLOCK_CHECKS.get(block["type"])
        if check is not None:
            problems += check(block, path)
        problems += _check_interactive(block, path)
    return problems


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
            return "invalid_blocks_format", [_error("blocks must be a JSON array", "/blocks")]
        problems = check_blocks(blocks, MAX_MESSAGE_BLOCKS)
        if problems:
            return "invalid_blocks", problems
    return None


def check_view(view: Any) -> list[str]:
    """Problems in a modal or Home tab view; empty when Slack would accept it."""
    if not isinstance(view, dict):
        return [_error("must be a view object", "/view")]
    kind = view.get("type")
    if kind not in ("modal", "home"):
        return [_error("type must be one of modal, home", "/view/type")]
    problems: list[str] = []
    if kind == "modal":
        problems += _text_object(view.get("title"), "/view/title", 24, plain_only=True)
        for key in ("submit", "close"):
            if key in view:
                problems += _text_object(view[key], f"/view/{key}", 24, plain_only=True)
        has_inputs = any(isinstance(b, dict) and b.get("type") == "input" for b in view.get("blocks") or [])
        if has_inputs and "submit" not in view:
            problems.append(_error("must provide a submit property when using input blocks", "/view"))
    problems += check_blocks(view.get("blocks", []), MAX_VIEW_BLOCKS, "/view/blocks")
    problems += _too_long(view.get("private_metadata"), 3000, "/view/private_metadata")
    problems += _too_long(view.get("callback_id"), 255, "/view/callback_id")
    problems += _too_long(view.get("external_id"), 255, "/view/external_id")
    return problems
