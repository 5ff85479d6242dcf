"""The bundled runbook library: one runbook for every id the bundled knowledge-base articles cite.

Each is built from its article at start-up, so the steps a responder is walked through are the
article's own: the numbered or bulleted items of its "Quick checks" and "Fix" sections (or
"Steps" / "Resolution"), one manual step each, matched to the alerts its front matter lists.
A few have a generic automatic step (an HTTP call to an endpoint the team names in
`runbook_library:`); until it is configured they stay manual. The config's `runbooks:` entries
replace bundled ones with the same id (RunbookCatalog).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from markdown_it import MarkdownIt
from pydantic import model_validator

from core.settings_types import StrictModel
from handlers.autofix.runbooks import (
    HttpStep,
    ManualStep,
    Runbook,
    RunbookParam,
    template_names,
)
from knowledge_base.loading import DEFAULT_ARTICLES_DIR, parse_article
from knowledge_base.models import Article
from knowledge_base.mrkdwn import truncate_mrkdwn

STEP_SECTIONS = ("quick checks", "steps", "fix", "resolution")  # in the order an article usually has them
MAX_STEPS = 20  # Runbook.steps' limit
STEP_NAME_CHARS = 100
STEP_TEXT_CHARS = 2000
# Labels an endpoint's URL or body may name ({{ service }}), each refused unless it is a plain name.
ENDPOINT_PARAMS = {
    name: RunbookParam(label=name, pattern=r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")
    for name in ("service", "instance", "job", "namespace")
}
_LIST_MARKER = re.compile(r"\s*(?:[-*+]|\d{1,9}[.)])(?:\s+|$)")


class Endpoint(HttpStep):
    """An HTTP call the team's tooling answers (a cache-flush or restart endpoint, a Rundeck job)."""

    kind: Literal["http"] = "http"

    @model_validator(mode="after")
    def _known_params(self) -> "Endpoint":
        for where, source in self.templates():
            unknown = template_names(source) - set(ENDPOINT_PARAMS)
            if unknown:
                raise ValueError(f"{where} may name only {', '.join(sorted(ENDPOINT_PARAMS))}, not {sorted(unknown)}")
        return self


@dataclass(frozen=True)
class GenericStep:
    """A safe automatic step a bundled runbook takes once its endpoint is configured."""

    setting: str  # the key under `runbook_library:`
    runbook_id: str
    name: str


GENERIC_STEPS = (
    GenericStep("clear_cache", "RB-APP-06", "Clear the cache through the configured endpoint"),
    GenericStep("restart_service", "RB-INF-06", "Restart the service through the configured endpoint"),
)


class RunbookLibrarySettings(StrictModel):
    """`runbook_library:` in OPSBOT_CONFIG. Without an endpoint a bundled runbook is walked through by hand."""

    enabled: bool = True  # false: only the config's `runbooks:`
    clear_cache: Endpoint | None = None  # RB-APP-06 (Clearing caches)
    restart_service: Endpoint | None = None  # RB-INF-06 (Service down)


def bundled_runbooks(settings: RunbookLibrarySettings | None = None) -> tuple[Runbook, ...]:
    """The library with the endpoints `settings` configures; () when it is turned off."""
    settings = settings or RunbookLibrarySettings()
    if not settings.enabled:
        return ()
    runbooks = article_runbooks()
    for generic in GENERIC_STEPS:
        endpoint: Endpoint | None = getattr(settings, generic.setting)
        if endpoint is not None:
            runbooks = tuple(
                with_endpoint(runbook, generic, endpoint) if runbook.id == generic.runbook_id else runbook
                for runbook in runbooks
            )
    return runbooks


def bundled_ids() -> frozenset[str]:
    return frozenset(runbook.id for runbook in article_runbooks())


def check_configured(runbooks: Sequence[Runbook]) -> None:
    """Start-up check of the config's `runbooks:`: one without alerts to match must replace a bundled one."""
    known = bundled_ids()
    for runbook in runbooks:
        if not runbook.match and not runbook.match_re and runbook.id not in known:
            raise ValueError(
                f"runbook {runbook.id}: give `match` or `match_re` (a runbook never applies to every alert; "
                "only a bundled runbook's id may leave them out, to keep its alerts)"
            )


def with_endpoint(runbook: Runbook, generic: GenericStep, endpoint: Endpoint) -> Runbook:
    """The runbook as one confirmed HTTP call; the article keeps the steps to do by hand."""
    step = HttpStep.model_validate({**endpoint.model_dump(exclude={"name"}), "kind": "http", "name": generic.name})
    used = {name for _, source in step.templates() for name in template_names(source)}
    return runbook.model_copy(
        update={
            "steps": [step],
            "params": {name: ENDPOINT_PARAMS[name] for name in sorted(used)},
            "confirm": True,
            "walkthrough": False,
            "description": f"{generic.name}. {runbook.description}",
        }
    )


@functools.cache
def article_runbooks(folder: Path = DEFAULT_ARTICLES_DIR) -> tuple[Runbook, ...]:
    """One manual runbook per runbook id the articles directly in `folder` cite, in file order.

    Read once per process: the bundled articles ship with the code. Drafts and subfolders are
    not read: only published bundled articles define the library."""
    runbooks: dict[str, Runbook] = {}
    for path in sorted(folder.glob("*.md")):
        article = parse_article(path, folder, path.read_text(encoding="utf-8"), path.stem)
        if article is None or not article.runbook or article.runbook in runbooks:
            continue
        runbooks[article.runbook] = runbook_from_article(article.runbook, article)
    return tuple(runbooks.values())


def runbook_from_article(runbook_id: str, article: Article) -> Runbook:
    steps = article_steps(article)
    alerts = "|".join(re.escape(alert) for alert in article.alerts)
    return Runbook.model_validate(
        {
            "id": runbook_id,
            "title": article.title[:150],
            "description": f"The steps of the knowledge-base article “{article.title}”.",
            "match_re": {"alertname": alerts} if alerts else {},
            "steps": [step.model_dump() for step in steps],
            "category": article.category,
        }
    )


def article_steps(article: Article) -> list[ManualStep]:
    """The top-level list items of the article's step sections, each a manual step (at most MAX_STEPS).

    An article whose step sections hold no list gets one step: its first step section as a whole."""
    sections = [s for s in article.sections if s.heading.strip().lower() in STEP_SECTIONS and s.text.strip()]
    steps = [manual_step(item) for section in sections for item in list_items(section.text)]
    if not steps:
        source = sections[0].text if sections else article.markdown
        steps = [manual_step(source.strip() or article.title, name="Follow the article")]
    return steps[:MAX_STEPS]


def manual_step(markdown: str, name: str | None = None) -> ManualStep:
    text = markdown if len(markdown) <= STEP_TEXT_CHARS else truncate_mrkdwn(markdown, STEP_TEXT_CHARS)
    return ManualStep(kind="manual", name=name or step_name(markdown), text=text, format="markdown")


def list_items(markdown: str) -> list[str]:
    """The Markdown of each top-level list item, without its marker and indentation."""
    lines = markdown.split("\n")
    items: list[str] = []
    for token in _parser().parse(markdown):
        if token.type != "list_item_open" or token.level != 1 or not token.map:
            continue
        start, end = token.map
        chunk = lines[start:end]
        marker = _LIST_MARKER.match(chunk[0])
        indent = len(marker.group(0)) if marker else 0
        body = [chunk[0][indent:]] + [line[indent:] if not line[:indent].strip() else line.lstrip() for line in chunk[1:]]
        item = "\n".join(body).strip()
        if item:
            items.append(item)
    return items


def step_name(markdown: str) -> str:
    """The item's first line as plain text, cut at a word near STEP_NAME_CHARS."""
    tokens = _parser().parse(markdown)
    inline = next((token for token in tokens if token.type == "inline"), None)
    text = "".join(_plain(child) for child in (inline.children or [])) if inline else markdown.split("\n", 1)[0]
    text = " ".join(text.split()) or "Step"
    if len(text) <= STEP_NAME_CHARS:
        return text
    cut = text.rfind(" ", 0, STEP_NAME_CHARS)
    return text[: cut if cut > STEP_NAME_CHARS // 2 else STEP_NAME_CHARS - 1].rstrip(" ,;:") + "…"


def _plain(token: Any) -> str:
    if token.type in ("text", "code_inline"):
        return str(token.content)
    if token.type in ("softbreak", "hardbreak"):
        return " "
    return ""


@functools.cache
def _parser() -> MarkdownIt:
    return MarkdownIt("commonmark")
