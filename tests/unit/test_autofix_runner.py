"""The step runner with real processes: no shell, an environment allow-list, capped output, group kill."""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
import time
from pathlib import Path

from handlers.autofix.params import PlannedCommand, PlannedManual
from handlers.autofix.runner import OUTPUT_KEPT_BYTES, StepRunner, StepStatus


def _command(*argv: str, timeout: float = 10, env: tuple[str, ...] = (), cwd: str | None = None) -> PlannedCommand:
    return PlannedCommand(name="step", argv=(sys.executable, *argv), cwd=cwd, env_names=env, timeout=timeout)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie waiting for its parent counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1][0] != "Z"
    except (FileNotFoundError, IndexError):
        return False


async def test_arguments_are_passed_verbatim_without_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    script = "import sys, pathlib; pathlib.Path(sys.argv[1]).write_text(sys.argv[2]); print('wrote', sys.argv[2])"
    outcome = await StepRunner({"PATH": os.defpath}).run(_command("-c", script, str(marker), "$(id); `id` *"))
    assert outcome.status == StepStatus.OK and outcome.detail == "exit 0"
    assert marker.read_text() == "$(id); `id` *"  # no shell ever saw it
    assert "wrote $(id); `id` *" in outcome.output


async def test_only_path_and_named_variables_reach_the_program(tmp_path: Path) -> None:
    environ = {"PATH": "/usr/bin:/bin", "KUBECONFIG": "/etc/kube", "SLACK_BOT_TOKEN": "xoxb-secret"}
    script = "import os, json; print(json.dumps(dict(os.environ), sort_keys=True))"
    outcome = await StepRunner(environ).run(_command("-c", script, env=("KUBECONFIG", "MISSING"), cwd=str(tmp_path)))
    assert outcome.passed
    assert '"KUBECONFIG": "/etc/kube"' in outcome.output and '"PATH": "/usr/bin:/bin"' in outcome.output
    assert "SLACK_BOT_TOKEN" not in outcome.output and "MISSING" not in outcome.output


async def test_a_failing_program_fails_the_step_and_output_is_digested() -> None:
    digest = hashlib.sha256()
    outcome = await StepRunner({}).run(_command("-c", "print('boom'); raise SystemExit(3)"), digest)
    assert outcome.status == StepStatus.FAILED and outcome.detail == "exit 3" and not outcome.passed
    assert digest.hexdigest() == hashlib.sha256(b"boom\n").hexdigest()


async def test_a_missing_program_is_a_clear_failure() -> None:
    step = PlannedCommand(name="x", argv=("/nonexistent/restart",), cwd=None, env_names=(), timeout=5)
    outcome = await StepRunner({}).run(step)
    assert outcome.status == StepStatus.FAILED and "could not start /nonexistent/restart" in outcome.detail


async def test_output_is_capped_to_its_tail_but_digested_in_full() -> None:
    digest = hashlib.sha256()
    script = "import sys; sys.stdout.write('a' * 3_000_000 + 'THE END')"
    outcome = await StepRunner({}).run(_command("-c", script), digest)
    assert outcome.passed and outcome.output.endswith("THE END")
    assert len(outcome.output) < OUTPUT_KEPT_BYTES + 100 and "earlier bytes not kept" in outcome.output
    assert digest.hexdigest() == hashlib.sha256(b"a" * 3_000_000 + b"THE END").hexdigest()


async def test_timeout_kills_the_whole_process_group(tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    script = (
        "import subprocess, sys, time, pathlib, signal\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # a stubborn parent: SIGKILL is needed
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "pathlib.Path(sys.argv[1]).write_text(f'{child.pid}')\n"
        "print('started', flush=True)\n"
        "time.sleep(60)\n"
    )
    # The guard is no stopwatch: the program sleeps a minute, so only a runner that waits for it out
    # instead of killing it comes near the guard.
    outcome = await asyncio.wait_for(StepRunner({}).run(_command("-c", script, str(pids), timeout=1.5)), timeout=45)
    assert outcome.status == StepStatus.TIMED_OUT and "process group killed" in outcome.detail
    assert "started" in outcome.output
    grandchild = int(pids.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert not _alive(grandchild)


async def test_manual_steps_are_shown_not_run() -> None:
    outcome = await StepRunner({}).run(PlannedManual(name="Look", text="Check the dashboard"))
    assert outcome.status == StepStatus.SHOWN and outcome.passed and outcome.output == "Check the dashboard"
