"""Typed process settings, read once from the environment by the composition root.

Nothing else in opsbot reads environment variables: everything below is passed down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./data/opsbot.db"


class SettingsError(RuntimeError):
    """A setting is missing or invalid; the message names it in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="", case_sensitive=False, extra="ignore")

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    # Socket Mode: with an app-level token (xapp-, scope connections:write) Slack's events, clicks and
    # commands arrive over a websocket the bot opens; no public URL is needed for them.
    slack_app_token: SecretStr | None = None
    slack_api_url: str = DEFAULT_SLACK_API_URL
    database_url: str = DEFAULT_DATABASE_URL
    alert_webhook_token: SecretStr | None = None
    host: str = "0.0.0.0"
    port: int = Field(default=3000, ge=0, le=65535)
    opsbot_config: Path | None = None
    kb_paths: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    log_level: str = "INFO"
    http_head_timeout_seconds: float = Field(default=10.0, gt=0)  # a client's request head must arrive in this
    http_max_connections: int = Field(default=1000, ge=1)  # lowered to fit the descriptor limit
    prometheus_url: str | None = None  # a Prometheus-compatible HTTP API: the performance report's KPIs
    slack_standin_port: int = Field(default=3001, ge=0, le=65535)  # local mode: the stand-in's page and Web API

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        # slack_sdk joins method names with urljoin: a base without "/" drops its last segment.
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("slack_app_token")
    @classmethod
    def _app_level_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        if not value.get_secret_value().strip().startswith("xapp-"):
            # Never echo the value: it may be another secret pasted into the wrong setting.
            raise ValueError("must be an app-level token (xapp-...), made under Basic Information > App-Level Tokens")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("prometheus_url")
    @classmethod
    def _prometheus_http_url(cls, value: str | None) -> str | None:
        if not value or not value.strip():
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.strip().rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("must start with sqlite+aiosqlite:// or postgresql+asyncpg://")
        return value

    @field_validator("kb_paths", mode="before")
    @classmethod
    def _split_paths(cls, value: object) -> object:
        if isinstance(value, str):
            return [part for part in value.replace(",", ":").split(":") if part.strip()]
        return value

    @field_validator("opsbot_config")
    @classmethod
    def _config_exists(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError(f"file not found: {value}")
        return value

    @property
    def socket_mode(self) -> bool:
        """Slack reaches the bot over Socket Mode (SLACK_APP_TOKEN) rather than POSTs to /slack/events."""
        return self.slack_app_token is not None

    @property
    def local_mode(self) -> bool:
        """No Slack token: run against the bundled Slack stand-in."""
        return self.slack_bot_token is None or not self.slack_bot_token.get_secret_value()


def load_settings(**overrides: object) -> Settings:
    """Read the environment once; turn pydantic's report into one line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "settings"
        raise SettingsError(f"invalid setting {name}: {first['msg']}") from None
