"""What a person does on the page, sent to the app as Slack sends it (see `events`), and its outcome applied.

POST /ui/say      {user, channel, text, thread_ts?}     a message; events for the app (message, app_mention)
POST /ui/command  {user, channel, command, text}        a slash command, with a response_url and a trigger_id
POST /ui/act      {user, surface, channel?, ts?, view_id?, action, state?}   a click or choice: block_actions
POST /ui/submit   {user, view_id, state}                a modal's submit: view_submission, response_action applied
POST /ui/close    {user, view_id}                       a modal's close (view_closed if the view asks for it)
POST /ui/home     {user}                                the Home tab opened: app_home_opened
POST /ui/dm       {user}                                the person's DM with the app (opened if new)
POST /ui/alert    {sample, status}                      a bundled sample alert sent to the app's webhook
POST /ui/demo     {action: "break"|"fix"}               the sandbox's demo service broken or fixed by hand
"""

from __future__ import annotations

import copy
import itertools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aiohttp import web

from .events import AppClient, AppConnection, block_actions, slash_command_fields, view_payload
from .people import ResponseTarget
from .triggers import mint_trigger_id

if TYPE_CHECKING:
    from .server import SlackStandIn

_serial = itertools.count(1)


def _ok(**extra: Any) -> web.Response:
    return web.json_response({"ok": True, **extra})


def _refused(error: str, status: int = 400, **extra: Any) -> web.Response:
    return web.json_response({"ok": False, "error": error, **extra}, status=status)


class PageActions:
    def __init__(self, standin: SlackStandIn) -> None:
        self.standin = standin
        self._client: AppClient | None = None

    @property
    def ws(self):  # type: ignore[no-untyped-def]
        return self.standin.workspace

    def client(self) -> AppClient | None:
        """How people reach the app: its HTTP endpoints, or its Socket Mode connection once it has one."""
        connection = self.standin.app_connection
        socket = self.standin.socket_mode
        if connection is None and not socket.active:
            return None
        if self._client is None or (connection is not None and self._client.connection is not connection):
            self._client = AppClient(connection or AppConnection(events_url="", signing_secret=""), socket)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()

    def _trigger(self, user_id: str) -> str:
        trigger_id = mint_trigger_id()
        self.ws.trigger_owners[trigger_id] = user_id
        return trigger_id

    def _response_url(self, target: ResponseTarget) -> str:
        name = f"ui-{next(_serial)}"
        self.standin.people.targets[name] = target
        return self.standin.response_url(name)

    def _tell(self, channel_id: str, user_id: str, text: str) -> None:
        """What Slack itself says to one person, e.g. that a command failed: an ephemeral."""
        self.standin.people.add_ephemeral(channel_id, user_id, {"text": text})
        self.standin.changes.bump()

    # routes ----------------------------------------------------------------------------------

    async def say(self, body: dict[str, Any]) -> web.Response:
        user, channel, text = body.get("user", ""), body.get("channel", ""), str(body.get("text") or "").strip()
        conversation = self.ws.conversations.get(channel)
        if conversation is None or not text or self.ws.find_user(user) is None:
            return _refused("channel_not_found" if conversation is None else "no_text")
        conversation.members.add(user)
        events = self.standin.people.say(user, channel, text, body.get("thread_ts") or None)
        self.standin.changes.bump()
        client = self.client()
        for event in events if client else []:
            await client.send_event(event)  # type: ignore[union-attr]
        return _ok()

    async def command(self, body: dict[str, Any]) -> web.Response:
        user, channel = body.get("user", ""), body.get("channel", "")
        conversation = self.ws.conversations.get(channel)
        client = self.client()
        if conversation is None or client is None:
            return _refused("channel_not_found" if conversation is None else "not_connected")
        command, text = str(body.get("command") or ""), str(body.get("text") or "")
        url = self._response_url(ResponseTarget(channel, user))
        fields = slash_command_fields(command, text, user, channel, conversation.name, url, self._trigger(user))
        answer = await client.send_command(fields)
        if answer.status != 200:
            self._tell(channel, user, f"{command} failed with the error \"dispatch_failed\"")
        elif answer.text.strip():
            reply = answer.json() or {"text": answer.text}
            self.standin.people.respond(url.rsplit("/", 1)[-1], reply)
            self.standin.changes.bump()
        return _ok()

    async def act(self, body: dict[str, Any]) -> web.Response:
        user, surface = body.get("user", ""), body.get("surface", "message")
        client = self.client()
        if client is None:
            return _refused("not_connected")
        action = dict(body.get("action") or {})
        if surface in ("view", "home"):
            view = self.ws.views.get(body.get("view_id", ""))
            if view is None:
                return _refused("view_not_found")
            view = {**copy.deepcopy(view), "state": {"values": body.get("state") or {}}}
            payload = block_actions(
                user, action, response_url=None, trigger_id=self._trigger(user),
                container={"type": "view", "view_id": view["id"]}, view=view,
            )
        else:
            channel, ts = body.get("channel", ""), body.get("ts", "")
            ephemeral = surface == "ephemeral"
            message = None if ephemeral else self.ws.find_message(channel, ts)
            if message is not None:
                message = {k: copy.deepcopy(v) for k, v in message.items() if k != "replies"}
            container = {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": ephemeral}
            if message is not None and message.get("thread_ts") and message["thread_ts"] != ts:
                container["thread_ts"] = message["thread_ts"]
            payload = block_actions(
                user, action, response_url=self._response_url(ResponseTarget(channel, user, ts, ephemeral)),
                trigger_id=self._trigger(user), container=container, channel_id=channel, message=message,
                state=body.get("state") or {},
            )
        answer = await client.send_interaction(payload)
        return _ok() if answer.status == 200 else _refused(f"the app answered {answer.status}", 502)

    async def submit(self, body: dict[str, Any]) -> web.Response:
        user, view = body.get("user", ""), self.ws.views.get(body.get("view_id", ""))
        client = self.client()
        if view is None or client is None:
            return _refused("view_not_found" if view is None else "not_connected")
        answer = await client.send_interaction(view_payload("view_submission", user, view, body.get("state") or {}))
        if answer.status != 200:
            return _refused(f"the app answered {answer.status}", 502)
        outcome = self.standin.people.apply_response_action(user, answer.json())
        self.standin.changes.bump()
        return _ok(**outcome)

    async def close_view(self, body: dict[str, Any]) -> web.Response:
        user, view = body.get("user", ""), self.ws.views.get(body.get("view_id", ""))
        client = self.client()
        if view is not None and view.get("notify_on_close") and client is not None:
            await client.send_interaction(view_payload("view_closed", user, view, body.get("state") or {}))
        self.standin.people.close_top(user)
        self.standin.changes.bump()
        return _ok()

    async def home(self, body: dict[str, Any]) -> web.Response:
        user = body.get("user", "")
        client = self.client()
        if self.ws.find_user(user) is None or client is None:
            return _refused("user_not_found" if client else "not_connected")
        event: dict[str, Any] = {"type": "app_home_opened", "user": user, "channel": self.ws.open_dm(user),
                                 "tab": "home", "event_ts": self.ws.next_ts()}
        home_id = self.ws.home_views.get(user)
        if home_id:
            event["view"] = copy.deepcopy(self.ws.views[home_id])
        await client.send_event(event)
        return _ok()

    async def open_dm(self, body: dict[str, Any]) -> web.Response:
        user = body.get("user", "")
        if self.ws.find_user(user) is None:
            return _refused("user_not_found")
        channel = self.ws.open_dm(user)
        self.standin.changes.bump()
        return _ok(channel=channel)

    async def alert(self, body: dict[str, Any]) -> web.Response:
        client = self.client()
        sample = (client.connection.samples.get(str(body.get("sample"))) if client else None) or {}
        path = sample.get(str(body.get("status") or "firing"))
        if client is None or not path:
            return _refused("no_such_sample")
        answer = await client.send_webhook(sample.get("source", "alertmanager"), Path(path).read_bytes())
        return _ok(status=answer.status) if 200 <= answer.status < 300 else _refused(answer.text, 502)

    async def demo(self, body: dict[str, Any]) -> web.Response:
        service = self.standin.demo_service
        if service is None:
            return _refused("no_demo_service")
        if body.get("action") == "fix":
            service.fix()
        else:
            service.break_it()
        return _ok(healthy=service.healthy)


def add_action_routes(app: web.Application, standin: SlackStandIn) -> None:
    actions = PageActions(standin)
    handlers = {
        "say": actions.say, "command": actions.command, "act": actions.act, "submit": actions.submit,
        "close": actions.close_view, "home": actions.home, "dm": actions.open_dm, "alert": actions.alert,
        "demo": actions.demo,
    }

    def route(handler):  # type: ignore[no-untyped-def]
        async def handle(request: web.Request) -> web.Response:
            try:
                body = await request.json()
            except ValueError:
                return _refused("invalid_json")
            return await handler(body if isinstance(body, dict) else {})

        return handle

    for name, handler in handlers.items():
        app.router.add_post(f"/ui/{name}", route(handler))

    async def close_client(app: web.Application) -> None:
        await actions.close()

    app.on_cleanup.append(close_client)
