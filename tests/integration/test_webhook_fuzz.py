"""Hypothesis-generated bodies against every alert webhook, over real HTTP on loopback, on SQLite and PostgreSQL.

What must hold for any body: the answer is a 2xx or a 4xx (with the database up, a 503 would mean
a body the sender retries for ever, so it fails here too), and a refused body leaves the
database as it was (rows in received_webhooks, alerts, issues, issue_events and outbox counted before
and after), and an accepted body is processed, not parked (asked with `Prefer: return=representation`).
Well-formed alerts carrying hostile text must be accepted and stored without NUL or surrogates.

One bot per test function, not per example. Hypothesis runs in a worker thread (its examples are
synchronous) and hands each request to the test's event loop, where the bot and the Slack
stand-in run. `derandomize=True` makes every run, in CI too, try the same bodies.
"""

from __future__ import annotations

import asyncio
import copy
import json
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from sqlalchemy import select, text

from handlers.alerts.webhooks import MAX_BODY_BYTES
from storage.models import Alert
from tests.harness import FIXTURES, RunningBot, fixture_json

ENDPOINTS = ("alertmanager", "grafana", "generic")
FIXTURE_NAMES = sorted(
    path.name
    for pattern in ("alertmanager_real_*.json", "grafana_webhook_*.json")
    for path in FIXTURES.glob(pattern)
    if path.name != "alertmanager_real_request_headers.json"  # headers Alertmanager sent, not a body
)
FIXTURE_BODIES = [fixture_json(name) for name in FIXTURE_NAMES]
FIXTURE_BYTES = [(FIXTURES / name).read_bytes() for name in FIXTURE_NAMES]


def fuzz_settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,  # the same bodies on every run and machine
        database=None,  # nothing saved between runs: CI and laptops see the same thing
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    )


# -- strategies -------------------------------------------------------------------------------------

HOSTILE_PIECES = [
    "\x00", "\ud800", "\udfff", "\ud83d", "a\x00b", "\ufffd", "\u202e", "\U0001f525", "\\", '"', "\n",
    "<!channel>", "*bold*", "`", "%s", "{{ x }}", "\u0000\u0000", "é", "\u200b",
]
LOW_SURROGATES = st.integers(0xD800, 0xDFFF).map(chr)
hostile_text = st.lists(
    st.one_of(st.text(max_size=12), st.sampled_from(HOSTILE_PIECES), LOW_SURROGATES), max_size=6
).map("".join)
long_text = st.integers(100, 3000).map(lambda n: "x" * n)  # past the fingerprint, alertname and title columns
any_text = st.one_of(hostile_text, long_text)
huge_integers = st.integers(min_value=-(10**60), max_value=10**60)
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), huge_integers, st.floats(allow_nan=True, allow_infinity=True), any_text
)
json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(hostile_text, children, max_size=4),
    max_leaves=16,
)
TIMES = [
    "2026-11-22T04:49:22Z", "2026-11-22T04:49:22.123456789+05:30", "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z", "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2024-02-30T00:00:00Z",
    "", "now", "2026-11-22", "1e20", 1e20, -1, 0, 10**30, None,
]
odd_values = st.one_of(json_values, st.sampled_from(TIMES), any_text)


def encode(value: Any, ascii_only: bool) -> bytes:
    """JSON as senders write it: \\u escapes, or raw UTF-8 (surrogates then as their 3-byte forms)."""
    return json.dumps(value, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")


def _containers(value: Any) -> list[Any]:
    found, pending = [], [value]
    while pending:
        item = pending.pop()
        if isinstance(item, (dict, list)):
            found.append(item)
            pending.extend(item.values() if isinstance(item, dict) else item)
    return found


@st.composite
def mutated_fixtures(draw: st.DrawFn) -> Any:
    """A real Alertmanager or Grafana body with one to four edits anywhere in it."""
    body = copy.deepcopy(draw(st.sampled_from(FIXTURE_BODIES)))
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(body)
        target = containers[draw(st.integers(0, len(containers) - 1))]
        keys = list(target) if isinstance(target, dict) else list(range(len(target)))
        action = draw(st.sampled_from(["replace", "delete", "add", "replace"] if keys else ["add"]))
        if action == "add":
            if isinstance(target, dict):
                target[draw(hostile_text)] = draw(odd_values)
            else:
                target.append(draw(odd_values))
        else:
            key = draw(st.sampled_from(keys))
            if action == "delete":
                del target[key]
            else:
                target[key] = draw(odd_values)
    return body


@st.composite
def deep_nesting(draw: st.DrawFn) -> bytes:
    depth = draw(st.sampled_from([33, 100, 990, 1100, 5000, 60_000]))
    opener, closer = draw(st.sampled_from([(b"[", b"]"), (b'{"a":', b"}"), (b'[{"a":', b"}]")]))
    nested = opener * depth + b"1" + closer * depth
    inside = draw(st.sampled_from([b"%s", b'{"alerts": [{"status": "firing", "labels": {"a": %s}}]}',
                                   b'{"title": "t", "labels": %s}']))
    return inside.replace(b"%s", nested)


@st.composite
def huge_numbers(draw: st.DrawFn) -> bytes:
    digits = draw(st.sampled_from([19, 20, 40, 4300, 4301, 10_000]))
    number = draw(st.sampled_from([b"", b"-"])) + b"9" * digits + draw(st.sampled_from([b"", b".5", b"e999"]))
    template = draw(st.sampled_from([
        b"%s", b'{"alerts": [], "truncatedAlerts": %s}', b'{"title": %s}', b'{"title": "t", "labels": {"n": %s}}',
        *_number_slots(draw(st.sampled_from(FIXTURE_BYTES))),
    ]))
    return template.replace(b"%s", number)


def _number_slots(raw: bytes) -> list[bytes]:
    """A real body with its truncatedAlerts, or its first startsAt, or a label value made a slot for a number."""
    slots = [
        re.sub(rb'"truncatedAlerts":\s*\d+', b'"truncatedAlerts":%s', raw),
        re.sub(rb'"startsAt":\s*"[^"]*"', b'"startsAt":%s', raw, count=1),
        re.sub(rb'"severity":\s*"[^"]*"', b'"severity":%s', raw, count=1),
    ]
    return [slot for slot in slots if b"%s" in slot]


@st.composite
def damaged_fixture_bytes(draw: st.DrawFn) -> bytes:
    raw = bytearray(draw(st.sampled_from(FIXTURE_BYTES)))
    for _ in range(draw(st.integers(1, 3))):
        where = draw(st.integers(0, len(raw) - 1))
        if draw(st.booleans()):
            raw[where] = draw(st.integers(0, 255))
        else:
            del raw[where:]
            break
    return bytes(raw)


@st.composite
def hostile_prometheus_alerts(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed Alertmanager/Grafana notification whose every string may be hostile."""
    alerts = []
    for _ in range(draw(st.integers(1, 3))):
        alert: dict[str, Any] = {
            "status": draw(st.sampled_from(["firing", "resolved"])),
            "labels": {"alertname": draw(any_text), **draw(st.dictionaries(hostile_text, any_text, max_size=4))},
            "annotations": draw(st.dictionaries(hostile_text, any_text, max_size=4)),
            "startsAt": draw(st.sampled_from(TIMES[:4])),
            "endsAt": draw(st.sampled_from(TIMES[:4])),
        }
        for key in ("fingerprint", "generatorURL", "dashboardURL", "panelURL", "silenceURL"):
            if draw(st.booleans()):
                alert[key] = draw(any_text)
        alerts.append(alert)
    body: dict[str, Any] = {"alerts": alerts, "truncatedAlerts": draw(st.integers(0, 2**31 - 1))}
    for key in ("receiver", "groupKey", "externalURL"):
        if draw(st.booleans()):
            body[key] = draw(any_text)
    body["commonLabels"] = draw(st.dictionaries(hostile_text, any_text, max_size=3))
    return body


@st.composite
def hostile_generic_alerts(draw: st.DrawFn) -> dict[str, Any]:
    alert: dict[str, Any] = {"title": draw(st.one_of(hostile_text, long_text).filter(bool))}
    for key in ("dedup_key", "severity", "description", "service", "category"):
        if draw(st.booleans()):
            alert[key] = draw(any_text)
    alert["status"] = draw(st.sampled_from(["firing", "resolved", "OK", " Triggered "]))
    alert["labels"] = draw(st.dictionaries(hostile_text, any_text, max_size=4))
    alert["links"] = draw(st.dictionaries(st.sampled_from(["runbook", "source", "url", "x\x00"]), any_text, max_size=2))
    return alert


# -- running examples against the bot ---------------------------------------------------------------


class Prober:
    """Posts bodies from hypothesis's thread on the bot's event loop; checks the answer and the database."""

    def __init__(self, bot: RunningBot, loop: asyncio.AbstractEventLoop) -> None:
        self._bot = bot
        self._loop = loop
        self.statuses: Counter[tuple[str, int]] = Counter()

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=120)

    async def _row_counts(self) -> tuple[int, ...]:
        async with self._bot.opsbot.sessionmaker() as session:
            row = await session.execute(
                text(
                    "SELECT (SELECT count(*) FROM alerts), (SELECT count(*) FROM issues),"
                    " (SELECT count(*) FROM issue_events), (SELECT count(*) FROM outbox),"
                    " (SELECT count(*) FROM received_webhooks)"
                )
            )
            return tuple(row.one())

    def post(self, source: str, raw: bytes) -> int:
        """Post `raw`; assert a 2xx or 4xx, and for anything but 202 that nothing was written."""
        before = self._run(self._row_counts())
        status, answer = self._run(self._bot.post_webhook(source, None, raw=raw))
        note(f"{source} -> {status} {str(answer)[:300]}")
        self.statuses[(source, status)] += 1
        assert 200 <= status < 300 or 400 <= status < 500, f"{source}: {status} {answer}"
        if status == 202:
            assert answer["processed"] is True, f"{source}: accepted but not processed: {answer}"
        else:
            assert isinstance(answer, dict) and answer.get("error"), answer  # a 4xx names the problem
            assert self._run(self._row_counts()) == before, "a refused body changed the database"
        return status

    def report(self, name: str) -> None:
        by_status = Counter(status for (_, status) in self.statuses.elements())
        print(f"\n{name}: {sum(self.statuses.values())} bodies, statuses {dict(sorted(by_status.items()))}")


async def _fuzz(bot: RunningBot, name: str, run: Callable[[Prober], None]) -> Prober:
    prober = Prober(bot, asyncio.get_running_loop())
    await asyncio.to_thread(run, prober)
    prober.report(name)
    return prober


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


async def test_random_json_and_bytes_get_2xx_or_4xx_and_refusals_write_nothing(bot: RunningBot) -> None:
    bodies = st.one_of(
        st.tuples(json_values, st.booleans()).map(lambda pair: encode(*pair)),
        st.binary(max_size=512),
        deep_nesting(),
        huge_numbers(),
        damaged_fixture_bytes(),
        st.sampled_from([b" " * (MAX_BODY_BYTES + 1), b"[" + b"1," * (MAX_BODY_BYTES // 2) + b"1]"]),
    )

    def run(prober: Prober) -> None:
        @fuzz_settings(examples=800)
        @given(source=st.sampled_from(ENDPOINTS), raw=bodies)
        def example(source: str, raw: bytes) -> None:
            prober.post(source, raw)

        example()

    prober = await _fuzz(bot, "random JSON and bytes", run)
    assert {source for source, _ in prober.statuses} == set(ENDPOINTS)


async def test_mutated_real_bodies_get_2xx_or_4xx_and_refusals_write_nothing(bot: RunningBot) -> None:
    def run(prober: Prober) -> None:
        @fuzz_settings(examples=600)
        @given(source=st.sampled_from(ENDPOINTS), body=mutated_fixtures(), ascii_only=st.booleans())
        def example(source: str, body: Any, ascii_only: bool) -> None:
            prober.post(source, encode(body, ascii_only))

        example()

    prober = await _fuzz(bot, "mutated real bodies", run)
    assert prober.statuses[("alertmanager", 202)] and prober.statuses[("grafana", 202)]  # mutations left some valid


async def test_well_formed_alerts_with_hostile_text_are_all_stored(bot: RunningBot) -> None:
    def run(prober: Prober) -> None:
        @fuzz_settings(examples=300)
        @given(
            case=st.one_of(
                st.tuples(st.sampled_from(["alertmanager", "grafana"]), hostile_prometheus_alerts()),
                st.tuples(st.just("generic"), hostile_generic_alerts()),
            ),
            ascii_only=st.booleans(),
        )
        def example(case: tuple[str, dict[str, Any]], ascii_only: bool) -> None:
            source, body = case
            assert prober.post(source, encode(body, ascii_only)) == 202

        example()

    await _fuzz(bot, "well-formed alerts with hostile text", run)
    async with bot.opsbot.sessionmaker() as session:
        alerts = list((await session.execute(select(Alert))).scalars())
    assert alerts
    for alert in alerts:
        stored = json.dumps([alert.fingerprint, alert.alertname, alert.labels, alert.annotations, alert.group_key],
                            ensure_ascii=False)
        assert not _UNSTORABLE.search(stored), stored[:300]
        assert len(alert.fingerprint) <= 128
