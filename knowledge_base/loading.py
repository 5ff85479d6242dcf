"""Read folders of Markdown into Articles: front matter, title, sections, resolved links.

Sections come from markdown-it's token stream rather than from scanning lines for `#`, so a
`# comment` inside a fenced code block, an indented block or a blockquote is never a heading.
"""

from __future__ import annotations

import functools
import logging
import os
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from markdown_it import MarkdownIt

from knowledge_base.front_matter import split_front_matter
from knowledge_base.models import CATEGORIES, Article, Section

log = logging.getLogger(__name__)

DEFAULT_ARTICLES_DIR = Path(__file__).resolve().parent / "articles"
MARKDOWN_SUFFIXES = frozenset({".md", ".markdown"})
# GitHub community files, not articles: a KB folder that is a repository checkout has them.
REPOSITORY_FILES = frozenset(
    {"README", "LICENSE", "CHANGELOG", "CONTRIBUTING", "CODE_OF_CONDUCT", "NOTICE", "AUTHORS"}
)
SECTION_LEVELS = 3
"""Headings down to `###` start a section; deeper ones stay inside their section's text."""

_SINGLE_IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_:]*")
_CAMEL_CASE = re.compile(r"[A-Za-z][A-Za-z0-9]*[a-z0-9][A-Z][A-Za-z0-9]*")
_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_INLINE_LINK = re.compile(r"(!?\[[^\]]*\]\()\s*(<[^>\n]*>|[^)\s]+)")
_REFERENCE_DEFINITION = re.compile(r"^( {0,3}\[[^\]]+\]:\s*)(<[^>\n]*>|\S+)")
_HUGO_REF = re.compile(r"""\{\{[<%]\s*(?:rel)?ref\s+"([^"]+)"\s*[>%]\}\}""")
_CODE_SPAN = re.compile(r"(`+)(?:.*?)\1")


@dataclass(frozen=True, slots=True)
class LoadReport:
    articles: tuple[Article, ...]
    problems: tuple[tuple[Path, str], ...]
    """Every problem found, unreadable files and front-matter problems alike."""
    skipped: tuple[Path, ...]
    """Drafts (`draft: true` or `published: false`), left out on purpose."""
    missing_roots: tuple[Path, ...]


class ParsedFiles:
    """What the last load parsed, by file: its (mtime, size, inode) then and the article (None for a
    draft). Handed to the next load, only files that changed are read and parsed again: a write-up
    saved into a 1,000-article KB costs a reload of the index, not of every file. Each load puts a
    new table in place, so a load running in another thread never reads a half-built one."""

    def __init__(self) -> None:
        self.files: dict[tuple[Path, Path], tuple[tuple[int, int, int], Article | None]] = {}


def load_articles(roots: Iterable[Path], parsed: ParsedFiles | None = None) -> LoadReport:
    articles: list[Article] = []
    problems: list[tuple[Path, str]] = []
    skipped: list[Path] = []
    missing: list[Path] = []
    used_ids: set[str] = set()
    known = parsed.files if parsed is not None else {}
    seen: dict[tuple[Path, Path], tuple[tuple[int, int, int], Article | None]] = {}
    for root in roots:
        root = Path(root).expanduser().resolve()
        if not root.exists():
            missing.append(root)
            problems.append((root, "folder does not exist"))
            continue
        base = root.parent if root.is_file() else root
        for path in iter_markdown_files(root):
            article_id = _unique_id(path, base, used_ids)
            key = _file_key(path)
            hit = known.get((path, base))
            if key is not None and hit is not None and hit[0] == key:
                article = hit[1]
                if article is not None and article.article_id != article_id:
                    article = replace(article, article_id=article_id)
            else:
                try:
                    text = path.read_text(encoding="utf-8")
                except (OSError, UnicodeDecodeError) as error:
                    problems.append((path, f"cannot read: {error}"))
                    continue
                article = parse_article(path, base, text, article_id)
            if key is not None:
                seen[(path, base)] = (key, article)
            if article is None:
                skipped.append(path)
                continue
            used_ids.add(article.article_id)
            articles.append(article)
            problems.extend((path, problem) for problem in article.problems)
    if parsed is not None:
        parsed.files = seen
    return LoadReport(tuple(articles), tuple(problems), tuple(skipped), tuple(missing))


def _file_key(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size, stat.st_ino


def iter_markdown_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root).parts
        if any(part.startswith(".") for part in relative) or path.suffix.lower() not in MARKDOWN_SUFFIXES:
            continue
        if path.stem == "_index" or path.stem in REPOSITORY_FILES or not path.is_file():
            continue
        yield path


def _unique_id(path: Path, base: Path, used: set[str]) -> str:
    article_id = path.relative_to(base).with_suffix("").as_posix()
    if article_id in used:
        article_id = f"{base.name}/{article_id}"
    candidate, number = article_id, 2
    while candidate in used:
        candidate, number = f"{article_id}~{number}", number + 1
    return candidate


def parse_article(path: Path, root: Path, text: str, article_id: str) -> Article | None:
    """Build one Article; None for a draft. Problems are recorded on the Article, never raised."""
    parsed = split_front_matter(text.replace("\r\n", "\n"))
    meta = parsed.data
    if meta.get("draft") is True or meta.get("published") is False:
        return None
    problems = [parsed.problem] if parsed.problem else []
    markdown, h1, sections = split_sections(parsed.body, path.parent)

    title = _string_field(meta, "title", problems)
    if not title:
        title = h1 or humanize_file_name(path.stem)
        if not h1:
            problems.append("no title in front matter and no '# heading': title taken from the file name")
    category = (_string_field(meta, "category", problems) or "other").lower()
    if category not in CATEGORIES:
        problems.append(f"category {category!r} is not one of {', '.join(CATEGORIES)}")
        category = "other"
    tags = _string_list(meta, "tags", problems) + _string_list(meta, "keywords", problems)
    if "alerts" in meta or "alert" in meta:
        alerts = _string_list(meta, "alerts" if "alerts" in meta else "alert", problems)
    else:
        alerts = _alert_named_by_file(path.stem, h1)
    runbook = meta.get("runbook")
    url = next((meta[key] for key in ("url", "source_url") if _is_web_url(meta.get(key))), None)
    return Article(
        article_id=article_id,
        path=path,
        root=root,
        title=title,
        front_matter=meta,
        markdown=markdown,
        sections=sections,
        tags=tuple(dict.fromkeys(tags)),
        alerts=tuple(dict.fromkeys(alerts)),
        category=category,
        runbook=str(runbook) if runbook not in (None, "") else None,
        url=url,
        problems=tuple(problems),
    )


def split_sections(body: str, article_dir: Path) -> tuple[str, str | None, tuple[Section, ...]]:
    """Return (body with links resolved, the leading `# title` if any, sections)."""
    tokens = _markdown_parser().parse(body)
    lines = body.split("\n")
    code_lines = {
        line
        for token in tokens
        if token.type in ("fence", "code_block", "html_block") and token.map
        for line in range(*token.map)
    }
    lines = [line if index in code_lines else resolve_links(line, article_dir) for index, line in enumerate(lines)]

    headings = [
        (token.map[0], token.map[1], int(token.tag[1]), _plain_text(tokens[index + 1]))
        for index, token in enumerate(tokens)
        if token.type == "heading_open" and token.level == 0 and token.map
    ]
    title: str | None = None
    hidden: set[int] = set()
    if headings and headings[0][2] == 1:
        start, end, _, title = headings[0]
        hidden.update(range(start, end))
        headings = headings[1:]
    boundaries = [heading for heading in headings if heading[2] <= SECTION_LEVELS]

    sections: list[Section] = []
    used_anchors: dict[str, int] = {}
    first_start = boundaries[0][0] if boundaries else len(lines)
    intro = _join(lines, 0, first_start, hidden)
    if intro:
        sections.append(Section("", (), 0, intro, ""))
    path: list[tuple[int, str]] = []
    for number, (start, end, level, heading) in enumerate(boundaries):
        while path and path[-1][0] >= level:
            path.pop()
        path.append((level, heading))
        stop = boundaries[number + 1][0] if number + 1 < len(boundaries) else len(lines)
        anchor = slugify(heading)
        count = used_anchors.get(anchor, 0)
        used_anchors[anchor] = count + 1
        sections.append(
            Section(
                heading=heading,
                heading_path=tuple(text for _, text in path),
                level=level,
                text=_join(lines, end, stop, hidden),
                anchor=f"{anchor}-{count}" if count else anchor,
            )
        )
    markdown = "\n".join(line for index, line in enumerate(lines) if index not in hidden).strip("\n")
    return markdown, title, tuple(sections)


def resolve_links(line: str, article_dir: Path) -> str:
    """Rewrite relative link targets (inline, reference definitions, Hugo `ref`) as paths from `/`.

    Code spans are left alone; web URLs, fragments and site-absolute paths are kept as they are."""
    if "`" not in line:
        return _resolve_in_text(line, article_dir)
    pieces, position = [], 0
    for match in _CODE_SPAN.finditer(line):
        pieces.append(_resolve_in_text(line[position : match.start()], article_dir))
        pieces.append(match.group(0))
        position = match.end()
    pieces.append(_resolve_in_text(line[position:], article_dir))
    return "".join(pieces)


def _resolve_in_text(text: str, article_dir: Path) -> str:
    if "{{" in text:
        text = _HUGO_REF.sub(lambda match: _wrap(resolve_target(match.group(1), article_dir)), text)
    if "](" in text:
        text = _INLINE_LINK.sub(
            lambda match: match.group(1) + _wrap(resolve_target(match.group(2), article_dir)), text
        )
    if "]:" in text:
        text = _REFERENCE_DEFINITION.sub(
            lambda match: match.group(1) + _wrap(resolve_target(match.group(2), article_dir)), text
        )
    return text


def resolve_target(target: str, article_dir: Path) -> str:
    target = target.strip()
    if target.startswith("<") and target.endswith(">"):
        target = target[1:-1]
    if not target or target.startswith(("#", "/", "{{")) or _URL_SCHEME.match(target):
        return target
    path_part, hash_sign, fragment = target.partition("#")
    resolved = Path(os.path.normpath(article_dir / unquote(path_part))).as_posix()
    return resolved + hash_sign + fragment


def _wrap(target: str) -> str:
    return f"<{target}>" if any(char in target for char in " ()") else target


def slugify(heading: str) -> str:
    """GitHub-style anchor: lowercase, punctuation dropped, spaces to hyphens."""
    slug = re.sub(r"[^\w\- ]", "", heading.lower(), flags=re.UNICODE)
    return re.sub(r" ", "-", slug.strip())


def humanize_file_name(stem: str) -> str:
    words = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", stem)
    words = re.sub(r"[-_]+", " ", words).strip()
    return words[:1].upper() + words[1:] if words else stem


@functools.cache
def _markdown_parser() -> MarkdownIt:
    return MarkdownIt("commonmark").enable(["table", "strikethrough"])


def _plain_text(inline_token: Any) -> str:
    children = inline_token.children or []
    return "".join(child.content for child in children if child.type in ("text", "code_inline")).strip()


def _join(lines: list[str], start: int, stop: int, hidden: set[int]) -> str:
    return "\n".join(lines[index] for index in range(start, stop) if index not in hidden).strip("\n")


def _alert_named_by_file(stem: str, h1: str | None) -> list[str]:
    """A runbook named after its alert ("KubePodCrashLooping.md", "# Watchdog") applies to it."""
    if (h1 == stem and _SINGLE_IDENTIFIER.fullmatch(stem)) or _CAMEL_CASE.fullmatch(stem):
        return [stem]
    return []


def _string_field(meta: dict[str, Any], key: str, problems: list[str]) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if isinstance(value, (str, int, float)):
        return str(value).strip() or None
    problems.append(f"'{key}' should be text, not {type(value).__name__}")
    return None


def _string_list(meta: dict[str, Any], key: str, problems: list[str]) -> list[str]:
    value = meta.get(key)
    if value is None:
        return []
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    if isinstance(value, list) and all(isinstance(item, (str, int, float)) for item in value):
        return [str(item).strip() for item in value if str(item).strip()]
    problems.append(f"'{key}' should be a list of text")
    return []


def _is_web_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("https://", "http://"))
