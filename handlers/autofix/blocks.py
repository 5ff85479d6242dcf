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

from handlers.autofix.params import ParameterRefused, PlannedManual, RunPlan
from handlers.autofix.runbooks import Runbook
from handlers.autofix.runner import StepOutcome, StepStatus
from handlers.slack.blockkit import (
    MODAL_BLOCK_LIMIT,
    SECTION_TEXT_LIMIT,
    actions,
    button,
    cap_blocks,
    context,
    escape,
    humanize_duration,
    mrkdwn_section,
    slack_date,
    truncate,
)
from knowledge_base.mrkdwn import markdown_to_mrkdwn

OUTPUT_EXCERPT_CHARS = 1200
THREAD_TEXT_LIMIT = 3000
AUTO_ACTOR = "opsbot"


class AutofixCallback(StrEnum):
    """Callback ids of auto-fix views. They outlive refactors: never rename a value."""

    CONFIRM = "autofix.confirm"


class AutofixAction(StrEnum):
    """Action ids of a walkthrough step's buttons (value "<run id>:<step number>"). Never rename a value."""

    STEP_DONE = "autofix.step.done"
    STEP_SKIP = "autofix.step.skip"
    STEP_STUCK = "autofix.step.stuck"


STEP_VERDICTS = {
    AutofixAction.STEP_DONE.value: StepStatus.DONE,
    AutofixAction.STEP_SKIP.value: StepStatus.SKIPPED,
    AutofixAction.STEP_STUCK.value: StepStatus.STUCK,
}
_VERDICT_WORDS = {StepStatus.DONE: ("✅", "done"), StepStatus.SKIPPED: ("⏭️", "skipped"), StepStatus.STUCK: ("🆘", "stuck")}
STUCK_CONFIRM = {
    "title": {"type": "plain_text", "text": "Stuck at this step?"},
    "text": {"type": "mrkdwn", "text": "The walkthrough stops here and the issue is escalated to the team."},
    "confirm": {"type": "plain_text", "text": "Escalate"},
    "deny": {"type": "plain_text", "text": "Not yet"},
}


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
    if runbook.is_walkthrough:
        return truncate(
            f"🧭 {who(actor)} started walking through runbook {_title(runbook)}: {steps} step{'s' if steps != 1 else ''}, "
            "one at a time below. Check each off with *Done*, *Skip* or *Stuck — escalate*.",
            THREAD_TEXT_LIMIT,
        )
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


def build_interrupted_line(title: str, *, escalating: bool, walkthrough: bool = False) -> str:
    tail = " Escalating to the team." if escalating else ""
    if walkthrough:
        return f"❌ Runbook *{escape(title)}* was not finished: its steps were not all checked off in time.{tail}"
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


def build_started_reply(title: str, issue_id: int, *, walkthrough: bool = False) -> str:
    if walkthrough:
        return (f"Started walking through runbook *{escape(title)}* on issue #{issue_id}: "
                "its steps are in the issue's thread, one at a time.")
    return f"Started runbook *{escape(title)}* on issue #{issue_id}: follow its progress in the issue's thread."


def build_refused_reply(title: str, reason: str) -> str:
    return f"Runbook *{escape(title)}* was refused: {escape(reason)}. Nothing was run; the issue is being escalated."


def resolution_text(title: str, *, walkthrough: bool = False) -> str:
    return f"Fixed by following runbook {title}" if walkthrough else f"Auto-fixed by runbook {title}"


def step_button_value(run_id: int, number: int) -> str:
    return f"{run_id}:{number}"


def manual_text(step: PlannedManual) -> str:
    """A manual step's text as mrkdwn: the bundled runbooks' Markdown converted, plain text escaped."""
    return markdown_to_mrkdwn(step.text) if step.format == "markdown" else escape(step.text)


def build_step_request(runbook: Runbook, run_id: int, number: int, total: int, step: PlannedManual) -> dict[str, Any]:
    """The thread message that asks for one step: what to do, and Done / Skip / Stuck — escalate."""
    name = escape(truncate(step.name, 150))
    head = f"🧭 Step {number}/{total} of {_title(runbook)}: *{name}*"
    value = step_button_value(run_id, number)
    buttons = [
        button("Done", AutofixAction.STEP_DONE, value, style="primary"),
        button("Skip", AutofixAction.STEP_SKIP, value),
        button("Stuck — escalate", AutofixAction.STEP_STUCK, value, style="danger", confirm=STUCK_CONFIRM),
    ]
    return {
        "text": truncate(f"Step {number}/{total}: {step.name}", 300),
        "blocks": [mrkdwn_section(f"{head}\n{manual_text(step)}"), actions(f"autofix.step.{run_id}.{number}", buttons)],
    }


def build_step_checked(
    runbook_title: str, number: int, total: int, step: PlannedManual, verdict: str, user_id: str, at: datetime
) -> dict[str, Any]:
    """The same message once the step is checked off: who did what, when; no buttons left."""
    mark, word = _VERDICT_WORDS.get(verdict, ("•", verdict))
    head = (f"{mark} Step {number}/{total} of *{escape(runbook_title)}*: *{escape(truncate(step.name, 150))}*, "
            f"{word} by {who(user_id)} at {slack_date(at, '{time}')}")
    blocks = [mrkdwn_section(f"{head}\n{manual_text(step)}")]
    if verdict == StepStatus.STUCK:
        blocks.append(context("The walkthrough stopped here; the issue is being escalated."))
    return {"text": truncate(f"Step {number}/{total}: {step.name} ({word})", 300), "blocks": blocks}


def build_stuck_line(runbook: Runbook, number: int, step_name: str, user_id: str) -> str:
    return (f"🆘 {who(user_id)} is stuck at step {number} (*{escape(truncate(step_name, 150))}*) of runbook "
            f"{_title(runbook)}. Escalating to the team.")


def build_walkthrough_finished_line(runbook: Runbook, outcomes: Sequence[StepOutcome], seconds: float,
                                    deadline: datetime) -> str:
    done = sum(outcome.status == StepStatus.DONE for outcome in outcomes)
    skipped = sum(outcome.status == StepStatus.SKIPPED for outcome in outcomes)
    tally = f"{done} done" + (f", {skipped} skipped" if skipped else "")
    return (
        f"✅ Every step of runbook {_title(runbook)} is checked off ({tally}) after {humanize_duration(seconds)}. "
        f"Waiting for the alert to resolve until {slack_date(deadline, '{time}')} "
        f"({humanize_duration(runbook.verify_window.total_seconds())}) to confirm the fix; "
        "if it is fixed now, resolve the issue from its message."
    )


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
