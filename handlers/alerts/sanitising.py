"""Decode a webhook body into values both databases store alike, or say plainly why not.

What would otherwise reach the database and fail there (or, worse, fail only on PostgreSQL):

- **NUL and lone surrogates** become U+FFFD (REPLACEMENT CHARACTER) in every string, keys
  included. PostgreSQL refuses NUL in text and JSON (SQLite keeps it), and neither driver can
  encode a lone surrogate, which JSON's `"\\ud800"` escape or UTF-8-encoded surrogate bytes
  decode to (asyncpg raises DataError, sqlite3 UnicodeEncodeError). Replacing rather than
  stripping keeps the alert readable and shows where something was, and keeps "a\\x00b" apart
  from "ab". The alert is accepted: one odd character must not cost an alert, nor, on
  PostgreSQL, a 503 that the sender retries for ever.
- **Nesting** deeper than MAX_DEPTH is refused (400). Real bodies are 4 levels deep; a deeper one
  would otherwise hit Python's recursion limit in json, pydantic or `str()` further on. The walk
  below is a loop, so checking depth cannot itself overflow; json.loads stops at about a thousand
  levels with RecursionError, which is refused the same way.
- **Integers** of more than 4,300 digits (Python's int/str conversion limit) are refused (400);
  smaller integers that reach storage are range-checked by the parsers (422).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

MAX_DEPTH = 32
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnsafeBody(ValueError):
    """The body cannot be taken as JSON we store; `problem` says why (answered with 400)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _too_deep() -> UnsafeBody:
    return UnsafeBody(f"JSON nested deeper than {MAX_DEPTH} levels")


def decode_json(raw: bytes) -> Any:
    """json.loads, with every failure an UnsafeBody and every string made storable."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except UnicodeDecodeError as error:
        raise UnsafeBody(f"malformed JSON: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise UnsafeBody(f"malformed JSON: {error}") from None
    except ValueError:  # what else json.loads raises: int() past the digit limit
        raise UnsafeBody(f"a number in the body has more than {sys.get_int_max_str_digits()} digits") from None
    return storable(value)


def storable_text(text: str) -> str:
    if text.isascii():
        return text.replace("\x00", REPLACEMENT) if "\x00" in text else text
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable(value: Any) -> Any:
    """A copy of decoded JSON with storable strings; UnsafeBody if nested deeper than MAX_DEPTH."""
    if isinstance(value, str):
        return storable_text(value)
    if not isinstance(value, (dict, list)):
        return value
    root: dict[str, Any] | list[Any] = {} if isinstance(value, dict) else []
    pending: list[tuple[dict[str, Any] | list[Any], dict[str, Any] | list[Any], int]] = [(value, root, 1)]
    while pending:
        source, target, depth = pending.pop()
        items = source.items() if isinstance(source, dict) else enumerate(source)
        for key, item in items:
            if isinstance(item, (dict, list)):
                if depth >= MAX_DEPTH:
                    raise _too_deep()
                copy: dict[str, Any] | list[Any] = {} if isinstance(item, dict) else []
                pending.append((item, copy, depth + 1))
                item = copy
            elif isinstance(item, str):
                item = storable_text(item)
            if isinstance(target, dict):
                target[storable_text(key)] = item
            else:
                target.append(item)
    return root
