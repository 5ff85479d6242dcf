"""trigger_ids as Slack issues them with each interaction: good for one views.open, within 3 seconds.

The stand-in mints them into the payloads it builds (and `signing` into the ones tests build), so it
can tell its own from made-up ones: a trigger id carries its issue time and an HMAC of it, under a
key that lives as long as the process.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import secrets
import time

TRIGGER_TTL_SECONDS = 3.0
_KEY = secrets.token_bytes(16)
_serial = itertools.count(1)


def _mac(stem: str) -> str:
    return hmac.new(_KEY, stem.encode(), hashlib.sha256).hexdigest()[:24]


def mint_trigger_id(issued_at: float | None = None) -> str:
    """A fresh trigger id like Slack's ("1732260000123.42.9f0c..."): issue time in ms, a serial, a MAC."""
    stem = f"{int((time.time() if issued_at is None else issued_at) * 1000)}.{next(_serial)}"
    return f"{stem}.{_mac(stem)}"


class TriggerLedger:
    """Which trigger ids were exchanged already; answers Slack's error for a bad one, or None."""

    def __init__(self, ttl: float = TRIGGER_TTL_SECONDS) -> None:
        self.ttl = ttl
        self._used: dict[str, float] = {}

    def exchange(self, trigger_id: str, now: float | None = None) -> str | None:
        now = time.time() if now is None else now
        stem, _, mac = trigger_id.rpartition(".")
        issued_ms = stem.partition(".")[0]
        if not stem or not issued_ms.isdigit() or not hmac.compare_digest(mac, _mac(stem)):
            return "invalid_trigger_id"
        if trigger_id in self._used:
            return "exchanged_trigger_id"
        if now - int(issued_ms) / 1000 > self.ttl:
            return "expired_trigger_id"
        self._used = {t: at for t, at in self._used.items() if now - at < 2 * self.ttl}
        self._used[trigger_id] = now
        return None
