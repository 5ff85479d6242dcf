"""Write-ups as files: the article renderer (front matter, escaping, slugs) and the folder (no clobbering,
no path traversal, publish and discard)."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest
import yaml

from handlers.errors import InvalidInput, NotFound
from handlers.knowledge import loaded_paths, writable_folder
from handlers.knowledge.articles import WriteUp, clean_text, file_stem, parse_alert_names, render_article, slugify
from handlers.knowledge.drafts import KnowledgeFolder
from handlers.knowledge.settings import KnowledgeSettings
from knowledge_base import KnowledgeBase
from knowledge_base.front_matter import split_front_matter
from knowledge_base.loading import DEFAULT_ARTICLES_DIR, load_articles

CREATED = datetime(2026, 1, 5, 10, 30, tzinfo=timezone.utc)
PRINTER = WriteUp(
    title="Printer on fire in room 3",
    category="infrastructure",
    alerts=("PrinterOnFire",),
    symptoms="- **PrinterOnFire**: smoke from the printer",
    root_cause="A toner cartridge overheated",
    fix="Switch the printer off at the wall, then use the CO2 extinguisher.",
    steps="1. Acknowledged (U0BOB)\n2. Called facilities (U0BOB)",
)


def render(write_up: WriteUp = PRINTER) -> str:
    return render_article(write_up, issue_id=42, author="U0BOB", created=CREATED)


def test_the_article_has_front_matter_the_loader_reads_and_sections_in_order(tmp_path: Path) -> None:
    text = render()
    meta = split_front_matter(text).data
    assert meta == {
        "title": "Printer on fire in room 3", "category": "infrastructure", "alerts": ["PrinterOnFire"],
        "source_issue": 42, "author": "U0BOB", "created": "2026-01-05T10:30:00+00:00", "status": "draft",
    }
    (tmp_path / "printer.md").write_text(text, encoding="utf-8")
    [article] = load_articles([tmp_path]).articles
    assert article.is_draft and article.alerts == ("PrinterOnFire",) and article.category == "infrastructure"
    assert [section.heading for section in article.sections] == ["", "Symptoms", "Root cause", "Fix", "Steps taken"]
    assert article.problems == ()


def test_a_draft_answers_searches_and_says_it_is_a_draft(tmp_path: Path) -> None:
    (tmp_path / "printer.md").write_text(render(), encoding="utf-8")
    kb = KnowledgeBase.load([tmp_path])
    best = kb.search("the printer is on fire").best
    assert best is not None and best.draft and best.title == "Printer on fire in room 3"
    assert kb.search_for_alert("PrinterOnFire") is not None


def test_nothing_a_person_types_can_add_a_key_a_section_or_a_tag() -> None:
    hostile = WriteUp(
        title="Oops\nstatus: published\n---",
        category="other",
        alerts=("A: b", "x\ny"),
        symptoms="## Fix\nrm -rf /\n---\ntitle: evil\n<script>alert(1)</script>",
        fix="Setext heading\n===\n+++\n```bash\n# a comment stays\nls <dir>\n```",
        steps="```\n# left open",
    )
    text = render(hostile)
    meta = split_front_matter(text).data
    assert meta["title"] == "Oops status: published ---" and meta["status"] == "draft"
    assert meta["alerts"] == ["A: b", "x y"] and set(meta) == {
        "title", "category", "alerts", "source_issue", "author", "created", "status"
    }
    body = split_front_matter(text).body
    assert "\\## Fix" in body and "\\---" in body and "\\===" in body and "\\+++" in body
    assert "&lt;script>" in body and "<script>" not in body
    assert "# a comment stays\nls <dir>\n```" in body  # code is kept as written
    assert body.rstrip().endswith("# left open\n```")  # an open code block is closed in its own section
    headings = [line for line in body.splitlines() if line.startswith("## ")]
    assert headings == ["## Symptoms", "## Fix", "## Steps taken"]


def test_control_characters_and_line_ends_are_cleaned() -> None:
    assert clean_text("a\r\nb\x00c\x1b\rd\n\n\n\ne") == "a\nbc\nd\n\ne"


def test_slugs_are_ascii_words_joined_by_hyphens_and_never_a_path() -> None:
    assert slugify("Printer on fire!") == "printer-on-fire"
    assert slugify("../../etc/passwd") == "etc-passwd"
    assert slugify("Größe über 90 %") == "grosse-uber-90"
    assert slugify("x" * 80) == "x" * 60
    assert slugify("word " * 20) == "-".join(["word"] * 12)
    assert file_stem("!!!", 7) == "issue-7" and file_stem("日本語", 8) == "issue-8"


def test_alert_names_are_split_on_commas_and_lines() -> None:
    assert parse_alert_names("HighErrorRate, DiskFull\nHighErrorRate,, ") == ("HighErrorRate", "DiskFull")


def test_drafts_never_replace_a_file_and_are_written_whole(tmp_path: Path) -> None:
    folder = KnowledgeFolder(tmp_path)
    first = folder.create_draft("printer-on-fire", "one")
    second = folder.create_draft("printer-on-fire", "two")
    assert (first.name, second.name) == ("printer-on-fire.md", "printer-on-fire-2.md")
    assert first.read_text() == "one" and second.read_text() == "two"
    assert sorted(os.listdir(tmp_path / "drafts")) == ["printer-on-fire-2.md", "printer-on-fire.md"]  # no temporary left


@pytest.mark.parametrize(
    "name", ["../secret.md", "..md", "a/b.md", "/etc/passwd", "notes.txt", "", ".hidden.md", "x" * 300 + ".md"]
)
def test_a_name_from_a_button_must_be_a_draft_in_the_folder(tmp_path: Path, name: str) -> None:
    folder = KnowledgeFolder(tmp_path)
    (tmp_path / "secret.md").write_text("published", encoding="utf-8")
    with pytest.raises(InvalidInput):
        folder.publish(name, by="U0BOSS", at=CREATED)
    with pytest.raises(InvalidInput):
        folder.discard(name)
    assert (tmp_path / "secret.md").read_text() == "published"


def test_a_link_out_of_the_folder_is_not_a_draft(tmp_path: Path) -> None:
    outside = tmp_path / "outside.md"
    outside.write_text("---\ntitle: Not yours\n---\n", encoding="utf-8")
    folder = KnowledgeFolder(tmp_path / "kb")
    folder.drafts.mkdir(parents=True)
    (folder.drafts / "link.md").symlink_to(outside)
    assert folder.list_drafts() == []
    with pytest.raises(InvalidInput):
        folder.discard("link.md")
    assert outside.exists()


def test_publish_moves_the_draft_out_without_its_draft_flag(tmp_path: Path) -> None:
    folder = KnowledgeFolder(tmp_path)
    draft = folder.create_draft("printer-on-fire", render())
    [listed] = folder.list_drafts()
    assert (listed.title, listed.source_issue, listed.author, listed.created, listed.searchable) == (
        "Printer on fire in room 3", 42, "U0BOB", CREATED, True
    )
    done = folder.publish(draft.name, by="U0BOSS", at=CREATED)
    assert done.path == tmp_path / "printer-on-fire.md" and not draft.exists()
    meta = yaml.safe_load(done.path.read_text().split("---")[1])
    assert "status" not in meta and meta["published_by"] == "U0BOSS" and meta["title"] == "Printer on fire in room 3"
    [article] = load_articles([tmp_path]).articles
    assert not article.is_draft and article.sections[3].heading == "Fix"
    with pytest.raises(NotFound):
        folder.publish(draft.name, by="U0BOSS", at=CREATED)  # the second click hears it is gone


def test_publishing_a_hidden_review_draft_makes_it_an_article(tmp_path: Path) -> None:
    folder = KnowledgeFolder(tmp_path)
    folder.drafts.mkdir()
    (folder.drafts / "incident-7-review.md").write_text("---\ntitle: Review\ndraft: true\n---\n\n## Timeline\n", encoding="utf-8")
    assert load_articles([tmp_path]).articles == ()
    [listed] = folder.list_drafts()
    assert not listed.searchable and listed.source_issue is None
    folder.publish("incident-7-review.md", by="U0BOSS", at=CREATED)
    assert [article.title for article in load_articles([tmp_path]).articles] == ["Review"]


def test_discard_deletes_the_draft(tmp_path: Path) -> None:
    folder = KnowledgeFolder(tmp_path)
    draft = folder.create_draft("printer-on-fire", render())
    assert folder.discard(draft.name).title == "Printer on fire in room 3"
    assert folder.list_drafts() == [] and os.listdir(folder.drafts) == []
    with pytest.raises(NotFound):
        folder.discard(draft.name)


def test_the_folder_comes_from_the_config_then_kb_paths_then_the_data_folder(tmp_path: Path) -> None:
    configured = KnowledgeSettings(folder=tmp_path / "mine")
    assert writable_folder(configured, [tmp_path / "kb"], tmp_path) == tmp_path / "mine"
    (tmp_path / "kb").mkdir()
    assert writable_folder(KnowledgeSettings(), [tmp_path / "kb"], tmp_path) == tmp_path / "kb"
    assert writable_folder(KnowledgeSettings(), [], tmp_path / "data") == tmp_path / "data" / "kb"
    assert (tmp_path / "data" / "kb").is_dir()
    blocked = tmp_path / "file"
    blocked.write_text("")
    assert writable_folder(KnowledgeSettings(folder=blocked / "kb"), [], tmp_path) is None


def test_the_folder_is_loaded_beside_the_articles_unless_it_is_one_of_them(tmp_path: Path) -> None:
    assert loaded_paths([], tmp_path) == [DEFAULT_ARTICLES_DIR, tmp_path]
    assert loaded_paths([tmp_path], tmp_path / "sub") == [tmp_path]
    assert loaded_paths([tmp_path / "a"], None) == [tmp_path / "a"]


def test_a_reload_parses_only_the_files_that_changed(tmp_path: Path) -> None:
    """A write-up into a large KB costs an index rebuild, not a re-read of every article."""
    (tmp_path / "a.md").write_text("---\ntitle: A\n---\n\n## Fix\n\nOne.\n", encoding="utf-8")
    (tmp_path / "b.md").write_text("---\ntitle: B\n---\n\n## Fix\n\nTwo.\n", encoding="utf-8")
    kb = KnowledgeBase.load([tmp_path])
    before = {article.article_id: article for article in kb.articles}
    (tmp_path / "b.md").write_text("---\ntitle: B, edited\n---\n\n## Fix\n\nTwo and a half.\n", encoding="utf-8")
    KnowledgeFolder(tmp_path).create_draft("c", render())
    kb.reload()
    after = {article.article_id: article for article in kb.articles}
    assert after["a"] is before["a"]  # unchanged: not parsed again
    assert after["b"].title == "B, edited" and after["drafts/c"].is_draft
    (tmp_path / "a.md").unlink()
    kb.reload()
    assert sorted(article.article_id for article in kb.articles) == ["b", "drafts/c"]
