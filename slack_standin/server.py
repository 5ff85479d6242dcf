"""SlackStandIn: a local Slack Web API on aiohttp that records every call and can be told to fail.

Point slack_sdk at `standin.api_url` (it ends in "/" because slack_sdk joins method names onto
it). Requests are answered in Slack's shapes; tests then read `calls`, `messages()` and `files`,
or script trouble with `fail_next()` / `fail_all()`, or hold a method's calls with `hold()`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from . import chat, directory, files, views
from .arguments import decode_json_fields, parse_body, read_args
from .failures import DelayPlan, Failure, FailurePlan
from .holds import Hold, Holds
from .demo_service import DemoService
from .events import AppClient, AppConnection
from .people import People
from .workspace_page import Changes, add_page_routes
from .limits import RateLimits
from .signing import DEFAULT_CHANNEL_ID, DEFAULT_USER_ID
from .socket_mode import LINK_PATH, SocketModeHub
from .state import BOT_USER_ID, Headers, RecordedCall, Workspace
from .validation import MAX_MESSAGE_BLOCKS, check_blocks

log = logging.getLogger(__name__)

METHODS: dict[str, chat.Handler] = {**chat.METHODS, **views.METHODS, **files.METHODS, **directory.METHODS}

class SlackStandIn:
    """A Slack Web API double on 127.0.0.1; `bot_token=None` accepts any xoxb-/xoxp- token.

    As strict as Slack: the workspace starts with #general (the bot not in it) and #local (C0LOCAL,
    the channel signing's payloads name, the bot in it) and the person U0HUMAN; tests add the
    channels and people they use (`add_channel`, `add_user`). Rate limits are off unless
    `rate_limits=True` (or `set_rate_limits(True)`).
    """

    def __init__(self, bot_token: str | None = None, *, rate_limits: bool = False, app_token: str | None = None) -> None:
        self.bot_token = bot_token
        self.socket_mode = SocketModeHub(app_token)  # apps.connections.open and its websocket (any xapp- if None)
        self.calls: list[RecordedCall] = []
        self.workspace = Workspace()
        self.workspace.add_channel("general", member=False)
        self.workspace.add_channel("local", channel_id=DEFAULT_CHANNEL_ID)
        self.workspace.add_user(DEFAULT_USER_ID)
        self.limits = RateLimits(enabled=rate_limits)
        self.people = People(self.workspace)
        self.changes = Changes()  # the page's live updates: every recorded call is a change
        self.app_connection: AppConnection | None = None  # where the page's people reach the app
        self.demo_service: DemoService | None = None
        self._failures = FailurePlan()
        self._holds = Holds()
        self._delays = DelayPlan()
        self._runner: web.AppRunner | None = None
        self._base_url: str | None = None

    # lifecycle -------------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        runner = web.AppRunner(self.make_app(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        await web.TCPSite(runner, host, port).start()
        self._runner = runner
        bound_port = runner.addresses[0][1]
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else f"[{host}]" if ":" in host else host
        self._base_url = f"http://{shown}:{bound_port}"

    async def stop(self) -> None:
        self._holds.release_all()
        self._delays.release_all()
        self.changes.close()
        await self.socket_mode.close()
        if self.demo_service is not None:
            await self.demo_service.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> SlackStandIn:
        if self._runner is None:
            await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def base_url(self) -> str:
        if self._base_url is None:
            raise RuntimeError("SlackStandIn is not started; await start() first")
        return self._base_url

    @property
    def api_url(self) -> str:
        return self.base_url + "/api/"

    def make_app(self) -> web.Application:
        """The aiohttp application; start() serves it, and a host app may mount it instead."""
        app = web.Application()
        add_page_routes(app, self)
        app.router.add_route("*", "/api/{method}", self._web_api)
        app.router.add_get(LINK_PATH, self.socket_mode.serve)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/files/{file_id}", self._download)
        app.router.add_post("/response_url/{name}", self._response_url)
        return app

    # what tests read -------------------------------------------------------------------------

    @property
    def files(self) -> dict[str, dict[str, Any]]:
        return self.workspace.files

    def calls_to(self, method: str, *, include_failed: bool = False) -> list[RecordedCall]:
        """Calls to `method` in arrival order; only those answered 200 ok:true unless include_failed."""
        return [c for c in self.calls if c.method == method and (include_failed or c.ok)]

    def same_channel(self, channel: str, other: str) -> bool:
        """Whether two references ("#alerts", "alerts", an id) name one channel now, as Slack resolves them:
        tests ask this of a call's `channel`, which the bot sends by id where it knows it."""
        return self.workspace.resolve_channel(str(channel)) == self.workspace.resolve_channel(str(other))

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Top-level messages of a channel (name or id) as they are now, replies under "replies"."""
        return self.workspace.snapshot(self.workspace.resolve_channel(channel))

    async def wait_for(
        self,
        method: str,
        count: int = 1,
        timeout: float = 5.0,
        *,
        include_failed: bool = False,
        where: Callable[[RecordedCall], bool] | None = None,
    ) -> list[RecordedCall]:
        """Poll every 20 ms until `count` matching calls arrived; the bot works in the background."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            found = [c for c in self.calls_to(method, include_failed=include_failed) if where is None or where(c)]
            if len(found) >= count:
                return found
            if loop.time() >= deadline:
                raise AssertionError(self._describe_wait(method, count, timeout, len(found)))
            await asyncio.sleep(0.02)

    def _describe_wait(self, method: str, count: int, timeout: float, got: int) -> str:
        lines = [f"expected {count} matching successful {method} call(s) within {timeout}s, got {got}."]
        lines.append(f"Calls received ({len(self.calls)}):" if self.calls else "No calls received at all.")
        for call in self.calls[-30:]:
            outcome = "ok" if call.ok else f"{call.error}"
            details = call.response.get("response_metadata", {}).get("messages", [])
            lines.append(f"  {call.method} -> {call.status} {outcome} {' '.join(details)}".rstrip())
        return "\n".join(lines)

    # the app, for the page's people -----------------------------------------------------------

    def connect_app(
        self, events_url: str, signing_secret: str, *, webhooks_url: str | None = None,
        webhook_token: str | None = None, samples: dict[str, dict[str, Any]] | None = None, demo: bool = False,
    ) -> None:
        """Where the page sends what people do (signed as Slack signs), and alerts (with the webhook token).

        `samples` maps a label to {"source": "alertmanager", "firing": path, "resolved": path}; `demo` starts
        the sandbox's demo service (/demo/health, /demo/restart), alerting through the app's webhook."""
        self.app_connection = AppConnection(events_url, signing_secret, webhooks_url, webhook_token, samples or {})
        if demo and webhooks_url:
            alerts = AppClient(self.app_connection)
            self.demo_service = DemoService(lambda source, body: alerts.send_webhook(source, body))

    # the workspace -----------------------------------------------------------------------------

    def add_channel(
        self, name: str, *, member: bool = True, private: bool = False, archived: bool = False,
        channel_id: str | None = None, members: tuple[str, ...] = (),
    ) -> str:
        """Create (or change) a channel; `member=False` leaves the bot out, so posting gets not_in_channel."""
        return self.workspace.add_channel(
            name, member=member, private=private, archived=archived, channel_id=channel_id, members=members
        )

    def invite_bot(self, channel: str) -> None:
        self._conversation(channel).members.add(BOT_USER_ID)

    def archive_channel(self, channel: str) -> None:
        self._conversation(channel).is_archived = True

    def rename_channel(self, channel: str, new_name: str) -> str:
        """As someone renaming it in Slack: the id stays, the old name no longer finds it."""
        return directory.rename(self.workspace, self._conversation(channel), new_name)

    def _conversation(self, channel: str) -> Any:
        found = self.workspace.find_conversation(channel)
        if found is None:
            raise KeyError(f"no channel {channel!r}; add_channel() it first")
        return found

    def add_user(
        self, user_id: str, name: str | None = None, real_name: str | None = None, *, title: str = "", **extra: Any
    ) -> None:
        """A person users.info knows (real_name defaults to "User <id>"); the bot may DM known people.
        People with a `title` (their role, say) are the ones the page lets you act as."""
        self.workspace.add_user(user_id, name, real_name, title=title, **extra)

    def add_usergroup(self, group_id: str, handle: str, users: list[str]) -> None:
        self.workspace.usergroups[group_id] = {"id": group_id, "handle": handle, "users": list(users)}

    def set_rate_limits(self, enabled: bool) -> None:
        """Slack's rate limits on or off; turning them on starts every bucket full."""
        self.limits.enabled = enabled
        self.limits.reset()

    # scripting -------------------------------------------------------------------------------

    def fail_next(
        self, method: str, *, status: int = 429, retry_after: int | None = 1, error: str | None = None, times: int = 1
    ) -> None:
        """The next `times` calls to `method` ("*" = any) fail: 429 + Retry-After, 5xx, or 200 ok:false."""
        self._failures.add_next(method, Failure.build(status, retry_after, error), times)

    def fail_all(
        self, method: str, *, status: int = 503, retry_after: int | None = 1, error: str | None = None
    ) -> None:
        """Every call to `method` ("*" = any) fails until clear_failures(): Slack is down."""
        self._failures.add_always(method, Failure.build(status, retry_after, error))

    def clear_failures(self, method: str | None = None) -> None:
        self._failures.clear(method)

    def delay(self, method: str, *, seconds: float, times: int | None = 1) -> None:
        """The next `times` calls to `method` ("*" = any; None = every call until clear_delays()) take
        effect at once but are answered `seconds` later: a client that times out first never learns
        that its message was posted. Recorded in `calls` on arrival, with the answer they will get.
        """
        self._delays.add(method, seconds, times)

    def clear_delays(self, method: str | None = None) -> None:
        self._delays.clear(method)

    def hold(self, method: str) -> Hold:
        """Calls to `method` wait, unanswered and unrecorded, until the hold's `release()` (or stop()).

        Use it as `async with standin.hold(method) as gate:` to release on leaving the block; see
        `slack_standin.holds`. "response_url" and "file_upload" are held by those names.
        """
        return self._holds.add(method)

    def reset(self) -> None:
        """Forget calls, messages, views, files, scripted failures and holds; keep the server running."""
        self.calls.clear()
        self.workspace.reset()
        self.people.targets.clear()
        self._failures.clear()
        self._holds.release_all()
        self._delays.release_all()
        self.limits.reset()
        self.socket_mode.forget()

    def response_url(self, name: str = "r1") -> str:
        """A Slack-style response_url on the stand-in; POSTs to it are recorded as "response_url"."""
        return f"{self.base_url}/response_url/{quote(name, safe='')}"

    # request handling ------------------------------------------------------------------------

    def _record(self, request: web.Request, method: str, args: dict[str, Any], status: int, body: dict) -> None:
        headers = Headers(request.headers)
        self.calls.append(RecordedCall(method, args, headers, time.time(), status, body, request.path))
        self.changes.bump()

    @staticmethod
    def _token(request: web.Request, args: dict[str, Any]) -> str:
        auth = request.headers.get("Authorization", "")
        return str((auth[7:].strip() if auth[:7].lower() == "bearer " else args.get("token")) or "")

    def _token_error(self, request: web.Request, args: dict[str, Any]) -> str | None:
        token = self._token(request, args)
        if not token:
            return "not_authed"
        if token.startswith("xapp-"):
            return "not_allowed_token_type"  # an app-level token opens sockets, nothing else
        if self.bot_token is None:
            valid = str(token).startswith(("xoxb-", "xoxp-"))
        else:
            valid = token == self.bot_token
        return None if valid else "invalid_auth"

    def _answer(self, request: web.Request, method: str, args: dict[str, Any]) -> tuple[int, dict, dict]:
        failure = self._failures.take(method)
        if failure is not None:
            return failure.status, failure.body(), failure.headers()
        if method == "apps.connections.open":  # the one method that wants the app-level token
            return 200, self.socket_mode.open_connection(self._token(request, args), str(request.url.origin())), {}
        token_error = self._token_error(request, args)
        if token_error:
            return 200, {"ok": False, "error": token_error}, {}
        handler = METHODS.get(method)
        if handler is None:
            return 200, {"ok": False, "error": "unknown_method", "req_method": method}, {}
        channel = args.get("channel")
        retry_after = self.limits.check(method, self.workspace.resolve_channel(str(channel)) if channel else None)
        if retry_after is not None:
            return 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(retry_after)}
        try:
            return 200, handler(self.workspace, args, str(request.url.origin())), {}
        except Exception as exc:  # a stand-in bug must fail the test loudly, not hang it
            log.exception("slack stand-in failed on %s", method)
            body = {"ok": False, "error": "internal_error", "response_metadata": {"messages": [repr(exc)]}}
            return 500, body, {}

    async def _web_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = await read_args(request)
        await self._holds.pass_through(method)
        status, body, headers = self._answer(request, method, args)
        self._record(request, method, args, status, body)
        late = self._delays.take(method)
        if late:
            await self._delays.wait(late)
        return web.json_response(body, status=status, headers=headers)

    async def _upload(self, request: web.Request) -> web.Response:
        """Slack's upload URL: takes raw bytes or the first multipart file, answers text/plain."""
        file_id = request.match_info["file_id"]
        if request.content_type.startswith("multipart/"):
            reader = await request.multipart()
            part = await reader.next()
            content = await part.read() if part is not None else b""  # type: ignore[union-attr]
        else:
            content = await request.read()
        args = {"file_id": file_id, "length": len(content)}
        await self._holds.pass_through("file_upload")
        failure = self._failures.take("file_upload")
        if failure is not None:
            self._record(request, "file_upload", args, failure.status, failure.body())
            return web.Response(status=failure.status, text=failure.error, headers=failure.headers())
        stored = files.store_upload(self.workspace, file_id, bytes(content))
        status = 200 if stored else 404
        self._record(request, "file_upload", args, status, {"ok": stored})
        return web.Response(status=status, text=f"OK - {len(content)}" if stored else "file_not_found")

    async def _download(self, request: web.Request) -> web.Response:
        record = self.workspace.files.get(request.match_info["file_id"])
        if record is None:
            raise web.HTTPNotFound()
        disposition = f"attachment; filename*=UTF-8''{quote(record['filename'])}"
        return web.Response(body=record["content"], headers={"Content-Disposition": disposition})

    async def _response_url(self, request: web.Request) -> web.Response:
        """Slack's response_url: answers "ok", or 400 with the error code for invalid blocks."""
        raw = await request.read()
        args = decode_json_fields(parse_body(raw, request.content_type))
        await self._holds.pass_through("response_url")
        failure = self._failures.take("response_url")
        if failure is not None:
            status, body, headers = failure.status, failure.body(), failure.headers()
        elif (problems := self._response_problems(request.match_info["name"], args)):
            body = {"ok": False, "error": "invalid_blocks", "response_metadata": {"messages": problems}}
            status, headers = 400, {}
        else:
            status, body, headers = 200, {"ok": True}, {}
        self._record(request, "response_url", args, status, body)
        return web.Response(status=status, text="ok" if status == 200 else body["error"], headers=headers)

    def _response_problems(self, name: str, args: dict[str, Any]) -> list[str]:
        """Refused blocks, else the post is applied where Slack would show it (for the page's people)."""
        if args.get("blocks") is not None:
            problems = check_blocks(args["blocks"], MAX_MESSAGE_BLOCKS)
            if problems:
                return problems
        return self.people.respond(name, args)
