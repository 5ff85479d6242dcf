"""`python -m bot` with no Slack credentials: starts locally, says how to fire a sample, and it works."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_loopback = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _read_until(process: subprocess.Popen[str], pattern: str, timeout: float = 30) -> str:
    seen = ""
    deadline = time.monotonic() + timeout
    assert process.stdout is not None
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            if process.poll() is not None:
                break
            continue
        seen += line
        if re.search(pattern, seen):
            return seen
    raise AssertionError(f"never printed {pattern!r}; output so far:\n{seen}")


def test_local_mode_starts_without_credentials_and_the_printed_command_works(tmp_path: Path) -> None:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALERT_WEBHOOK", "OPSBOT_"))}
    env.update({"PORT": str(port), "HOST": "127.0.0.1", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/local.db"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        banner = _read_until(process, r"webhooks/alertmanager\n")
        assert "LOCAL MODE" in banner
        standin_url = re.search(r"Slack stand-in:\s+(http://127\.0\.0\.1:\d+)/", banner).group(1)
        command = re.search(r"curl .*", banner).group(0)
        token = re.search(r"Bearer ([^']+)'", command).group(1)
        sample = re.search(r"--data @(\S+)", command).group(1)

        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/webhooks/alertmanager",
            data=Path(sample).read_bytes(),
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        with _loopback.open(request, timeout=10) as response:
            assert response.status == 202

        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with _loopback.open(f"{standin_url}/api/_messages", timeout=5) as response:
                channels = json.load(response)["channels"]
            messages = [m for c in channels for m in c["messages"]]
            if messages:
                break
            time.sleep(0.1)
        assert messages and "High 5xx error rate on checkout-1" in messages[0]["text"]
        with _loopback.open(f"{standin_url}/", timeout=5) as response:
            assert "High 5xx error rate" in response.read().decode()
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)
    assert process.returncode == 0


def test_invalid_setting_stops_start_up_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "PORT": "eighty", "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/x.db"}
    result = subprocess.run([sys.executable, "-m", "bot"], cwd=REPO, env=env, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == ["opsbot: invalid setting PORT: Input should be a valid integer, unable to parse string as an integer"]
