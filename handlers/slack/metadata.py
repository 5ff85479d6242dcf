"""A modal's private_metadata: what it carries from the click that opened it to its submission.

One encoding for every modal: a JSON object (`{"issue": 12, "channel": "C1", "ts": "1.2"}`), checked
against Slack's limit of 3,000 characters when written. Reading never trusts it: a submission can be
replayed or forged by anyone holding a signed request, so each value is read with its type checked and
a feature decides what a missing one means. The keys `channel` and `ts` name where the modal was
opened (the message whose button opened it), so a closed modal can still answer there.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Mapping

PRIVATE_METADATA_LIMIT = 3000  # characters, Slack's limit for a view's private_metadata

_NUMBER = re.compile(r"[0-9]{1,18}")  # ASCII digits only: \d also takes "４２"
_CHANNEL_ID = re.compile(r"[A-Z0-9]{1,32}")


class MetadataTooLong(ValueError):
    """The fields would not fit in a view's private_metadata: Slack would refuse the whole view."""


def encode_metadata(**fields: Any) -> str:
    """The fields as private_metadata, in the order given; MetadataTooLong past 3,000 characters."""
    text = json.dumps(fields)
    if len(text) > PRIVATE_METADATA_LIMIT:
        raise MetadataTooLong(f"private_metadata of {len(text)} characters (Slack allows {PRIVATE_METADATA_LIMIT})")
    return text


@dataclass(frozen=True)
class ModalMetadata:
    """Decoded private_metadata; empty when the view carried none, or something that is not ours."""

    fields: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def decode(cls, text: str | None) -> ModalMetadata:
        try:
            data = json.loads(text or "{}")
        except (ValueError, RecursionError):
            return cls()
        return cls(data if isinstance(data, dict) else {})

    def integer(self, key: str) -> int | None:
        """A whole number (an id): a JSON number, or digits in a string; None for anything else."""
        value = self.fields.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and _NUMBER.fullmatch(value):
            return int(value)
        return None

    def string(self, key: str) -> str | None:
        value = self.fields.get(key)
        return value if isinstance(value, str) and value else None

    @property
    def channel_id(self) -> str | None:
        """The channel the modal was opened from (a Slack id), to answer there once it has closed."""
        channel = self.string("channel")
        return channel if channel is not None and _CHANNEL_ID.fullmatch(channel) else None

    @property
    def message_ts(self) -> str | None:
        """The message whose button opened the modal."""
        return self.string("ts")
