"""`python -m bot`: start opsbot's HTTP server.

Without SLACK_BOT_TOKEN it runs in local mode: it starts the bundled Slack stand-in on loopback and
points itself at it, so a newcomer sees alerts arrive in "Slack" with zero configuration.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from pathlib import Path

from pydantic import SecretStr

from bot.app import create_app
from bot.config import ConfigError, load_config
from bot.server import ConnectionLimits, GuardedTCPSite, make_runner
from bot.settings import Settings, SettingsError, load_settings

LOCAL_BOT_TOKEN = "xoxb-local"
LOCAL_SIGNING_SECRET = "local-signing-secret"
LOCAL_WEBHOOK_TOKEN = "local-dev-token"
LOCAL_STANDIN_PORT = 3001
SAMPLE_ALERT = Path(__file__).resolve().parent.parent / "examples" / "alertmanager-firing.json"

log = logging.getLogger("opsbot")


async def _start_standin(host: str = "127.0.0.1"):  # type: ignore[no-untyped-def]
    from slack_standin import SlackStandIn

    standin = SlackStandIn(bot_token=LOCAL_BOT_TOKEN)
    try:
        await standin.start(host=host, port=LOCAL_STANDIN_PORT)
    except OSError:
        await standin.start(host=host, port=0)
    return standin


def _local_settings(settings: Settings, api_url: str) -> Settings:
    return settings.model_copy(
        update={
            "slack_api_url": api_url,
            "slack_bot_token": SecretStr(LOCAL_BOT_TOKEN),
            "slack_signing_secret": settings.slack_signing_secret or SecretStr(LOCAL_SIGNING_SECRET),
            "alert_webhook_token": settings.alert_webhook_token or SecretStr(LOCAL_WEBHOOK_TOKEN),
        }
    )


def _print_local_banner(settings: Settings, standin_url: str) -> None:
    port = settings.port
    token = settings.alert_webhook_token.get_secret_value() if settings.alert_webhook_token else ""
    print(
        "\nopsbot is running in LOCAL MODE (no SLACK_BOT_TOKEN): it talks to the bundled Slack stand-in.\n"
        f"  bot:             http://127.0.0.1:{port}  (webhooks, /healthz, /metrics)\n"
        f"  Slack stand-in:  {standin_url}/  (the messages the bot posted; JSON at {standin_url}/api/_messages)\n"
        f"  database:        {settings.database_url}\n\n"
        "Fire the bundled sample alert:\n"
        f"  curl -sS -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        f"--data @{SAMPLE_ALERT} http://127.0.0.1:{port}/webhooks/alertmanager\n",
        flush=True,
    )


async def serve(settings: Settings) -> None:
    standin = None
    if settings.local_mode:
        standin = await _start_standin()
        settings = _local_settings(settings, standin.api_url)
    config = load_config(settings.opsbot_config)
    app = create_app(settings, config)
    limits = ConnectionLimits(
        head_timeout=settings.http_head_timeout_seconds, max_connections=settings.http_max_connections
    )
    runner = make_runner(app, limits)
    await runner.setup()
    site = GuardedTCPSite(runner, settings.host, settings.port, limits)
    await site.start()
    if standin is not None:
        _print_local_banner(settings, standin.base_url)
    else:
        log.info("opsbot listening on %s:%s", settings.host, settings.port)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    if standin is not None:
        await standin.stop()


def main() -> int:
    try:
        settings = load_settings()
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
        asyncio.run(serve(settings))
    except (SettingsError, ConfigError) as error:
        print(f"opsbot: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
