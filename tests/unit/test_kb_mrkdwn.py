"""Markdown to Slack mrkdwn, and truncation that keeps mrkdwn valid."""

from __future__ import annotations

import pytest

from knowledge_base import KnowledgeBase
from knowledge_base.mrkdwn import markdown_to_mrkdwn, truncate_mrkdwn


def test_headings_become_bold_lines() -> None:
    assert markdown_to_mrkdwn("## Quick checks\n\ntext") == "*Quick checks*\n\ntext"


def test_inline_formatting() -> None:
    assert markdown_to_mrkdwn("**bold** *em* _em_ ~~gone~~ `x`") == "*bold* _em_ _em_ ~gone~ `x`"


def test_special_characters_are_escaped_in_text_and_code() -> None:
    assert markdown_to_mrkdwn("a < b & c > d `x<y>`") == "a &lt; b &amp; c &gt; d `x&lt;y&gt;`"


def test_links_images_and_local_targets() -> None:
    assert markdown_to_mrkdwn("[docs](https://ex.org/a?b=1&c=2)") == "<https://ex.org/a?b=1&amp;c=2|docs>"
    assert markdown_to_mrkdwn("<https://ex.org>") == "<https://ex.org>"
    assert markdown_to_mrkdwn("[a|b & c](https://ex.org/x|y)") == "<https://ex.org/x%7Cy|a|b &amp; c>"
    assert markdown_to_mrkdwn("![dashboard](https://grafana.example/d.png)") == "<https://grafana.example/d.png|dashboard>"
    assert markdown_to_mrkdwn("[Disk space](/kb/articles/disk-space.md)") == "Disk space"
    assert markdown_to_mrkdwn("[**bold** label](https://ex.org)") == "<https://ex.org|bold label>"


def test_lists_bullets_numbers_and_nesting() -> None:
    markdown = "- one\n- two\n  - two a\n  - two b\n\n3. third\n4. fourth\n"
    assert markdown_to_mrkdwn(markdown) == "• one\n• two\n    • two a\n    • two b\n\n3. third\n4. fourth"


def test_fenced_code_is_kept_and_not_formatted() -> None:
    markdown = "```bash\n# a comment, not a heading\necho **not bold** <x>\n```"
    assert markdown_to_mrkdwn(markdown) == "```\n# a comment, not a heading\necho **not bold** &lt;x&gt;\n```"


def test_code_inside_a_list_item_stays_flush_left() -> None:
    markdown = "1. Check:\n   ```\n   df -h\n   ```\n2. Next\n"
    assert markdown_to_mrkdwn(markdown) == "1. Check:\n```\ndf -h\n```\n2. Next"


def test_blockquote() -> None:
    assert markdown_to_mrkdwn("> careful\n>\n> really") == "> careful\n>\n> really"


def test_tables_become_aligned_code_blocks() -> None:
    markdown = "| Cause | Team |\n|---|---|\n| Bug & crash | Developers |\n| DB | DBA |\n"
    assert markdown_to_mrkdwn(markdown) == (
        "```\nCause       | Team\n------------+-----------\nBug &amp; crash | Developers\nDB          | DBA\n```"
    )


def test_soft_line_breaks_join_hard_wrapped_paragraphs() -> None:
    assert markdown_to_mrkdwn("one line\nwrapped here") == "one line wrapped here"


def test_html_is_dropped_not_sent() -> None:
    assert markdown_to_mrkdwn("<details>\n<summary>Full context</summary>\n</details>") == "Full context"
    assert markdown_to_mrkdwn("one<br>two <b>bold</b>") == "one\ntwo bold"


def test_placeholders_in_angle_brackets_are_kept() -> None:
    assert markdown_to_mrkdwn("Run kubectl logs <pod-name> now") == "Run kubectl logs &lt;pod-name&gt; now"


def test_every_bundled_article_converts() -> None:
    for article in KnowledgeBase.load_default().articles:
        text = markdown_to_mrkdwn(article.markdown)
        assert text.count("```") % 2 == 0, article.article_id
        assert "**" not in text.replace("```", ""), article.article_id


def test_truncate_leaves_short_text_alone() -> None:
    assert truncate_mrkdwn("short", 10) == "short"


def test_truncate_ends_with_ellipsis_within_the_limit() -> None:
    text = "word " * 100
    cut = truncate_mrkdwn(text, 50)
    assert len(cut) <= 50 and cut.endswith("…")
    assert not cut[:-1].endswith(" ")


def test_truncate_closes_an_open_code_block() -> None:
    text = "Run:\n```\n" + "\n".join(f"line {n}" for n in range(100)) + "\n```\nafter"
    cut = truncate_mrkdwn(text, 80)
    assert len(cut) <= 80
    assert cut.endswith("```\n…")
    assert cut.count("```") == 2


def test_truncate_never_splits_a_link_or_an_entity() -> None:
    text = "see " + "<https://example.org/very/long/path|the runbook>" + " now"
    cut = truncate_mrkdwn(text, 30)
    assert cut == "see…"
    assert truncate_mrkdwn("abc &amp; def", 8) == "abc…"


@pytest.mark.parametrize("limit", range(1, 120, 7))
def test_truncate_always_balanced_and_bounded(limit: int) -> None:
    text = markdown_to_mrkdwn("Intro & more\n\n```\nA < B\n" + "x = 1\n" * 30 + "```\n\n[link](https://ex.org)")
    cut = truncate_mrkdwn(text, limit)
    assert len(cut) <= limit
    assert cut.count("```") % 2 == 0
    assert cut.count("<") == cut.count(">")
