"""What `POST /webhooks/parked/requeue` accepts: nothing (all), or `{"ids": [...]}`; anything else a 4xx."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from handlers.alerts.bodies import BodyRefused
from handlers.parked.routes import parse_requeue_body


@pytest.mark.parametrize("body", [b"", b"  \n", b"{}", b'{"ids": null}'])
def test_no_ids_means_every_parked_webhook(body: bytes) -> None:
    assert parse_requeue_body(body) is None


def test_ids_are_taken_as_given() -> None:
    assert parse_requeue_body(b'{"ids": [3, 1]}') == [3, 1]
    assert parse_requeue_body(b'{"ids": []}') == []


@pytest.mark.parametrize(
    "body, status",
    [
        (b"{", 400),
        (b"[" * 100_000, 400),  # nesting past the recursion limit
        (b'{"ids": [' + b"9" * 5000 + b"]}", 400),  # past Python's int digits limit
        (b"[1, 2]", 422),
        (b'{"ids": "1"}', 422),
        (b'{"ids": [1.0]}', 422),
        (b'{"ids": [true]}', 422),
        (b'{"ids": [0]}', 422),
        (b'{"ids": [9223372036854775808]}', 422),  # past a 64-bit id
        (b'{"ids": [1], "all": true}', 422),
        (json.dumps({"ids": list(range(1, 1002))}).encode(), 422),
    ],
)
def test_anything_else_is_refused_with_a_4xx(body: bytes, status: int) -> None:
    with pytest.raises(BodyRefused) as refused:
        parse_requeue_body(body)
    assert refused.value.status == status


@settings(max_examples=300, deadline=None, derandomize=True)
@given(st.one_of(st.binary(max_size=256), st.recursive(st.none() | st.booleans() | st.integers() | st.text(),
                                                        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner))
                 .map(lambda value: json.dumps({"ids": value}).encode())))
def test_no_body_raises_anything_but_a_refusal(body: bytes) -> None:
    try:
        ids = parse_requeue_body(body)
    except BodyRefused as refused:
        assert refused.status in (400, 422)
    else:
        assert ids is None or all(type(i) is int and i > 0 for i in ids)
