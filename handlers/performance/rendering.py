"""Prose of the performance report, its export, reviews and reminders, from jinja2 templates.

As with the summaries (handlers/summaries/rendering.py): a template is a file of named
`{% block %}`s, one per message section; `reports.templates_dir` overrides the bundled files one by
one and runs in jinja2's SandboxedEnvironment. Output is mrkdwn (or Markdown for documents) with
autoescape off; text from people or monitoring goes through `mrkdwn` (Slack) or `md` (documents).
Structure stays in code (blocks.py): a template changes words, never Block Kit.
"""

from __future__ import annotations

import json
import re
from datetime import date, datetime, tzinfo
from pathlib import Path
from typing import Any, Mapping

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from core.templates import ProcessBytecodeCache
from handlers.slack.blockkit import escape, humanize_duration

BUNDLED_DIR = Path(__file__).with_name("templates")
REPORT_TEMPLATE = "performance.mrkdwn.j2"
EXPORT_TEMPLATE = "performance.md.j2"
REVIEW_TEMPLATE = "review.mrkdwn.j2"
REVIEW_DOCUMENT_TEMPLATE = "review.md.j2"
REMINDER_TEMPLATE = "adjustment_reminder.mrkdwn.j2"
TEMPLATES = (REPORT_TEMPLATE, EXPORT_TEMPLATE, REVIEW_TEMPLATE, REVIEW_DOCUMENT_TEMPLATE, REMINDER_TEMPLATE)
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#|])")
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


class TemplateProblem(RuntimeError):
    """A performance template does not load or render; the message names the file and line."""


def _who(actor: Any) -> str:
    """Slack user ids become mentions; anything else (a source, a name) is escaped text."""
    text = str(actor or "someone")
    return f"<@{text}>" if _SLACK_USER.match(text) else escape(text)


def _markdown(value: Any) -> str:
    """Text made inert in a Markdown document: no accidental emphasis, links, tables or HTML."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(value).split()))


_COMPILED = ProcessBytecodeCache()  # these templates' options never change, so they share compiled code


class PerformanceTemplates:
    def __init__(self, tz: tzinfo, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(override_dir))] if override_dir is not None else []
        loaders.append(FileSystemLoader(str(BUNDLED_DIR)))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders), bytecode_cache=_COMPILED, autoescape=False, undefined=StrictUndefined,
            trim_blocks=True, lstrip_blocks=True,
        )
        self.tz = tz
        self._env.filters.update(
            mrkdwn=lambda value: escape(str(value)),
            md=_markdown,
            quoted=lambda value: json.dumps(" ".join(str(value).split()), ensure_ascii=False),
            who=_who,
            day=self._day,
            clock=self._clock,
            when=self._when,
            duration=lambda seconds: "n/a" if seconds is None else humanize_duration(seconds),
        )
        for name in TEMPLATES:
            self._load(name)  # a broken override fails at start-up, not when a report is due

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.tz)

    def _day(self, value: date | datetime | None) -> str:
        if value is None:
            return "—"
        day = self._local(value).date() if isinstance(value, datetime) else value
        return day.strftime("%a %d %b %Y")

    def _clock(self, moment: datetime | None) -> str:
        return self._local(moment).strftime("%H:%M") if moment is not None else "—"

    def _when(self, moment: datetime | None) -> str:
        return self._local(moment).strftime("%d %b %H:%M") if moment is not None else "—"

    def _load(self, name: str) -> Any:
        try:
            return self._env.get_template(name)
        except TemplateError as error:
            where = f" line {error.lineno}" if getattr(error, "lineno", None) else ""
            raise TemplateProblem(f"performance template {name}{where}: {error}") from None

    def sections(self, name: str, context: Mapping[str, Any]) -> dict[str, str]:
        """Every block of the template, rendered: section name -> text (blank lines at the ends trimmed)."""
        template = self._load(name)
        sections: dict[str, str] = {}
        for block, render in template.blocks.items():
            try:
                text = "".join(render(template.new_context(dict(context))))
            except TemplateError as error:
                raise TemplateProblem(f"performance template {name}, block {block}: {error}") from None
            sections[block] = "\n".join(line.rstrip() for line in text.strip().splitlines())
        return sections

    def document(self, name: str, context: Mapping[str, Any]) -> str:
        """The whole template rendered as one document (Markdown exports and reviews)."""
        try:
            text = self._load(name).render(dict(context))
        except TemplateError as error:
            raise TemplateProblem(f"performance template {name}: {error}") from None
        return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"
