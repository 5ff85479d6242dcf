"""Block Kit rules from Slack's reference that slack_sdk's models do not check, each with a JSON pointer.

slack_sdk validates lengths on the models it knows, but lets through duplicate action_ids, unknown
block types, empty texts, a button in a context block, a select without options, and more; Slack
refuses each of those with `invalid_blocks`. The checks here walk the raw JSON, so each problem
names the exact place, as Slack's own "[ERROR] ... [json-pointer:/blocks/0/elements/1/action_id]".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Problems = list[str]

MESSAGE_BLOCK_TYPES = frozenset(
    {"section", "divider", "image", "actions", "context", "header", "input", "rich_text", "file", "video", "markdown"}
)
SURFACE_BLOCK_TYPES = frozenset({"section", "divider", "image", "actions", "context", "header", "input", "rich_text", "video"})

_SELECTS = ("static_select", "external_select", "users_select", "conversations_select", "channels_select")
_MULTI_SELECTS = tuple("multi_" + kind for kind in _SELECTS)
_TEXT_INPUTS = ("plain_text_input", "email_text_input", "url_text_input", "number_input", "rich_text_input")
_CHOICES = ("checkboxes", "radio_buttons")
_PICKERS = ("datepicker", "timepicker", "datetimepicker")
ACTION_ELEMENTS = frozenset(("button", "overflow", "workflow_button", *_SELECTS, *_MULTI_SELECTS, *_CHOICES, *_PICKERS))
ACCESSORY_ELEMENTS = ACTION_ELEMENTS | {"image"}
INPUT_ELEMENTS = frozenset((*_SELECTS, *_MULTI_SELECTS, *_CHOICES, *_PICKERS, *_TEXT_INPUTS, "file_input"))


def error(what: str, path: str) -> str:
    return f"[ERROR] {what} [json-pointer:{path}]"


def too_long(value: Any, limit: int, path: str) -> Problems:
    if isinstance(value, str) and len(value) > limit:
        return [error(f"must be less than {limit + 1} characters", path)]
    return []


def text_object(obj: Any, path: str, limit: int, *, plain_only: bool = False) -> Problems:
    """A composition text object: {"type": "plain_text"|"mrkdwn", "text": "..."}; Slack refuses an empty one."""
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return [error("must be a text object with a text string", path)]
    allowed = ("plain_text",) if plain_only else ("plain_text", "mrkdwn")
    if obj.get("type") not in allowed:
        return [error(f"must be one of {', '.join(allowed)}", path + "/type")]
    if not obj["text"]:
        return [error("must be more than 0 characters", path + "/text")]
    if "emoji" in obj and obj["type"] != "plain_text":
        return [error("emoji is only allowed on plain_text", path + "/emoji")]
    return too_long(obj["text"], limit, path + "/text")


def _optional_text(node: dict[str, Any], key: str, path: str, limit: int, *, plain_only: bool = True) -> Problems:
    return text_object(node[key], f"{path}/{key}", limit, plain_only=plain_only) if key in node else []


def _confirm(node: dict[str, Any], path: str) -> Problems:
    if "confirm" not in node:
        return []
    confirm, where = node["confirm"], path + "/confirm"
    if not isinstance(confirm, dict):
        return [error("must be a confirmation dialog object", where)]
    problems = []
    for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
        if key not in confirm:
            problems.append(error(f"missing required field: {key}", where))
        else:
            problems += text_object(confirm[key], f"{where}/{key}", limit, plain_only=key != "text")
    return problems


def _option(option: Any, path: str, *, mrkdwn: bool, url: bool = False) -> Problems:
    if not isinstance(option, dict):
        return [error("must be an option object", path)]
    problems = text_object(option.get("text"), path + "/text", 75, plain_only=not mrkdwn)
    if not isinstance(option.get("value"), str):
        problems.append(error("missing required field: value", path))
    else:
        problems += too_long(option["value"], 150, path + "/value")
    problems += _optional_text(option, "description", path, 75, plain_only=not mrkdwn)
    if url:
        problems += too_long(option.get("url"), 3000, path + "/url")
    return problems


def _options(node: dict[str, Any], path: str, low: int, high: int, *, mrkdwn: bool = False, url: bool = False) -> Problems:
    options = node.get("options")
    if not isinstance(options, list) or not low <= len(options) <= high:
        return [error(f"must provide an array of {low} to {high} options", path + "/options")]
    problems = [p for i, o in enumerate(options) for p in _option(o, f"{path}/options/{i}", mrkdwn=mrkdwn, url=url)]
    values = [o.get("value") for o in options if isinstance(o, dict)]
    for key in ("initial_option",):
        chosen = node.get(key)
        if isinstance(chosen, dict) and chosen.get("value") not in values:
            problems.append(error("must match one of the options", f"{path}/{key}"))
    return problems


def _static_select(node: dict[str, Any], path: str) -> Problems:
    if "option_groups" in node:
        groups = node["option_groups"]
        if not isinstance(groups, list) or not 1 <= len(groups) <= 100:
            return [error("must provide an array of 1 to 100 option groups", path + "/option_groups")]
        problems: Problems = []
        for i, group in enumerate(groups):
            where = f"{path}/option_groups/{i}"
            problems += text_object(group.get("label") if isinstance(group, dict) else None, where + "/label", 75, plain_only=True)
            problems += _options(group if isinstance(group, dict) else {}, where, 1, 100)
        return problems
    return _options(node, path, 1, 100)


def _button(node: dict[str, Any], path: str) -> Problems:
    problems = text_object(node.get("text"), path + "/text", 75, plain_only=True)
    problems += too_long(node.get("value"), 2000, path + "/value")
    problems += too_long(node.get("url"), 3000, path + "/url")
    if "style" in node and node["style"] not in ("primary", "danger"):
        problems.append(error("must be one of primary, danger", path + "/style"))
    return problems


def _image_element(node: dict[str, Any], path: str) -> Problems:
    problems = too_long(node.get("alt_text"), 2000, path + "/alt_text")
    if not isinstance(node.get("alt_text"), str) or not node["alt_text"]:
        problems.append(error("missing required field: alt_text", path))
    if not node.get("image_url") and not node.get("slack_file"):
        problems.append(error("must provide either image_url or slack_file", path))
    return problems + too_long(node.get("image_url"), 3000, path + "/image_url")


def _text_input(node: dict[str, Any], path: str) -> Problems:
    problems = too_long(node.get("initial_value"), 3000, path + "/initial_value")
    for key in ("min_length", "max_length"):
        if key in node and (not isinstance(node[key], int) or not 0 <= node[key] <= 3000):
            problems.append(error("must be an integer from 0 to 3000", f"{path}/{key}"))
    return problems


_ELEMENT_CHECKS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "button": _button,
    "image": _image_element,
    "static_select": _static_select,
    "multi_static_select": _static_select,
    "overflow": lambda node, path: _options(node, path, 1, 5, url=True),
    "checkboxes": lambda node, path: _options(node, path, 1, 10, mrkdwn=True),
    "radio_buttons": lambda node, path: _options(node, path, 1, 10, mrkdwn=True),
    "plain_text_input": _text_input,
}


def element(node: Any, path: str, allowed: frozenset[str]) -> Problems:
    """One block element (button, select, input, image...), checked where it stands."""
    if not isinstance(node, dict) or not isinstance(node.get("type"), str):
        return [error("missing required field: type", path)]
    if node["type"] not in allowed:
        return [error(f"{node['type']} is not allowed here (failed to match all allowed schemas)", path + "/type")]
    problems = too_long(node.get("action_id"), 255, path + "/action_id")
    if node["type"] != "image" and "action_id" in node and not node["action_id"]:
        problems.append(error("must be more than 0 characters", path + "/action_id"))
    problems += _optional_text(node, "placeholder", path, 150)
    problems += _confirm(node, path)
    check = _ELEMENT_CHECKS.get(node["type"])
    return problems + (check(node, path) if check else [])


def unique_action_ids(elements: list[Any], path: str) -> Problems:
    seen: set[str] = set()
    problems = []
    for i, node in enumerate(elements):
        action_id = node.get("action_id") if isinstance(node, dict) else None
        if action_id is None:
            continue
        if action_id in seen:
            problems.append(error("action_id already exists", f"{path}/{i}/action_id"))
        seen.add(action_id)
    return problems


def _elements(block: dict[str, Any], path: str, high: int, allowed: frozenset[str]) -> Problems:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= high:
        return [error(f"must be an array of 1 to {high} items", path + "/elements")]
    problems = [p for i, e in enumerate(elements) for p in element(e, f"{path}/elements/{i}", allowed)]
    return problems + unique_action_ids(elements, path + "/elements")


def _section(block: dict[str, Any], path: str) -> Problems:
    problems: Problems = []
    if "text" not in block and "fields" not in block:
        problems.append(error("must provide either text or fields", path))
    if "text" in block:
        problems += text_object(block["text"], path + "/text", 3000)
    if "fields" in block:
        fields = block["fields"]
        if not isinstance(fields, list) or not 1 <= len(fields) <= 10:
            problems.append(error("must be an array of 1 to 10 items", path + "/fields"))
        else:
            problems += [p for i, f in enumerate(fields) for p in text_object(f, f"{path}/fields/{i}", 2000)]
    if "accessory" in block:
        problems += element(block["accessory"], path + "/accessory", ACCESSORY_ELEMENTS)
    return problems


def _context(block: dict[str, Any], path: str) -> Problems:
    elements = block.get("elements")
    if not isinstance(elements, list) or not 1 <= len(elements) <= 10:
        return [error("must be an array of 1 to 10 items", path + "/elements")]
    problems: Problems = []
    for i, node in enumerate(elements):
        where = f"{path}/elements/{i}"
        kind = node.get("type") if isinstance(node, dict) else None
        if kind == "image":
            problems += _image_element(node, where)
        elif kind in ("plain_text", "mrkdwn"):
            problems += text_object(node, where, 2000)
        else:
            problems.append(error(f"{kind} is not allowed here (failed to match all allowed schemas)", where + "/type"))
    return problems


def _image_block(block: dict[str, Any], path: str) -> Problems:
    return _image_element(block, path) + _optional_text(block, "title", path, 2000)


def _input(block: dict[str, Any], path: str) -> Problems:
    problems: Problems = []
    if "label" not in block:
        problems.append(error("missing required field: label", path))
    else:
        problems += text_object(block["label"], path + "/label", 2000, plain_only=True)
    if "element" not in block:
        problems.append(error("missing required field: element", path))
    else:
        problems += element(block["element"], path + "/element", INPUT_ELEMENTS)
    return problems + _optional_text(block, "hint", path, 2000)


_BLOCK_CHECKS: dict[str, Callable[[dict[str, Any], str], Problems]] = {
    "section": _section,
    "header": lambda block, path: text_object(block.get("text"), path + "/text", 150, plain_only=True),
    "context": _context,
    "actions": lambda block, path: _elements(block, path, 25, ACTION_ELEMENTS),
    "image": _image_block,
    "input": _input,
    "markdown": lambda block, path: too_long(block.get("text"), 12_000, path + "/text"),
}


def block_rules(blocks: list[Any], where: str, allowed_types: frozenset[str]) -> Problems:
    """Every rule above over a list of blocks; block_ids unique in the list (a message or a view)."""
    problems: Problems = []
    seen_block_ids: set[str] = set()
    for i, block in enumerate(blocks):
        path = f"{where}/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            problems.append(error("missing required field: type", path))
            continue
        if block["type"] not in allowed_types:
            problems.append(error(f"unsupported type: {block['type']}", path + "/type"))
            continue
        block_id = block.get("block_id")
        if block_id is not None:
            if not isinstance(block_id, str) or not block_id:
                problems.append(error("must be a non-empty string", path + "/block_id"))
            elif block_id in seen_block_ids:
                problems.append(error("block_id already exists", path + "/block_id"))
            else:
                seen_block_ids.add(block_id)
                problems += too_long(block_id, 255, path + "/block_id")
        check = _BLOCK_CHECKS.get(block["type"])
        if check is not None:
            problems += check(block, path)
    return problems
