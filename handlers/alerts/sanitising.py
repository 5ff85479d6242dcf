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

Most bodies need none of this, and a glance at the bytes says so (`_plainly_storable`): then the
decoded value is returned as it is, without the walk that copies it (a third of a webhook's parsing).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

import orjson

MAX_DEPTH = 32
REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
# What in a UTF-8 body can decode to NUL or a surrogate: the escapes \u0000 and \uD800-\uDFFF (a valid
# pair too: it then takes the slow way), and a surrogate encoded in UTF-8 (ED A0-BF ..), which
# json.loads lets through. A raw NUL is not valid inside JSON text, and outside it means UTF-16/32.
_MAYBE_UNSTORABLE = re.compile(rb"\\u(?:0000|[dD][89abcdefABCDEF])|\xed[\xa0-\xbf]|\x00")


class UnsafeBody(ValueError):
    """The body cannot be taken as JSON we store; `problem` says why (answered with 400)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _too_deep() -> UnsafeBody:
    return UnsafeBody(f"JSON nested deeper than {MAX_DEPTH} levels")


def decode_json(raw: bytes) -> Any:
    """json.loads, with every failure an UnsafeBody and every string made storable.

    orjson decodes first (three times faster); whatever it refuses (its nesting limit, integers past
    64 bits, NaN, lone surrogates, a BOM, malformed JSON) is decoded again by the standard library,
    whose answer, value or error, is the one given, as before.
    """
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        value = _decode_with_json(raw)
    return value if _plainly_storable(raw) else storable(value)


def _decode_with_json(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except RecursionError:
        raise _too_deep() from None
    except UnicodeDecodeError as error:
        raise UnsafeBody(f"malformed JSON: not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        raise UnsafeBody(f"malformed JSON: {error}") from None
    except ValueError:  # what else json.loads raises: int() past the digit limit
        raise UnsafeBody(f"a number in the body has more than {sys.get_int_max_str_digits()} digits") from None


def _plainly_storable(raw: bytes) -> bool:
    """True when, by its bytes, a body that json.loads took holds no string that needs replacing and
    cannot nest deeper than MAX_DEPTH (it has no more `[` and `{` than that, in strings or not).

    False only means "walk it": storable() then decides, exactly.
    """
    if raw.startswith(b"\xef\xbb\xbf") or _MAYBE_UNSTORABLE.search(raw) is not None:
        return False
    return raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH or _depth_outside_strings(raw) <= MAX_DEPTH


_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')


def _depth_outside_strings(raw: bytes) -> int:
    """How deep the brackets of valid JSON nest, strings left out (larger bodies: one alert is three levels)."""
    depth = deepest = 0
    for bracket in _STRING.sub(b"", raw).translate(None, _NOT_BRACKETS):
        if bracket in (0x5B, 0x7B):  # [ {
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


_NOT_BRACKETS = bytes(byte for byte in range(256) if byte not in b"[]{}")


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
