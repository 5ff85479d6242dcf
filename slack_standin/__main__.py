"""`python -m slack_standin --port 3001`: the stand-in on its own, to poke at with curl or a bot."""

from __future__ import annotations

import argparse
import asyncio

from .server import SlackStandIn


async def _serve(host: str, port: int, token: str | None, channels: list[str], app_token: str | None) -> None:
    standin = SlackStandIn(bot_token=token, app_token=app_token)
    for name in channels:  # like Slack, the stand-in refuses posts to channels that do not exist
        standin.add_channel(name)
    await standin.start(host=host, port=port)
    print(f"Slack Web API stand-in at {standin.api_url} (messages: {standin.base_url}/)", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await standin.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m slack_standin", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3001, help="0 picks a free port")
    parser.add_argument("--token", default=None, help="the one token to accept (default: any xoxb-/xoxp-)")
    parser.add_argument(
        "--app-token", default=None, help="the one app-level token Socket Mode accepts (default: any xapp-)"
    )
    parser.add_argument(
        "--channels", default="alerts,help-desk,ops-managers", help="comma-separated channels, the bot invited to each"
    )
    args = parser.parse_args(argv)
    channels = [name.strip() for name in args.channels.split(",") if name.strip()]
    try:
        asyncio.run(_serve(args.host, args.port, args.token, channels, args.app_token))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
