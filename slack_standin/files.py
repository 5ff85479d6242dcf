"""Files upload v2: files.getUploadURLExternal, the upload URL itself, files.completeUploadExternal.

Slack's v2 flow is three requests, and slack_sdk's `files_upload_v2` makes all three; the upload
URL points back at the stand-in so the bytes stay retrievable in tests (`SlackStandIn.files`).
Completing an upload into a channel also posts a message carrying the files, as Slack does.
"""

from __future__ import annotations

import copy
import mimetypes
from typing import Any

from .chat import Handler
from .state import APP_ID, BOT_ID, BOT_USER_ID, TEAM_ID, Workspace
from .validation import rejection


def get_upload_url(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    filename = args.get("filename")
    try:
        length = int(args.get("length"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return rejection("invalid_arguments", ["[ERROR] missing required field: length"])
    if not filename:
        return rejection("invalid_arguments", ["[ERROR] missing required field: filename"])
    file_id = ws.next_id("F")
    ws.files[file_id] = {
        "filename": str(filename),
        "content": b"",
        "length": length,
        "uploaded": False,
        "title": None,
        "channel_id": None,
        "initial_comment": None,
        "thread_ts": None,
    }
    return {"ok": True, "upload_url": f"{origin}/upload/{file_id}", "file_id": file_id}


def store_upload(ws: Workspace, file_id: str, content: bytes) -> bool:
    """Keep the bytes POSTed to an upload URL; False when no such upload was started."""
    record = ws.files.get(file_id)
    if record is None:
        return False
    record["content"] = content
    record["uploaded"] = True
    return True


def _requested_files(args: dict[str, Any]) -> list[dict[str, Any]] | None:
    files = args.get("files")
    if not isinstance(files, list) or not files:
        return None
    if not all(isinstance(f, dict) and f.get("id") for f in files):
        return None
    return files


def _summary(ws: Workspace, file_id: str, origin: str) -> dict[str, Any]:
    record = ws.files[file_id]
    name = record["filename"]
    channels = [record["channel_id"]] if record["channel_id"] else []
    return {
        "id": file_id,
        "name": name,
        "title": record["title"],
        "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
        "size": len(record["content"]),
        "user": BOT_USER_ID,
        "url_private": f"{origin}/files/{file_id}",
        "url_private_download": f"{origin}/files/{file_id}",
        "permalink": f"{origin}/files/{file_id}",
        "channels": channels,
    }


def complete_upload(ws: Workspace, args: dict[str, Any], origin: str) -> dict[str, Any]:
    files = _requested_files(args)
    if files is None:
        return rejection("invalid_arguments", ['[ERROR] files must be a JSON array of {"id", "title"}'])
    for item in files:
        record = ws.files.get(str(item["id"]))
        if record is None or not record["uploaded"]:
            return rejection("file_not_found", [f"[ERROR] {item['id']} was never uploaded"])
    channels = args.get("channels")
    if isinstance(channels, str):
        channels = [c for c in channels.split(",") if c]
    target = args.get("channel_id") or (channels[0] if channels else None)
    channel_id = None
    if target:
        channel_id, refused = ws.bot_access(target)
        if refused:
            return rejection(refused)
    parent_ts = None
    if channel_id and args.get("thread_ts"):
        parent_ts = ws.thread_parent_ts(channel_id, str(args["thread_ts"]))
        if parent_ts is None:
            return rejection("thread_not_found")

    for item in files:
        record = ws.files[str(item["id"])]
        record["title"] = item.get("title") or record["filename"]
        record["channel_id"] = channel_id
        record["initial_comment"] = args.get("initial_comment")
        record["thread_ts"] = parent_ts
    summaries = [_summary(ws, str(item["id"]), origin) for item in files]
    if channel_id:
        message = {
            "type": "message",
            "subtype": "file_share",
            "user": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "team": TEAM_ID,
            "ts": ws.next_ts(),
            "text": str(args.get("initial_comment") or ""),
            "blocks": [],
            "files": copy.deepcopy(summaries),
            "upload": True,
        }
        ws.add_message(channel_id, message, parent_ts)
    return {"ok": True, "files": summaries}


METHODS: dict[str, Handler] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
