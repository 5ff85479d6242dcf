"""The knowledge base's folder on disk: drafts in `drafts/`, published articles beside it.

Blocking file work, run in a thread by the service. Every write is atomic (a hidden temporary file
in the same folder, then a link or rename) so the watcher and the loader never read half a file,
and never replaces a file: a second draft with the same title gets `-2`. A name from a button is
refused unless it is a plain file name in the drafts folder itself (no `..`, no `/`, no link out),
since anyone holding a signed request can send any value. Publishing first renames the draft to a
hidden name: of two managers clicking at once, one publishes, the other hears it is gone.
"""

from __future__ import annotations

import errno
import os
import re
import secrets
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from handlers.errors import InvalidInput, NotFound
from handlers.knowledge.articles import clean_line, is_searchable_draft, published
from knowledge_base.front_matter import split_front_matter
from knowledge_base.loading import MARKDOWN_SUFFIXES, humanize_file_name

DRAFTS_FOLDER = "drafts"
MAX_SUFFIX = 1000
_FILE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,200}")
_H1 = re.compile(r"^# +(.+)$", re.MULTILINE)
GONE = "That draft is no longer there: someone published or discarded it. `/kb drafts` shows what is left."


@dataclass(frozen=True)
class DraftFile:
    """One draft as `/kb drafts` lists it."""

    name: str  # the file name in drafts/, what the buttons carry
    title: str
    source_issue: int | None
    author: str | None
    created: datetime
    searchable: bool  # `status: draft` (answers from it, marked); False for a hidden `draft: true`


@dataclass(frozen=True)
class PublishedFile:
    draft: DraftFile
    path: Path  # where the article now is


class KnowledgeFolder:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.drafts = self.root / DRAFTS_FOLDER

    def create_draft(self, stem: str, text: str) -> Path:
        """Write a new draft named `stem.md` (or `stem-2.md`, ...); never replaces a file."""
        self.drafts.mkdir(parents=True, exist_ok=True)
        return _write_new(self.drafts, stem, text)

    def list_drafts(self) -> list[DraftFile]:
        """Every Markdown file in drafts/, newest first (by `created`, then by when the file was written)."""
        if not self.drafts.is_dir():
            return []
        found: list[tuple[datetime, int, DraftFile]] = []
        for path in self.drafts.iterdir():
            if path.name.startswith(".") or path.suffix.lower() not in MARKDOWN_SUFFIXES:
                continue
            if path.is_symlink() or not path.is_file():
                continue
            try:
                draft = _describe(path, path.read_text(encoding="utf-8"))
                found.append((draft.created, path.stat().st_mtime_ns, draft))
            except (OSError, UnicodeDecodeError):
                continue  # removed meanwhile, or not text: not a draft anyone can review here
        return [draft for _, _, draft in sorted(found, key=lambda item: item[:2], reverse=True)]

    def read_draft(self, name: str) -> DraftFile:
        path = self.draft_path(name)
        return _describe(path, _read(path))

    def publish(self, name: str, *, by: str, at: datetime) -> PublishedFile:
        """Move a draft into the articles folder without its draft flags."""
        claimed = self._claim(name)
        try:
            text = claimed.read_text(encoding="utf-8")
            draft = _describe(self.drafts / name, text)
            parsed = split_front_matter(text.replace("\r\n", "\n"))
            path = _write_new(self.root, Path(name).stem, published(parsed.data, parsed.body, by=by, at=at))
        except BaseException:
            os.replace(claimed, self.drafts / name)  # give it back: nothing was published
            raise
        claimed.unlink(missing_ok=True)
        return PublishedFile(draft, path)

    def discard(self, name: str) -> DraftFile:
        claimed = self._claim(name)
        try:
            draft = _describe(self.drafts / name, claimed.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            draft = DraftFile(name, humanize_file_name(Path(name).stem), None, None, _now(), False)
        claimed.unlink(missing_ok=True)
        return draft

    def draft_path(self, name: str) -> Path:
        """The draft's path, or InvalidInput when `name` is not a plain file name inside drafts/."""
        if not _FILE_NAME.fullmatch(name or "") or ".." in name or Path(name).suffix.lower() not in MARKDOWN_SUFFIXES:
            raise InvalidInput("That is not the name of a draft.")
        path = self.drafts / name
        if path.is_symlink() or path.resolve().parent != self.drafts.resolve():
            raise InvalidInput("That is not the name of a draft.")
        return path

    def _claim(self, name: str) -> Path:
        path = self.draft_path(name)
        claimed = self.drafts / f".claimed-{secrets.token_hex(6)}-{name}"
        try:
            os.rename(path, claimed)
        except FileNotFoundError:
            raise NotFound(GONE) from None
        return claimed


def _write_new(folder: Path, stem: str, text: str) -> Path:
    """`text` as folder/stem.md, or stem-2.md, ...: written to a temporary file, then linked in."""
    descriptor, temporary = tempfile.mkstemp(dir=folder, prefix=".write-up-", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(text)
        for number in range(1, MAX_SUFFIX):
            target = folder / (f"{stem}.md" if number == 1 else f"{stem}-{number}.md")
            if _link_new(Path(temporary), target):
                return target
        raise InvalidInput(f"Too many articles are named {stem}: give this one another title.")
    finally:
        Path(temporary).unlink(missing_ok=True)


def _link_new(source: Path, target: Path) -> bool:
    """Give `source`'s content the name `target` unless that name is taken; False when it is."""
    try:
        os.link(source, target)
        return True
    except FileExistsError:
        return False
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.ENOTSUP, errno.EXDEV, errno.EMLINK):
            raise
    # A filesystem without hard links: reserve the name, then replace the empty file in one step.
    try:
        os.close(os.open(target, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except FileExistsError:
        return False
    copy = source.with_name(source.name + ".copy")
    copy.write_bytes(source.read_bytes())
    os.replace(copy, target)
    return True


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise NotFound(GONE) from None


def _describe(path: Path, text: str) -> DraftFile:
    parsed = split_front_matter(text.replace("\r\n", "\n"))
    meta = parsed.data
    title = clean_line(str(meta.get("title") or ""), 300)
    if not title:
        heading = _H1.search(parsed.body)
        title = clean_line(heading.group(1), 300) if heading else humanize_file_name(path.stem)
    return DraftFile(
        name=path.name,
        title=title,
        source_issue=_issue_number(meta),
        author=clean_line(str(meta.get("author") or ""), 255) or None,
        created=_created(meta, path),
        searchable=is_searchable_draft(meta),
    )


def _issue_number(meta: Mapping[str, Any]) -> int | None:
    value = meta.get("source_issue", meta.get("issue"))
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:
        return value
    if isinstance(value, str) and value.lstrip("#").isdigit():
        return int(value.lstrip("#"))
    return None


def _created(meta: Mapping[str, Any], path: Path) -> datetime:
    value = meta.get("created")
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            value = None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    try:
        return datetime.fromtimestamp(path.stat().st_mtime, timezone.utc)
    except OSError:
        return _now()


def _now() -> datetime:
    return datetime.now(timezone.utc)
