"""decode_json: storable strings everywhere, depth bounded without recursion, every failure an UnsafeBody."""

from __future__ import annotations

import json

import pytest

from handlers.alerts.parsers import PayloadError, parse_alertmanager, parse_generic
from handlers.alerts.sanitising import MAX_DEPTH, UnsafeBody, decode_json, storable


def test_nul_and_lone_surrogates_become_replacement_characters_in_keys_and_values() -> None:
    raw = json.dumps({"a\x00": ["x\ud800y", {"\udfff": "\x00"}], "ok": "\U0001f525 é"}).encode()
    assert decode_json(raw) == {"a\ufffd": ["x\ufffdy", {"\ufffd": "\ufffd"}], "ok": "\U0001f525 é"}


def test_a_valid_surrogate_pair_is_kept_as_the_character_it_encodes() -> None:
    assert decode_json(b'"\\ud83d\\udd25"') == "\U0001f525"


def test_order_and_non_text_values_are_kept() -> None:
    value = [3, 1.5, None, True, {"b": 1, "a": 2}, [], {}]
    assert storable(value) == value and list(storable(value)[4]) == ["b", "a"]


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 100_000])
def test_nesting_past_the_limit_is_refused_however_deep(depth: int) -> None:
    with pytest.raises(UnsafeBody, match="nested deeper than"):
        decode_json(b"[" * depth + b"]" * depth)


def test_nesting_at_the_limit_is_accepted() -> None:
    assert decode_json(b"[" * MAX_DEPTH + b"]" * MAX_DEPTH) is not None


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"9" * 5000, "digits"),
        (b"{not json", "malformed JSON"),
        (b"\xff\xfe\x00garbage", "malformed JSON"),
        (b'"\xff"', "malformed JSON"),
        (b"", "malformed JSON"),
    ],
)
def test_failures_name_the_problem(raw: bytes, problem: str) -> None:
    with pytest.raises(UnsafeBody, match=problem):
        decode_json(raw)


def test_a_long_fingerprint_keeps_a_prefix_and_stays_distinct_and_stable() -> None:
    def fingerprint(key: str) -> str:
        return parse_generic({"title": "t", "dedup_key": key}).alerts[0].fingerprint

    first, second = fingerprint("k/" + "a" * 300), fingerprint("k/" + "a" * 299 + "b")
    assert len(first) == len(second) == 128 and first.startswith("k/aaa")
    assert first != second and fingerprint("k/" + "a" * 300) == first


def test_counts_and_times_out_of_range_name_their_field() -> None:
    body = {"alerts": [{"status": "firing", "labels": {}, "startsAt": "2026-01-01T00:00:00Z"}]}
    with pytest.raises(PayloadError, match="truncatedAlerts"):
        parse_alertmanager({**body, "truncatedAlerts": 2**31})
    late = {"alerts": [{**body["alerts"][0], "startsAt": "9999-12-31T23:59:59-23:59"}]}
    with pytest.raises(PayloadError, match="startsAt"):
        parse_alertmanager(late)
