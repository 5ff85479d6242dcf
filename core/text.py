"""Text Slack will show, made safe: one `clean` for characters no hop accepts, one `escape` for
mrkdwn's control characters. The knowledge base and every Block Kit builder use these two."""

from __future__ import annotations

import re

_UNSAFE_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def clean(text: str) -> str:
    """Text every hop to Slack accepts: a lone surrogate (which no UTF-8 encoder, database or Slack
    takes) becomes U+FFFD and control characters other than tab and line breaks are dropped (NUL
    is refused by PostgreSQL's JSON, where outbox payloads wait)."""
    return _UNSAFE_CHARACTERS.sub(_replace_unsafe, text)


def _replace_unsafe(match: re.Match[str]) -> str:
    return "\ufffd" if match.group() >= "\ud800" else ""


def escape(text: str) -> str:
    """The one escape for text Slack shows: `&`, `<` and `>` (which would otherwise make mentions,
    broadcasts and links) become entities, and the text is `clean`ed."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
