"""Report prose from jinja2 templates a deployment can override; structure (blocks) stays in code.

Each report template is one file of named `{% block %}`s, one per message section. The loader looks
in `reports.templates_dir` first and then in the bundled templates/, file by file, so a deployment
copies and edits only the file it wants to change. A report falls back to the summary template for
any block its own template does not define (the daily report only changes its title).

Deployment templates are untrusted text: they run in jinja2's SandboxedEnvironment. Output is mrkdwn
and autoescape is off (HTML escaping is wrong for Slack); values that come from people or monitoring
(team names, alertnames, categories) go through the `mrkdwn` filter, which escapes &, < and >.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from jinja2 import ChoiceLoader, FileSystemLoader, StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from core.templates import ProcessBytecodeCache
from handlers.slack.blockkit import escape, humanize_duration
from handlers.summaries.trends import Trend, TrendKind, format_value

BUNDLED_DIR = Path(__file__).with_name("templates")
SUMMARY_TEMPLATE = "summary.mrkdwn.j2"
DAILY_TEMPLATE = "daily_report.mrkdwn.j2"


class TemplateProblem(RuntimeError):
    """A report template does not load or render; the message names the file and line."""


@dataclass(frozen=True)
class RenderedReport:
    """Section name -> mrkdwn text (empty sections are left out by the block builder)."""

    sections: Mapping[str, str]

    def get(self, name: str) -> str:
        return self.sections.get(name, "")


def _count(value: Any) -> str:
    return format_value(value, TrendKind.COUNT)


def _duration(value: Any) -> str:
    return "n/a" if value is None else humanize_duration(value)


def _pct(value: Any) -> str:
    return format_value(value, TrendKind.RATE)


def _score(value: Any) -> str:
    return format_value(value, TrendKind.SCORE)


def _vs(current: Any, previous: Any, kind: str = "count") -> str:
    """A short trend in a template, e.g. a priority's count against last period's: "↑+3"."""
    return Trend(TrendKind(kind), current, previous).short


_COMPILED = ProcessBytecodeCache()  # these templates' options never change, so they share compiled code


class ReportTemplates:
    def __init__(self, override_dir: Path | None = None) -> None:
        loaders = [FileSystemLoader(str(override_dir))] if override_dir is not None else []
        loaders.append(FileSystemLoader(str(BUNDLED_DIR)))
        self._env = SandboxedEnvironment(
            loader=ChoiceLoader(loaders),
            bytecode_cache=_COMPILED,
            autoescape=False,
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self._env.filters.update(
            mrkdwn=lambda value: escape(str(value)), count=_count, duration=_duration, pct=_pct, score=_score, vs=_vs
        )
        for name in (SUMMARY_TEMPLATE, DAILY_TEMPLATE):
            self._load(name)  # a broken override fails at start-up, not at 08:00

    def _load(self, name: str) -> Any:
        try:
            return self._env.get_template(name)
        except TemplateError as error:
            where = f" line {error.lineno}" if getattr(error, "lineno", None) else ""
            raise TemplateProblem(f"report template {name}{where}: {error}") from None

    def render(self, name: str, context: Mapping[str, Any]) -> RenderedReport:
        """Render every block of `name`, taking blocks it lacks from the summary template."""
        chain = [self._load(name)] if name == SUMMARY_TEMPLATE else [self._load(name), self._load(SUMMARY_TEMPLATE)]
        sections: dict[str, str] = {}
        for template in chain:
            for block, render in template.blocks.items():
                if block in sections:
                    continue
                try:
                    text = "".join(render(template.new_context(dict(context))))
                    sections[block] = "\n".join(line.rstrip() for line in text.strip().splitlines())
                except TemplateError as error:
                    raise TemplateProblem(f"report template {template.name}, block {block}: {error}") from None
        return RenderedReport(sections)
