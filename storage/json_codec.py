"""How JSON columns are written and read: orjson, with the standard library for what orjson refuses.

Every alert stored carries three JSON columns (labels, annotations, an event's payload) and its
issue an outbox payload; with the standard `json` module their encoding was the largest single
cost of an alert group commit after the statements themselves (issue 13). orjson (a maintained,
widely used C/Rust codec) writes the same values several times faster. What it refuses, the
standard library still takes as before: integers past 64 bits (webhooks may carry them, up to
Python's 4,300-digit limit), non-finite floats, and keys that are not strings. Output differs
only in whitespace, and nothing compares stored JSON as text.
"""

from __future__ import annotations

import json
from typing import Any

import orjson


def dumps(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except (TypeError, orjson.JSONEncodeError):
        return json.dumps(value)


def loads(text: str | bytes) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
