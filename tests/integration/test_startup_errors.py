"""A newcomer's start-up mistakes end `python -m bot` with one line naming the setting, exit code 2, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSWORD = "s3cret-never-shown"


def run_bot(tmp_path: Path, **settings: str) -> tuple[int, list[str], str]:
    """Local mode (no Slack token), stand-in on any free port: (exit code, the opsbot lines, all it wrote)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ALERT_WEBHOOK", "OPSBOT_", "KB_"))}
    env.update({
        "HOST": "127.0.0.1", "PORT": "0", "SLACK_STANDIN_PORT": "0",
        "DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'opsbot.db'}", **settings,
    })  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bot"], cwd=REPO, env=env, capture_output=True, text=True, timeout=60)
    output = done.stdout + done.stderr
    return done.returncode, [line for line in done.stderr.splitlines() if line.startswith("opsbot:")], output


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # closed again when the block ends: nothing listens there


def assert_one_line(code: int, lines: list[str], output: str, expected: str) -> None:
    assert code == 2, output
    assert lines == [expected], output
    assert "Traceback" not in output


def test_an_unreachable_database_names_host_and_database_but_not_the_password(tmp_path: Path) -> None:
    port = closed_port()
    url = f"postgresql+asyncpg://opsbot:{PASSWORD}@127.0.0.1:{port}/opsbot_prod"
    code, lines, output = run_bot(tmp_path, DATABASE_URL=url)
    assert code == 2 and len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith(f"opsbot: invalid setting DATABASE_URL: cannot reach database 'opsbot_prod' on 127.0.0.1:{port}: ")
    assert PASSWORD not in output


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, lines, output = run_bot(tmp_path, PORT=str(port))
    assert_one_line(code, lines, output, f"opsbot: invalid setting PORT: cannot listen on 127.0.0.1:{port}: already in use")


def test_a_bad_log_level_is_one_line(tmp_path: Path) -> None:
    code, lines, output = run_bot(tmp_path, LOG_LEVEL="verbose")
    assert_one_line(
        code, lines, output, "opsbot: invalid setting LOG_LEVEL: 'verbose' is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL"
    )


@pytest.mark.parametrize("folder", ["missing", "a-file-not-a-folder/kb"])
def test_an_unreadable_knowledge_base_folder_is_one_line(tmp_path: Path, folder: str) -> None:
    (tmp_path / "a-file-not-a-folder").write_text("x")
    path = tmp_path / folder
    code, lines, output = run_bot(tmp_path, KB_PATHS=str(path))
    assert code == 2 and len(lines) == 1 and "Traceback" not in output, output
    assert lines[0].startswith(f"opsbot: invalid setting KB_PATHS: cannot read {path}: ")


def test_a_sqlite_file_that_cannot_be_opened_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "folder.db").mkdir()
    code, lines, output = run_bot(tmp_path, DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'folder.db'}")
    assert_one_line(
        code, lines, output,
        f"opsbot: invalid setting DATABASE_URL: cannot reach the SQLite file {tmp_path / 'folder.db'}: unable to open database file",
    )  # fmt: skip
