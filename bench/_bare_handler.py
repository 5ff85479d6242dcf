"""The baseline of bench/ingest_wrk.py: a bare aiohttp handler that reads and json-parses the body, answers 202.

Its own process, like the bot under test, with the access log off as the bot has it. What a webhook
costs on this machine before anything of opsbot's: HTTP, reading the body, json.loads.

    .venv/bin/python bench/_bare_handler.py --port 8080
"""

from __future__ import annotations

import argparse
import json

from aiohttp import web


async def accept(request: web.Request) -> web.Response:
    json.loads(await request.read())
    return web.json_response({"status": "accepted"}, status=202)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = web.Application(client_max_size=1024 * 1024)
    app.router.add_post("/webhooks/{source}", accept)
    web.run_app(app, host=args.host, port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
