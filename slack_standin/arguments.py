"""A Web API call's arguments as Slack reads them: query string plus a JSON, form or multipart body.

slack_sdk sends `blocks`, `view`, `metadata`, ... as JSON strings inside form and query arguments;
they are decoded here, so tests see one shape whichever way the client sent them.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

_JSON_FIELDS = ("blocks", "attachments", "view", "files", "metadata")


def decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for key in _JSON_FIELDS:
        value = args.get(key)
        if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
            try:
                args[key] = json.loads(value)
            except ValueError:
                pass  # left as text: validation then reports it as malformed
    return args


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """JSON or form, whatever the client sent; a body that is neither yields no arguments."""
    text = raw.decode("utf-8", errors="replace")
    if content_type == "application/json" or text.lstrip().startswith("{"):
        try:
            parsed = json.loads(text)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return dict(parse_qsl(text, keep_blank_values=True))


async def read_args(request: web.Request) -> dict[str, Any]:
    args: dict[str, Any] = dict(request.query)
    if request.content_type.startswith("multipart/"):
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                args[key] = f"<file {value.filename}: {len(value.file.read())} bytes>"
            else:
                args[key] = value
    else:
        raw = await request.read()
        if raw:
            args.update(parse_body(raw, request.content_type))
    return decode_json_fields(args)
