"""`python -m bot`: start opsbot's HTTP server.

Without SLACK_BOT_TOKEN it runs in local mode, a complete sandbox on loopback: the bundled Slack
stand-in (a small Slack in the browser, rate limits on), four people with roles, the channels the
config names, sample alerts, and a demo service whose runbook really fixes it
(examples/local-sandbox.yaml, used unless OPSBOT_CONFIG names another config). Its secrets are
public, so unless HOST is set it binds 127.0.0.1 only.
"""

from __future__ import annotations

import asyncio
import errno
import gc
import logging
import os
import signal
import sys
from pathlib import Path

import yaml
from pydantic import SecretStr

from bot.app import create_app
from bot.config import ConfigError, OpsConfig, load_config
from bot.server import ConnectionLimits, GuardedTCPSite, make_runner
from bot.settings import Settings, SettingsError, load_settings

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOCAL_BOT_TOKEN = "xoxb-local"
LOCAL_SIGNING_SECRET = "local-signing-secret"
LOCAL_WEBHOOK_TOKEN = "local-dev-token"
EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
SAMPLE_ALERT = EXAMPLES / "alertmanager-firing.json"
SANDBOX_CONFIG = EXAMPLES / "local-sandbox.yaml"
SAMPLES = {
    "Alertmanager: HighErrorRate on checkout": {
        "source": "alertmanager", "firing": str(SAMPLE_ALERT), "resolved": str(EXAMPLES / "alertmanager-resolved.json"),
    },
}
# The sandbox's people, one per role (examples/local-sandbox.yaml gives them the roles).
SANDBOX_PEOPLE = {
    "U0RESPONDER": ("Riley Responder", "responder"),
    "U0OPERATOR": ("Olivia Operator", "operator"),
    "U0MANAGER": ("Morgan Manager", "manager"),
    "U0STAFF": ("Sam Staff", "staff member"),
}

log = logging.getLogger("opsbot")


async def _start_standin(settings: Settings):  # type: ignore[no-untyped-def]
    from slack_standin import SlackStandIn

    standin = SlackStandIn(bot_token=LOCAL_BOT_TOKEN, rate_limits=True)
    try:
        await standin.start(host="127.0.0.1", port=settings.slack_standin_port)
    except OSError:
        if "slack_standin_port" in settings.model_fields_set:
            raise  # a port asked for explicitly is not swapped silently
        await standin.start(host="127.0.0.1", port=0)  # the default is taken (another sandbox): any free port
    return standin


def _sandbox_config(settings: Settings, standin_url: str) -> OpsConfig:
    """OPSBOT_CONFIG if set, else the sandbox's config with the stand-in's address filled in."""
    if settings.opsbot_config is not None:
        return load_config(settings.opsbot_config)
    raw = yaml.safe_load(SANDBOX_CONFIG.read_text(encoding="utf-8").replace("${SANDBOX_URL}", standin_url))
    return OpsConfig.model_validate(raw)


def _furnish(standin, config: OpsConfig) -> None:  # type: ignore[no-untyped-def]
    """The workspace the bot was installed in: the config's channels (bot invited) and the sandbox's people."""
    from slack_standin.state import channel_names_in

    for name in channel_names_in(config.model_dump(mode="json")):
        standin.add_channel(name)
    for user_id, (name, title) in SANDBOX_PEOPLE.items():
        standin.add_user(user_id, name.split()[0].lower(), name, title=title)


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
        f"  Slack stand-in:  {standin_url}/  (open it: a small Slack to click through; JSON at {standin_url}/api/_messages)\n"
        f"  database:        {settings.database_url}\n\n"
        "Fire the bundled sample alert:\n"
        f"  curl -sS -X POST -H 'Authorization: Bearer {token}' -H 'Content-Type: application/json' "
        f"--data @{SAMPLE_ALERT} http://127.0.0.1:{port}/webhooks/alertmanager\n",
        flush=True,
    )


async def serve(settings: Settings) -> None:
    standin = None
    if settings.local_mode:
        if "host" not in settings.model_fields_set:
            settings = settings.model_copy(update={"host": "127.0.0.1"})
        standin = await _start_standin(settings)
        settings = _local_settings(settings, standin.api_url)
        config = _sandbox_config(settings, standin.base_url)
        _furnish(standin, config)
    else:
        config = load_config(settings.opsbot_config)
    try:
        _check_kb_paths(settings.kb_paths)
        try:
            app = create_app(settings, config)
        except OSError as error:  # the SQLite file's folder cannot be made
            if not settings.database_url.startswith("sqlite"):
                raise
            raise SettingsError(
                f"invalid setting DATABASE_URL: cannot create {error.filename}: {error.strerror or error}"
            ) from None
        limits = ConnectionLimits(
            head_timeout=settings.http_head_timeout_seconds, max_connections=settings.http_max_connections
        )
        runner = make_runner(app, limits)
        await runner.setup()  # start-up checks (database, Slack token, channels), migrations, background tasks
        site = GuardedTCPSite(runner, settings.host, settings.port, limits)
        try:
            await site.start()
        except OSError as error:
            await runner.cleanup()
            why = "already in use" if error.errno == errno.EADDRINUSE else (error.strerror or str(error))
            raise SettingsError(f"invalid setting PORT: cannot listen on {settings.host}:{settings.port}: {why}") from None
    except BaseException:
        if standin is not None:
            await standin.stop()
        raise
    if standin is not None:
        bot_url = f"http://127.0.0.1:{site.bound_port}"
        standin.connect_app(
            f"{bot_url}/slack/events",
            settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else "",
            webhooks_url=f"{bot_url}/webhooks",
            webhook_token=settings.alert_webhook_token.get_secret_value() if settings.alert_webhook_token else None,
            samples=SAMPLES,
            demo=settings.opsbot_config is None,
        )
        _print_local_banner(settings, standin.base_url)
    else:
        log.info("opsbot listening on %s:%s", settings.host, settings.port)

    # What start-up built (modules, config, caches) lives as long as the process: out of every full
    # collection, which otherwise stops the loop for ~90 ms every ten seconds or so under load (issue 13).
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    if standin is not None:
        await standin.stop()


def _log_level(name: str) -> int:
    level = logging.getLevelName(name.strip().upper())
    if not isinstance(level, int):
        raise SettingsError(f"invalid setting LOG_LEVEL: {name!r} is not one of {', '.join(LOG_LEVELS)}")
    return level


def _check_kb_paths(paths: list[Path]) -> None:
    """Each KB_PATHS entry must be a folder (or file) we can read: found now, not when the first question comes."""
    for path in paths:
        try:
            if path.is_dir():
                os.listdir(path)
            else:
                path.open("rb").close()
        except OSError as error:
            raise SettingsError(f"invalid setting KB_PATHS: cannot read {path}: {error.strerror or error}") from None


def main() -> int:
    try:
        settings = load_settings()
        logging.basicConfig(
            level=_log_level(settings.log_level), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
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
