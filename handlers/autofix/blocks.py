"""What auto-fix says: thread lines for each stage of a run, the confirmation modal, escalation detail.

Pure functions over plain values. Anything that came from an alert or a program's output is
mrkdwn-escaped and truncated; output goes in code blocks that it cannot close early.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from handlers.autofix.params import ParameterRefused, RunPlan
from handlers.autofix.runbooks import Runbook
from handlers.autofix.runner import StepOutcome, StepStatus
from handlers.slack.blockkit import (
    MODAL_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    cap_blocks,
    context,
    escape,
    humanize_duration,
    mrkdwn_section,
    slack_date,
    truncate,
)

OUTPUT_EXCERPT_CHARS = 1200
THREAD_TEXT_LIMIT = 3000
AUTO_ACTOR = "opsbot"


class AutofixCallback(StrEnum):
    """Callback ids of auto-fix views. They outlive refactors: never rename a value."""

    CONFIRM = "autofix.confirm"


_STEP_MARKS = {StepStatus.OK: "✅", StepStatus.FAILED: "❌", StepStatus.TIMED_OUT: "⏱️", StepStatus.SHOWN: "📋"}


def who(actor: str) -> str:
    if actor[:1] in ("U", "W") and actor[1:].isalnum() and actor.upper() == actor:
        return f"<@{actor}>"
    return escape(actor)


def code_block(output: str, limit: int = OUTPUT_EXCERPT_CHARS) -> str:
    """The tail of `output` as a code block; backticks are swapped so the output cannot end it."""
    text = output.strip("\n")
    if len(text) > limit:
        text = "…" + text[-(limit - 1):]
    return "```" + escape(text.replace("`", "ˋ")) + "```"


def _title(runbook: Runbook) -> str:
    return f"*{escape(runbook.title)}* (`{escape(runbook.id)}`)"


def build_started_line(runbook: Runbook, actor: str, *, automatic: bool) -> str:
    steps = len(runbook.steps)
    how = "automatically for this alert" if automatic else f"({steps} step{'s' if steps != 1 else ''})"
    return truncate(f"🛠️ {who(actor)} started runbook {_title(runbook)} {how}.", THREAD_TEXT_LIMIT)


def build_step_line(outcome: StepOutcome, number: int, total: int) -> str:
    mark = _STEP_MARKS.get(outcome.status, "•")
    head = f"{mark} Step {number}/{total} *{escape(truncate(outcome.name, 150))}*"
    if outcome.status == StepStatus.SHOWN:
        return truncate(f"{head} (for you to do):\n{escape(outcome.output)}", THREAD_TEXT_LIMIT)
    head += f" — {escape(outcome.detail)} in {outcome.seconds:.1f}s"
    if outcome.output.strip():
        return head + "\n" + code_block(outcome.output, min(OUTPUT_EXCERPT_CHARS, THREAD_TEXT_LIMIT - len(head) - 10))
    return truncate(head, THREAD_TEXT_LIMIT)


def build_succeeded_line(runbook: Runbook, seconds: float, deadline: datetime) -> str:
    return (
        f"✅ Runbook {_title(runbook)} finished in {seconds:.1f}s. Waiting for the alert to resolve "
        f"until {slack_date(deadline, '{time}')} ({humanize_duration(runbook.verify_window.total_seconds())}) "
        "to confirm the fix."
    )


def build_failed_line(runbook: Runbook, step_number: int, outcome: StepOutcome, *, escalating: bool) -> str:
    tail = " Escalating to the team." if escalating else ""
    what = escape(truncate(outcome.detail, 300))
    return f"❌ Runbook {_title(runbook)} failed at step {step_number} ({escape(outcome.name)}): {what}.{tail}"


def build_refused_line(runbook: Runbook, refusal: ParameterRefused, *, escalating: bool) -> str:
    tail = " Escalating to the team." if escalating else ""
    reason = escape(truncate(refusal.describe(), 600))
    return f"⛔ Runbook {_title(runbook)} refused: {reason}. Nothing was run.{tail}"


def build_interrupted_line(title: str, *, escalating: bool) -> str:
    tail = " Escalating to the team." if escalating else ""
    return f"❌ Runbook *{escape(title)}* was interrupted (the bot stopped while it ran).{tail}"


def build_crashed_line(title: str) -> str:
    return f"❌ Runbook *{escape(title)}* stopped: opsbot failed while running it (see its logs). Escalating to the team."


def build_verified_line(title: str, seconds_after: float) -> str:
    return (
        f"🟢 Verified: the alert resolved {humanize_duration(seconds_after)} after runbook *{escape(title)}* ran. "
        "The issue is resolved as auto-fixed."
    )


def build_unverified_line(title: str, reason: str, *, escalating: bool) -> str:
    tail = " Escalating to the team." if escalating else ""
    return f"⚠️ Runbook *{escape(title)}* ran but the fix is not verified: {escape(reason)}.{tail}"


def build_started_reply(title: str, issue_id: int) -> str:
    return f"Started runbook *{escape(title)}* on issue #{issue_id}: follow its progress in the issue's thread."


def build_refused_reply(title: str, reason: str) -> str:
    return f"Runbook *{escape(title)}* was refused: {escape(reason)}. Nothing was run; the issue is being escalated."


def resolution_text(title: str) -> str:
    return f"Auto-fixed by runbook {title}"


def build_escalation_detail(
    title: str,
    runbook_id: str,
    actor: str,
    steps: Sequence[Mapping[str, Any]],
    summary: str,
    params: Mapping[str, str] | None = None,
) -> str:
    """What the team being paged needs about the attempt: who ran what, with which values, and how it went."""
    lines = [f"Auto-fix: runbook {title} ({runbook_id}), started by {actor}.", summary]
    if params:
        lines.append("Parameters: " + ", ".join(f"{name}={value}" for name, value in params.items()))
    for number, step in enumerate(steps, start=1):
        lines.append(
            f"Step {number} {step.get('name', '')}: {step.get('status', '')}, {step.get('detail', '')}, "
            f"{float(step.get('seconds', 0.0)):.1f}s"
        )
        output = str(step.get("output") or "").strip()
        if output and step.get("status") != StepStatus.SHOWN:
            lines.append("  output (tail): " + output[-400:])
    return truncate("\n".join(lines), 2800)


def build_confirm_modal(plan: RunPlan, issue_id: int, issue_title: str, private_metadata: str) -> dict[str, Any]:
    """What will run, step by step, with the values taken from the alert; submitting starts the run."""
    runbook = plan.runbook
    blocks: list[dict[str, Any]] = [
        mrkdwn_section(f"Run {_title(runbook)} on issue #{issue_id}: {escape(truncate(issue_title, 300))}?"),
    ]
    if runbook.description:
        blocks.append(mrkdwn_section(escape(runbook.description)))
    if plan.params:
        shown = ", ".join(f"`{escape(name)}` = `{escape(value)}`" for name, value in plan.params.items())
        blocks.append(context(f"From the alert's labels: {shown}"))
    for number, step in enumerate(plan.steps, start=1):
        kind = {"http": "HTTP request", "command": "Command", "manual": "For you to do"}[step.kind]
        body = escape(step.describe())
        text = f"*{number}. {escape(step.name)}* ({kind})\n" + (body if step.kind == "manual" else f"`{body}`")
        blocks.append(mrkdwn_section(truncate(text, SECTION_TEXT_LIMIT)))
        if step.kind == "http" and getattr(step, "body", None) is not None:
            blocks.append(context(f"Body: `{escape(truncate(json.dumps(step.body, ensure_ascii=False), 1500))}`"))
    window = humanize_duration(runbook.verify_window.total_seconds())
    blocks.append(context(f"Afterwards opsbot waits {window} for the alert to resolve, and escalates if it does not."))
    return {
        "type": "modal",
        "callback_id": AutofixCallback.CONFIRM.value,
        "title": {"type": "plain_text", "text": "Run auto-fix?"},
        "submit": {"type": "plain_text", "text": "Run it"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": private_metadata,
        "blocks": cap_blocks(blocks, MODAL_BLOCK_LIMIT),
    }
