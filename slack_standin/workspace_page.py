"""The workspace in a browser: the page, its state as JSON for one person, and live updates (SSE).

The page itself is static (slack_standin/web/: HTML, CSS and JavaScript, no build step, nothing from
a CDN); it draws what `/ui/state` says and redraws when `/ui/stream` says something changed. What
people do on it goes through `slack_standin.ui_actions`. Every text is drawn with textContent or
escaped, because it comes from alerts and people and must not become markup.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .state import BOT_USER_ID
from .ui_actions import add_action_routes

if TYPE_CHECKING:
    from .server import SlackStandIn

WEB = Path(__file__).resolve().parent / "web"
_STATIC = {"app.js", "blockkit.js", "mrkdwn.js", "app.css"}
HEARTBEAT_SECONDS = 15.0


class Changes:
    """A version number that grows with every change, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.version = 0
        self.closed = False
        self._event: asyncio.Event | None = None

    def close(self) -> None:
        """Stopping: every waiting stream ends, so the server can shut down at once."""
        self.closed = True
        self.bump()

    def bump(self) -> None:
        self.version += 1
        if self._event is not None:
            self._event.set()
            self._event = None

    async def wait(self, seen: int, timeout: float) -> int:
        if self.version == seen:
            if self._event is None:
                self._event = asyncio.Event()
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except asyncio.TimeoutError:
                pass
        return self.version


def _redacted(values: dict[str, Any], secret_key: str) -> dict[str, Any]:
    return {k: ("(redacted)" if k == secret_key else v) for k, v in values.items()}


def _people(standin: SlackStandIn) -> list[dict[str, Any]]:
    """Who the page can act as: the people with a title (a sandbox's cast), else every person."""
    users = [u for u in standin.workspace.users.values() if u["id"] != BOT_USER_ID and not u.get("is_bot")]
    cast = [u for u in users if u.get("profile", {}).get("title")]
    return [
        {"id": u["id"], "name": u["real_name"], "title": u.get("profile", {}).get("title", "")}
        for u in (cast or users)
    ]


def workspace_state(standin: SlackStandIn, user_id: str) -> dict[str, Any]:
    """Everything one person sees: conversations, messages, their ephemerals, open modals, Home tab."""
    ws = standin.workspace
    conversations = []
    for conversation in ws.conversations.values():
        if conversation.is_im and conversation.user != user_id:
            continue
        if (conversation.is_private or conversation.is_archived) and user_id not in conversation.members:
            continue
        ephemerals = [e for e in ws.ephemerals.get(conversation.id, []) if e["user"] == user_id]
        conversations.append({
            "id": conversation.id,
            "name": conversation.name if not conversation.is_im else "opsbot",
            "kind": "dm" if conversation.is_im else "channel",
            "bot_member": BOT_USER_ID in conversation.members,
            "messages": ws.snapshot(conversation.id),
            "ephemerals": copy.deepcopy(ephemerals),
        })
    conversations.sort(key=lambda c: (c["kind"] != "channel", c["name"]))
    modals = [copy.deepcopy(ws.views[v]) for v in ws.modals.get(user_id, []) if v in ws.views]
    home_id = ws.home_views.get(user_id)
    return {
        "ok": True,
        "version": standin.changes.version,
        "me": user_id,
        "users": {u["id"]: u["real_name"] for u in ws.users.values()},
        "channels": {c.id: c.name for c in ws.conversations.values() if not c.is_im},
        "usergroups": {g["id"]: g["handle"] for g in ws.usergroups.values()},
        "conversations": conversations,
        "modals": modals,
        "home": copy.deepcopy(ws.views.get(home_id)) if home_id else None,
    }


def render_page(standin: SlackStandIn) -> str:
    """index.html with the first state inlined (so the page shows at once, and is searchable as text)."""
    people = _people(standin)
    me = people[0]["id"] if people else ""
    connection = standin.app_connection
    boot = {
        "people": people,
        "me": me,
        "connected": connection is not None or standin.socket_mode.active,
        "samples": sorted(connection.samples) if connection is not None else [],
        "demo": bool(connection is not None and connection.webhooks_url),
        "commands": ["/ask", "/issue", "/summary", "/kb", "/adjustment", "/oncall"],
        "state": workspace_state(standin, me),
    }
    # JSON inside <script> must not close the element: "<" is written as \u003c.
    boot_json = json.dumps(boot).replace("<", "\\u003c")
    return (WEB / "index.html").read_text(encoding="utf-8").replace("__BOOT_JSON__", boot_json)


def add_page_routes(app: web.Application, standin: SlackStandIn) -> None:
    async def page(request: web.Request) -> web.Response:
        return web.Response(text=render_page(standin), content_type="text/html")

    async def static(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name not in _STATIC:
            raise web.HTTPNotFound()
        kind = "text/css" if name.endswith(".css") else "text/javascript"
        return web.Response(text=(WEB / name).read_text(encoding="utf-8"), content_type=kind)

    async def state(request: web.Request) -> web.Response:
        return web.json_response(workspace_state(standin, request.query.get("user", "")))

    async def stream(request: web.Request) -> web.StreamResponse:
        """Server-sent events: "changed" with the version, whenever anything changed."""
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"})
        await response.prepare(request)
        seen = -1
        try:
            while not standin.changes.closed:
                version = await standin.changes.wait(seen, HEARTBEAT_SECONDS)
                message = f"event: changed\ndata: {version}\n\n" if version != seen else ": heartbeat\n\n"
                await response.write(message.encode())
                seen = version
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        return response

    async def messages_json(request: web.Request) -> web.Response:
        ws = standin.workspace
        channels = [
            {"id": channel_id, "name": ws.channel_label(channel_id), "messages": ws.snapshot(channel_id)}
            for channel_id in sorted(ws.channels, key=ws.channel_label)
        ]
        return web.json_response({"ok": True, "channels": channels})

    async def calls_json(request: web.Request) -> web.Response:
        wanted = request.query.get("method")
        calls = [
            {
                "method": c.method,
                "path": c.path,
                "args": _redacted(c.args, "token"),
                "headers": _redacted(c.headers, "authorization"),
                "at": c.at,
                "status": c.status,
                "response": c.response,
            }
            for c in standin.calls
            if wanted is None or c.method == wanted
        ]
        dumps = functools.partial(json.dumps, default=str)
        return web.json_response({"ok": True, "calls": calls}, dumps=dumps)

    app.router.add_get("/", page)
    app.router.add_get("/static/{name}", static)
    app.router.add_get("/ui/state", state)
    app.router.add_get("/ui/stream", stream)
    app.router.add_get("/api/_messages", messages_json)
    app.router.add_get("/api/_calls", calls_json)

    async def demo(request: web.Request) -> web.StreamResponse:
        service = standin.demo_service
        if service is None:
            raise web.HTTPNotFound()
        return await (service.health if request.method == "GET" else service.restart)(request)

    app.router.add_get("/demo/health", demo)
    app.router.add_post("/demo/restart", demo)
    add_action_routes(app, standin)
