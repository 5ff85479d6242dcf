"""Surfaces: views.open, views.push, views.update, views.publish.

Views are validated like Slack does (title 24 chars, 100 blocks, ...) and refused with
`invalid_arguments` plus detail lines; views.open and views.push take a trigger_id the stand-in
issued, once, within 3 seconds (`invalid_trigger_id`, `exchanged_trigger_id`, `expired_trigger_id`). The stored view carries the fields Slack adds (id, hash,
state, root_view_id), so a later view_submission payload can be built from it.
"""

from __future__ import annotations

import copy
import secrets
import time
from typing import Any

from .chat import Handler
from .state import APP_ID, BOT_ID, TEAM_ID, Workspace
from .validation import check_view, rejection


def _new_hash() -> str:
    return f"{int(time.time())}.{secrets.token_urlsafe(6)}"


def _stored(view_id: str, view: dict[str, Any], root_view_id: str | None = None) -> dict[str, Any]:
    """The view as Slack returns it: the caller's fields over Slack's defaults."""
    return {
        "id": view_id,
        "team_id": TEAM_ID,
        "type": view["type"],
        "blocks": [],
        "private_metadata": "",
        "callback_id": "",
        "state": {"values": {}},
        "hash": _new_hash(),
        "clear_on_close": False,
        "notify_on_close": False,
        "close": None,
        "submit": None,
        "previous_view_id": None,
        "root_view_id": root_view_id or view_id,
        "app_id": APP_ID,
        "external_id": "",
        "app_installed_team_id": TEAM_ID,
        "bot_id": BOT_ID,
        **copy.deepcopy({k: v for k, v in view.items() if k not in ("id", "hash", "state")}),
    }


def _refuse_view(args: dict[str, Any]) -> dict[str, Any] | None:
    """The rejection body for a missing or invalid `view`, or None when Slack would accept it."""
    if args.get("view") is None:
        return rejection("invalid_arguments", ["[ERROR] missing required field: view"])
    problems = check_view(args["view"])
    return rejection("invalid_arguments", problems) if problems else None


MAX_MODAL_STACK = 3


def store_view(ws: Workspace, view: dict[str, Any], view_id: str | None) -> str:
    """Store a new view (view_id None) or replace one in place; returns its id."""
    if view_id is None:
        view_id = ws.next_id("V")
        ws.views[view_id] = _stored(view_id, view)
    else:
        ws.views[view_id] = _stored(view_id, view, ws.views[view_id]["root_view_id"])
    return view_id


def _open(ws: Workspace, args: dict[str, Any], *, push: bool) -> dict[str, Any]:
    if not args.get("trigger_id"):
        return rejection("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
    refused = _refuse_view(args)
    if refused:
        return refused
    trigger_id = str(args["trigger_id"])
    trigger_error = ws.triggers.exchange(trigger_id)
    if trigger_error:
        return rejection(trigger_error)
    owner = ws.trigger_owners.pop(trigger_id, None)
    stack = ws.modals.setdefault(owner, []) if owner else None
    if push and stack is not None and len(stack) >= MAX_MODAL_STACK:
        return rejection("push_limit_reached")
    view_id = store_view(ws, args["view"], None)
    if stack is not None:
        stack[:] = [*stack, view_id] if push else [view_id]
    return {"ok": True, "view": copy.deepcopy(ws.views[view_id])}


def open_view(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    return _open(ws, args, push=False)


def push_view(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    return _open(ws, args, push=True)


def _find_view(ws: Workspace, args: dict[str, Any]) -> dict[str, Any] | None:
    if args.get("view_id"):
        return ws.views.get(str(args["view_id"]))
    matches = [v for v in ws.views.values() if v.get("external_id") == args["external_id"]]
    return matches[-1] if matches else None


def update_view(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    if not args.get("view_id") and not args.get("external_id"):
        return rejection("invalid_arguments", ["[ERROR] either view_id or external_id is required"])
    current = _find_view(ws, args)
    if current is None:
        return rejection("not_found")
    if args.get("hash") and args["hash"] != current["hash"]:
        return rejection("hash_conflict")
    refused = _refuse_view(args)
    if refused:
        return refused
    store_view(ws, args["view"], current["id"])
    return {"ok": True, "view": copy.deepcopy(ws.views[current["id"]])}


def publish_view(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    """Home tabs: one view per user, republishing replaces it under the same id."""
    user_id = args.get("user_id")
    if not user_id:
        return rejection("invalid_arguments", ["[ERROR] missing required field: user_id"])
    refused = _refuse_view(args)
    if refused:
        return refused
    view_id = ws.home_views.get(str(user_id)) or ws.next_id("V")
    ws.home_views[str(user_id)] = view_id
    ws.views[view_id] = _stored(view_id, args["view"])
    return {"ok": True, "view": copy.deepcopy(ws.views[view_id])}


METHODS: dict[str, Handler] = {
    "views.open": open_view,
    "views.push": push_view,
    "views.update": update_view,
    "views.publish": publish_view,
}
