"""Alert ingestion under wrk: webhooks/s and latency of the bot beside a bare aiohttp handler, same run.

Every party is its own process on 127.0.0.1: wrk (Debian's, the load generator, not Python), a bare
aiohttp handler that reads and json-parses the same body and answers 202 (bench/_bare_handler.py,
the anchor of the ratio), the Slack stand-in (`python -m slack_standin`), and `python -m bot` on a
fresh SQLite file (on disk, WAL) or a fresh database of a throw-away PostgreSQL server
(tests/support/postgres.py: fsync off, as in the test suite). Each webhook is an Alertmanager
notification of two firing alerts whose fingerprints no other request shares
(bench/wrk_alertmanager.lua), in two shapes: `distinct` (every alert its own name, so its own
issue) and `storm` (every alert one name, so all join one grouped issue).

Per database and shape: a short warm-up, then `--seconds` of load, each against the bare handler
and against the bot. A 202 means the body is committed; the processor turns stored bodies into
alerts and issues behind it (handlers/alerts/processor.py), so the script then waits until every
stored webhook is processed ("done +s": seconds after the load ended; "proc/s": webhooks of the run
over the load's time plus that) and counts the alert rows. The count must be twice the 2xx
responses, plus at most two per request still in flight when wrk stopped (sent, not counted by
wrk); any other count, and any non-2xx answer or socket error, is printed as a failure and makes
the script exit 1.

    .venv/bin/python bench/ingest_wrk.py [--seconds 10] [--connections 32] [--databases sqlite,postgresql]
                                          [--shapes distinct,storm] [--rev REV ...]

`--rev REV` also runs the bot as of git revision REV (its tree exported to a temp dir) in the same
run, for before/after figures. `make bench` installs wrk (scripts/ensure-system-deps.sh wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.support.processes import HOST, ServerError, ServerProcess  # noqa: E402

LUA_SCRIPT = ROOT / "bench" / "wrk_alertmanager.lua"
BARE_HANDLER = ROOT / "bench" / "_bare_handler.py"
BOT_TOKEN = "xoxb-bench"
WEBHOOK_TOKEN = "bench-webhook-token"
SIGNING_SECRET = "bench-signing-secret"
ALERTS_PER_REQUEST = 2
WARM_UP_SECONDS = 2.0
SETTLE_SECONDS = 180.0  # how long processing may take to catch up after wrk stops


# -- wrk ----------------------------------------------------------------------------------------


@dataclass
class WrkRun:
    rps: float
    completed: int
    sent: int
    non_2xx: int
    socket_errors: int
    percentiles_ms: dict[str, float]
    drained_after: float = 0.0  # seconds after the load until every stored webhook was processed
    seconds: float = 0.0

    @property
    def processed_rps(self) -> float:
        """Webhooks processed (not just stored) a second: the load's, over its time plus the catching up."""
        return self.completed / (self.seconds + self.drained_after) if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.completed - self.non_2xx


_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()  # type: ignore[union-attr]
    return float(number) * _UNITS_MS[unit]


def parse_wrk(output: str) -> WrkRun:
    """Requests/sec, the --latency distribution, Non-2xx and socket errors from wrk's report."""
    rps = re.search(r"^Requests/sec:\s+([\d.]+)", output, re.M)
    completed = re.search(r"^\s+(\d+) requests in ", output, re.M)
    bench_line = re.search(r"^bench: sent=(\d+)", output, re.M)
    if not (rps and completed and bench_line):
        raise RuntimeError(f"could not read wrk's report:\n{output}")
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output)
    distribution = output.split("Latency Distribution", 1)[-1]
    percentiles = {p: _ms(v) for p, v in re.findall(r"^\s+(\d+)%\s+([\d.]+\w+)", distribution, re.M)}
    return WrkRun(
        rps=float(rps.group(1)),
        completed=int(completed.group(1)),
        sent=int(bench_line.group(1)),
        non_2xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=sum(int(n) for n in errors.groups()) if errors else 0,
        percentiles_ms=percentiles,
    )


_run_numbers = iter(range(1, 1 << 30))


def run_wrk(url: str, shape: str, *, seconds: float, connections: int, threads: int, token: str = "") -> WrkRun:
    """One wrk run; each gets a number of its own, part of its fingerprints, so no two runs repeat an alert."""
    command = [
        "wrk", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency", "--timeout", "10s",
        "-s", str(LUA_SCRIPT), url, "--", shape, token, str(next(_run_numbers)),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60)
    if result.returncode != 0:
        raise RuntimeError(f"wrk failed ({result.returncode}): {result.stderr or result.stdout}")
    run = parse_wrk(result.stdout)
    run.seconds = max(1, round(seconds))
    return run


# -- the processes ------------------------------------------------------------------------------


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("PG", "SLACK_", "DATABASE_", "OPSBOT_"))}
    return {**keep, **extra}


def start_bare_handler() -> ServerProcess:
    server = ServerProcess("bare aiohttp handler", start_timeout=20)
    server.make_directory("opsbot-bench-bare-")
    server.start(
        lambda port: [sys.executable, str(BARE_HANDLER), "--port", str(port)],
        ready=lambda port: _port_open(port),
        env=_clean_env(),
    )
    return server


def _port_open(port: int) -> bool:
    import socket

    with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=0.5):
        return True
    return False


def start_standin() -> ServerProcess:
    server = ServerProcess("Slack stand-in", start_timeout=20)
    server.make_directory("opsbot-bench-slack-")
    server.start(
        lambda port: [sys.executable, "-m", "slack_standin", "--port", str(port), "--token", BOT_TOKEN,
                      "--channels", "alerts,help-desk,ops-managers"],
        ready=lambda port: _port_open(port),
        env=_clean_env(PYTHONPATH=str(ROOT)),
    )
    return server


def start_bot(database_url: str | None, slack_api_url: str, *, source: Path) -> ServerProcess:
    """`python -m bot` from `source` (this checkout, or an exported revision); SQLite in its own directory."""
    server = ServerProcess("opsbot", start_timeout=60)
    directory = server.make_directory("opsbot-bench-bot-")
    url = database_url or f"sqlite+aiosqlite:///{directory}/bench.db"
    server.database_url = url  # type: ignore[attr-defined]
    env = _clean_env(
        PYTHONPATH=str(source), SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        ALERT_WEBHOOK_TOKEN=WEBHOOK_TOKEN, SLACK_API_URL=slack_api_url, DATABASE_URL=url, HOST=HOST,
    )  # fmt: skip  (LOG_LEVEL left at its default, as deployed)
    server.start(
        lambda port: ["env", f"PORT={port}", sys.executable, "-m", "bot"],
        ready=lambda port: _answers(f"http://{HOST}:{port}/healthz"),
        env=env,
    )
    return server


@contextlib.contextmanager
def exported(rev: str) -> Iterator[Path]:
    """The tree of git revision `rev` in a temp dir (git archive: the repository itself is not touched)."""
    directory = Path(tempfile.mkdtemp(prefix="opsbot-bench-rev-"))
    try:
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", rev],
                                 capture_output=True, check=True).stdout
        with tarfile.open(fileobj=__import__("io").BytesIO(archive)) as tar:
            tar.extractall(directory, filter="data")
        yield directory
    finally:
        shutil.rmtree(directory, ignore_errors=True)


# -- counting what was stored -------------------------------------------------------------------


def _query(database_url: str, postgres: object | None, sql: str) -> int:
    if database_url.startswith("sqlite"):
        path = database_url.split(":///", 1)[1]
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)) as connection:
            return int(connection.execute(sql).fetchone()[0])
    name = database_url.rsplit("/", 1)[1]
    return int(postgres.run_sql(sql, database=name))  # type: ignore[attr-defined]


def count_alerts(database_url: str, postgres: object | None) -> int:
    return _query(database_url, postgres, "SELECT count(*) FROM alerts")


def waiting_webhooks(database_url: str, postgres: object | None) -> int:
    """Webhooks stored but not processed yet (0 for a revision that processed before answering)."""
    try:
        return _query(database_url, postgres, "SELECT count(*) FROM received_webhooks WHERE status != 'parked'")
    except Exception:  # noqa: BLE001 - no such table: that revision had no processor
        return 0


def settled_count(database_url: str, postgres: object | None) -> tuple[int, float]:
    """The alert count once every stored webhook is processed and it stops moving, and how many
    seconds after the load ended processing finished."""
    started = time.monotonic()
    deadline = started + SETTLE_SECONDS
    last = count_alerts(database_url, postgres)
    while time.monotonic() < deadline:
        time.sleep(0.3)
        now = count_alerts(database_url, postgres)
        if now == last and not waiting_webhooks(database_url, postgres):
            return now, time.monotonic() - started
        last = now
    return last, time.monotonic() - started


# -- one measurement ----------------------------------------------------------------------------


@dataclass
class Row:
    database: str
    shape: str
    bot: str
    bare: WrkRun
    run: WrkRun
    problems: list[str]


def measure_bot(
    label: str, database: str, shape: str, bare: WrkRun, args: argparse.Namespace, *, source: Path,
    standin_api: str, postgres: object | None, database_number: int,
) -> Row:
    database_url = None
    if postgres is not None:
        database_url = postgres.create_database(f"bench_{database_number}")  # type: ignore[attr-defined]
    bot = start_bot(database_url, standin_api, source=source)
    problems: list[str] = []
    try:
        url = f"http://{HOST}:{bot.port}/webhooks/alertmanager"
        load = dict(connections=args.connections, threads=args.threads, token=WEBHOOK_TOKEN)
        warm = run_wrk(url, shape, seconds=WARM_UP_SECONDS, **load)
        run = run_wrk(url, shape, seconds=args.seconds, **load)
        stored, run.drained_after = settled_count(bot.database_url, postgres)  # type: ignore[attr-defined]
        for name, part in (("warm-up", warm), ("run", run)):
            if part.non_2xx or part.socket_errors:
                problems.append(f"{name}: {part.non_2xx} non-2xx, {part.socket_errors} socket errors")
        ok, sent = warm.ok + run.ok, warm.sent + run.sent
        if not ALERTS_PER_REQUEST * ok <= stored <= ALERTS_PER_REQUEST * sent:
            problems.append(
                f"{stored} alerts stored for {ok} requests answered 2xx ({sent} sent): "
                f"expected {ALERTS_PER_REQUEST * ok}..{ALERTS_PER_REQUEST * sent}"
            )
        else:
            run.stored_check = f"{stored} = 2x{ok} ok + {stored - ALERTS_PER_REQUEST * ok} in flight"  # type: ignore[attr-defined]
        if problems:
            problems.append("bot log tail:\n" + bot.log_tail(15))
    finally:
        bot.stop()
    return Row(database, shape, label, bare, run, problems)


def print_table(rows: list[Row], args: argparse.Namespace) -> None:
    print(f"\nwrk -t{args.threads} -c{args.connections} -d{args.seconds:g}s, {ALERTS_PER_REQUEST} alerts a webhook, "
          f"{os.cpu_count()} cores; bot and bare handler each measured right after the other\n")
    header = (f"{'database':10s} {'shape':8s} {'bot':12s} {'bare req/s':>10s} {'bot req/s':>9s} {'ratio':>6s} "
              f"{'alerts/s':>8s} {'p50 ms':>7s} {'p99 ms':>7s} {'bare p99':>8s} {'done +s':>7s} {'proc/s':>6s}  stored")
    print(header)
    print("-" * len(header))
    for row in rows:
        p = row.run.percentiles_ms
        check = "FAILED" if row.problems else getattr(row.run, "stored_check", "")
        print(f"{row.database:10s} {row.shape:8s} {row.bot:12s} {row.bare.rps:10.0f} {row.run.rps:9.0f} "
              f"{row.run.rps / row.bare.rps:6.1%} {row.run.rps * ALERTS_PER_REQUEST:8.0f} {p.get('50', 0):7.1f} "
              f"{p.get('99', 0):7.1f} {row.bare.percentiles_ms.get('99', 0):8.1f} {row.run.drained_after:7.1f} "
              f"{row.run.processed_rps:6.0f}  {check}")
    for row in rows:
        for problem in row.problems:
            print(f"!! {row.database} {row.shape} {row.bot}: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--shapes", default="distinct,storm")
    parser.add_argument("--rev", action="append", default=[], help="also measure the bot as of this git revision")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("bench/ingest_wrk.py: wrk not found; install it with scripts/ensure-system-deps.sh wrk", file=sys.stderr)
        return 1
    databases = [d for d in args.databases.split(",") if d]
    shapes = [s for s in args.shapes.split(",") if s]
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        sources = [("working tree", ROOT)]
        for rev in args.rev:
            short = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", rev], capture_output=True,
                                   text=True, check=True).stdout.strip()
            sources.append((f"@{short}", stack.enter_context(exported(rev))))
        bare_server = start_bare_handler()
        stack.callback(bare_server.stop)
        standin = start_standin()
        stack.callback(standin.stop)
        standin_api = f"http://{HOST}:{standin.port}/api/"
        bare_url = f"http://{HOST}:{bare_server.port}/webhooks/alertmanager"
        number = 0
        for database in databases:
            postgres = None
            if database == "postgresql":
                from tests.support.postgres import PostgresServer

                postgres = PostgresServer()
                postgres.start()
                stack.callback(postgres.stop)
            for shape in shapes:
                for label, source in sources:
                    number += 1
                    run_wrk(bare_url, shape, seconds=WARM_UP_SECONDS, connections=args.connections, threads=args.threads)
                    bare = run_wrk(bare_url, shape, seconds=args.seconds, connections=args.connections,
                                   threads=args.threads)
                    row = measure_bot(label, database, shape, bare, args, source=source, standin_api=standin_api,
                                      postgres=postgres, database_number=number)
                    rows.append(row)
                    print(f"{database} {shape} {label}: bare {bare.rps:.0f} req/s, bot {row.run.rps:.0f} req/s "
                          f"(p99 {row.run.percentiles_ms.get('99', 0):.1f} ms)", flush=True)
    print_table(rows, args)
    return 1 if any(row.problems for row in rows) else 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except ServerError as error:
        print(f"bench/ingest_wrk.py: {error}", file=sys.stderr)
        sys.exit(1)
