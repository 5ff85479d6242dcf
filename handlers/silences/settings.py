"""The `alertmanager:` section of the config file: which Alertmanagers opsbot may create silences in.

Why an allow-list. The Silence menu acts on the `externalURL` an Alertmanager webhook carries, and
that URL is only as trustworthy as the webhook's bearer token: one secret shared by every monitoring
system that sends alerts (public in local mode). Calling whatever URL a webhook names would let anyone
holding that token make opsbot send requests into the network it runs in (SSRF) as soon as someone
clicks Silence. So opsbot only calls Alertmanagers listed here: a webhook's externalURL picks one of
them, compared after normalising (scheme and host lower-cased, default port and trailing slash
dropped), and the request goes to the address written here, never to the webhook's own string.
`api_url` covers the common case where people open Alertmanager at one address and opsbot reaches
it at another (docker compose: http://localhost:9093 for people, http://alertmanager:9093 for the bot).
"""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from core.settings_types import Duration, StrictModel


def normalize_url(url: str | None) -> str | None:
    """`scheme://host[:port][/path]` without a trailing slash, or None for anything that is not a
    plain http(s) URL (credentials, a query or a fragment make it something else)."""
    if not url or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.hostname or parts.username or parts.password:
        return None
    if parts.query or parts.fragment:
        return None
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"  # an IPv6 address
    if port is not None and port != (443 if scheme == "https" else 80):
        host = f"{host}:{port}"
    return f"{scheme}://{host}{parts.path.rstrip('/')}"


class AlertmanagerTarget(StrictModel):
    """One Alertmanager opsbot may silence in."""

    url: str  # its externalURL, as its webhooks carry it (--web.external-url)
    api_url: str | None = None  # where opsbot reaches its API, when not at `url`

    @field_validator("url", "api_url")
    @classmethod
    def _plain_http_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        normalized = normalize_url(value)
        if normalized is None:
            raise ValueError("must be an http(s) URL without credentials, query or fragment")
        return normalized


class AlertmanagerSettings(StrictModel):
    """Silences from Slack (handlers/silences); with no `urls` the Silence menu explains how to turn it on."""

    urls: list[AlertmanagerTarget] = Field(default_factory=list)
    timeout_seconds: float = Field(default=5.0, gt=0, le=30)  # each call to an Alertmanager's API
    max_silence: Duration = timedelta(days=30)  # the longest custom silence the modal accepts

    @field_validator("urls", mode="before")
    @classmethod
    def _strings_are_urls(cls, value: object) -> object:
        if isinstance(value, list):
            return [{"url": item} if isinstance(item, str) else item for item in value]
        return value

    def api_url_for(self, external_url: str | None) -> str | None:
        """The API base of the listed Alertmanager whose externalURL this is; None when it is not listed."""
        wanted = normalize_url(external_url)
        if wanted is None:
            return None
        for target in self.urls:
            if target.url == wanted:
                return target.api_url or target.url
        return None
