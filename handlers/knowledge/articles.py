"""A write-up as a Markdown article: its front matter, its sections, its file name. Pure functions.

The words come from people and from alerts, and the file outlives the bot: Hugo, GitHub and the
knowledge base's own loader read it. So each piece is made safe for the file, not only for Slack:
control characters go, line ends are normalised, a line of a person's text can never start a
heading (it would cut the article into sections nobody wrote) and HTML tags are shown, not run. The
front matter is written by PyYAML, which quotes whatever needs quoting, so no title or alert name
can add a key. File names are slugs of ASCII letters, digits and hyphens: they cannot leave the folder.

A draft carries `status: draft`: the loader keeps it (it answers at once) and answers mark it. That is
not Hugo's `draft: true`, which the loader leaves out altogether (post-incident reviews use that).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

import yaml

from core.text import clean

STATUS_KEY = "status"
DRAFT_STATUS = "draft"
HIDDEN_DRAFT_KEYS = ("draft",)  # Hugo's `draft: true`: taken out too when a manager publishes
TITLE_LIMIT = 150
TEXT_LIMIT = 3000  # each section, as the modal's inputs allow
ALERT_NAME_LIMIT = 200
MAX_ALERTS = 10
SLUG_LIMIT = 60
SECTIONS = (("symptoms", "Symptoms"), ("root_cause", "Root cause"), ("fix", "Fix"), ("steps", "Steps taken"))

_SPACES = re.compile(r"\s+")
_HEADING_START = re.compile(r"^(\s{0,3})(#+)")
# Front-matter fences, and the underlines that turn the line above into a (setext) heading.
_FENCE_LINE = re.compile(r"^(\s{0,3})([-=]+|\+\+\+|\.\.\.)\s*$")
_CODE_FENCE = re.compile(r"^(\s{0,3})(`{3,}|~{3,})(.*)$")
_HTML_TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
_BLANK_RUNS = re.compile(r"\n{3,}")
_NOT_SLUG = re.compile(r"[^a-z0-9]+")
_ALERT_SEPARATORS = re.compile(r"[,\n]+")


@dataclass(frozen=True)
class WriteUp:
    """What the person wrote in the modal (or what it was prefilled with), before it is made safe."""

    title: str
    category: str
    alerts: tuple[str, ...] = ()
    symptoms: str = ""
    root_cause: str = ""
    fix: str = ""
    steps: str = ""


def clean_line(text: str, limit: int) -> str:
    """One line: control characters dropped, whitespace runs (line breaks too) made one space, cut to `limit`."""
    line = _SPACES.sub(" ", clean(text or "")).strip()
    return line[:limit].rstrip()


def clean_text(text: str, limit: int = TEXT_LIMIT) -> str:
    """A person's paragraph as safe Markdown: no headings (`#` or underlined), no front-matter fences,
    no live HTML tags. Code blocks are kept as written (a `# comment` in one is not a heading), and one
    left open is closed, so it cannot swallow the sections after it."""
    text = clean(text or "").replace("\r\n", "\n").replace("\r", "\n")[:limit]
    lines: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        line = line.rstrip()
        opening = _CODE_FENCE.match(line)
        if fence is not None:
            if opening and opening.group(2).startswith(fence) and not opening.group(3).strip():
                fence = None
        elif opening:
            fence = opening.group(2)
        else:
            line = _HEADING_START.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
            line = _FENCE_LINE.sub(lambda m: m.group(1) + "\\" + m.group(2), line)
            line = _HTML_TAG_START.sub("&lt;", line)
        lines.append(line)
    if fence is not None:
        while lines and not lines[-1]:
            lines.pop()
        lines.append(fence)
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def parse_alert_names(text: str) -> tuple[str, ...]:
    """Alert names as typed in the modal: separated by commas or lines, each one line, no repeats."""
    names = (clean_line(part, ALERT_NAME_LIMIT) for part in _ALERT_SEPARATORS.split(text or ""))
    return tuple(dict.fromkeys(name for name in names if name))


def slugify(text: str, limit: int = SLUG_LIMIT) -> str:
    """ASCII letters and digits joined by single hyphens, at most `limit` long, cut at a hyphen."""
    ascii_text = unicodedata.normalize("NFKD", (text or "").casefold()).encode("ascii", "ignore").decode("ascii")
    slug = _NOT_SLUG.sub("-", ascii_text.lower()).strip("-")
    if len(slug) > limit:
        cut = slug[:limit]
        slug = cut.rsplit("-", 1)[0] if "-" in cut else cut
    return slug.strip("-")


def file_stem(title: str, issue_id: int) -> str:
    """The draft's file name without `.md`: the title's slug, or the issue's number for a title with no letters."""
    return slugify(title) or f"issue-{issue_id}"


def front_matter(write_up: WriteUp, *, issue_id: int, author: str, created: datetime) -> dict[str, Any]:
    data: dict[str, Any] = {
        "title": clean_line(write_up.title, TITLE_LIMIT) or f"Issue #{issue_id}",
        "category": clean_line(write_up.category, 32).lower() or "other",
    }
    alerts = [clean_line(name, ALERT_NAME_LIMIT) for name in write_up.alerts[:MAX_ALERTS]]
    if any(alerts):
        data["alerts"] = [name for name in alerts if name]
    data.update(
        {
            "source_issue": issue_id,
            "author": clean_line(author, 255),
            "created": created.isoformat(timespec="seconds"),
            STATUS_KEY: DRAFT_STATUS,
        }
    )
    return data


def render_front_matter(data: Mapping[str, Any]) -> str:
    dumped = yaml.safe_dump(dict(data), sort_keys=False, allow_unicode=True, default_flow_style=None, width=10_000)
    return f"---\n{dumped}---\n"


def render_article(write_up: WriteUp, *, issue_id: int, author: str, created: datetime) -> str:
    """The whole file: front matter, the title as `# heading`, a line naming its source, the sections written."""
    data = front_matter(write_up, issue_id=issue_id, author=author, created=created)
    parts = [render_front_matter(data), f"# {data['title']}\n"]
    parts.append(f"Written up from issue #{issue_id} on {created:%Y-%m-%d}.\n")
    for field_name, heading in SECTIONS:
        text = clean_text(getattr(write_up, field_name))
        if text:
            parts.append(f"## {heading}\n\n{text}\n")
    return "\n".join(parts)


def published(meta: Mapping[str, Any], body: str, *, by: str, at: datetime) -> str:
    """The draft as a published article: the draft flags gone, who published it and when added."""
    data = {key: value for key, value in meta.items() if key != STATUS_KEY and key not in HIDDEN_DRAFT_KEYS}
    if meta.get(STATUS_KEY) not in (None, DRAFT_STATUS):
        data[STATUS_KEY] = meta[STATUS_KEY]  # someone's own status word stays
    data["published_by"] = clean_line(by, 255)
    data["published_at"] = at.isoformat(timespec="seconds")
    return render_front_matter(data) + "\n" + body.lstrip("\n")


def is_searchable_draft(meta: Mapping[str, Any]) -> bool:
    """A write-up awaiting review: loaded and answered from, marked as a draft."""
    return str(meta.get(STATUS_KEY, "")).strip().lower() == DRAFT_STATUS
