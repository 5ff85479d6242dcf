"""Loading Markdown folders: front matter kinds, titles, sections, code blocks, links, drafts."""

from __future__ import annotations

from pathlib import Path


from knowledge_base import KnowledgeBase
from knowledge_base.front_matter import split_front_matter
from knowledge_base.loading import load_articles

RUNBOOKS = Path(__file__).resolve().parents[1] / "fixtures" / "kb-corpora" / "prometheus-runbooks"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_one(folder: Path, name: str, text: str):
    write(folder, name, text)
    report = load_articles([folder])
    assert len(report.articles) == 1, report
    return report.articles[0]


def test_yaml_front_matter_fields(tmp_path: Path) -> None:
    article = load_one(
        tmp_path,
        "disk.md",
        "---\ntitle: Disk full\ntags: [disk, storage]\ncategory: Infrastructure\n"
        "alerts: [DiskFull, NodeFilesystemSpaceFillingUp]\nrunbook: RB-7\n"
        "url: https://wiki.example.org/disk\n---\n\n## Symptoms\n\nNo space left.\n",
    )
    assert article.title == "Disk full"
    assert article.tags == ("disk", "storage")
    assert article.category == "infrastructure"
    assert article.alerts == ("DiskFull", "NodeFilesystemSpaceFillingUp")
    assert article.runbook == "RB-7"
    assert article.url == "https://wiki.example.org/disk"
    assert article.problems == ()


def test_toml_front_matter(tmp_path: Path) -> None:
    article = load_one(
        tmp_path,
        "cert.md",
        '+++\ntitle = "Certificate expiry"\ntags = ["tls"]\nalerts = ["CertificateExpiringSoon"]\n+++\n\n## Fix\n\nRenew.\n',
    )
    assert article.title == "Certificate expiry"
    assert article.alerts == ("CertificateExpiringSoon",)
    assert [section.heading for section in article.sections] == ["Fix"]


def test_jekyll_front_matter_with_comma_separated_tags(tmp_path: Path) -> None:
    article = load_one(tmp_path, "_posts/2024-01-01-cache.md", "---\nlayout: post\ntags: cache, redis\n---\n# Clearing caches\n\nFlush db 1.\n")
    assert article.title == "Clearing caches"
    assert article.tags == ("cache", "redis")
    assert article.article_id == "_posts/2024-01-01-cache"


def test_json_front_matter() -> None:
    parsed = split_front_matter('{\n  "title": "From JSON"\n}\n\nBody text\n')
    assert parsed.kind == "json"
    assert parsed.data == {"title": "From JSON"}
    assert parsed.body.strip() == "Body text"


def test_no_front_matter_takes_title_from_first_heading(tmp_path: Path) -> None:
    article = load_one(tmp_path, "x.md", "# Slow pages\n\nIntro text.\n\n## Fix\n\nRestart.\n")
    assert article.title == "Slow pages"
    assert article.front_matter == {}
    assert [(s.heading, s.text) for s in article.sections] == [("", "Intro text."), ("Fix", "Restart.")]


def test_no_title_anywhere_falls_back_to_the_file_name(tmp_path: Path) -> None:
    article = load_one(tmp_path, "db-connection-pool.md", "Just some text.\n")
    assert article.title == "Db connection pool"
    assert any("file name" in problem for problem in article.problems)


def test_broken_front_matter_is_a_problem_not_a_crash(tmp_path: Path) -> None:
    article = load_one(tmp_path, "bad.md", "---\ntitle: [unclosed\n---\n# Still loads\n\nText.\n")
    assert article.title == "Still loads"
    assert any("invalid yaml" in problem for problem in article.problems)


def test_unknown_category_is_reported_and_replaced(tmp_path: Path) -> None:
    article = load_one(tmp_path, "a.md", "---\ntitle: A\ncategory: networking\n---\ntext\n")
    assert article.category == "other"
    assert any("networking" in problem for problem in article.problems)


def test_drafts_and_repository_files_are_skipped(tmp_path: Path) -> None:
    write(tmp_path, "draft.md", "---\ntitle: Draft\ndraft: true\n---\ntext\n")
    write(tmp_path, "README.md", "# Readme\n")
    write(tmp_path, "section/_index.md", "---\ntitle: Section list\n---\n")
    write(tmp_path, ".hidden/secret.md", "# Hidden\n")
    write(tmp_path, "real.markdown", "# Real\n\ntext\n")
    report = load_articles([tmp_path])
    assert [article.title for article in report.articles] == ["Real"]
    assert [path.name for path in report.skipped] == ["draft.md"]


def test_sections_keep_heading_path_and_code_blocks_intact(tmp_path: Path) -> None:
    article = load_one(
        tmp_path,
        "a.md",
        "# Title\n\n## Diagnosis\n\nLook:\n\n```bash\n# this is a shell comment, not a heading\n## nor this\ndf -h\n```\n\n"
        "### Check the pods\n\nkubectl get pods\n\n#### Deeper stays inside\n\ndetail\n\n## Fix\n\n    # indented code\n\nDone.\n",
    )
    sections = {section.heading: section for section in article.sections}
    assert list(sections) == ["Diagnosis", "Check the pods", "Fix"]
    assert sections["Check the pods"].heading_path == ("Diagnosis", "Check the pods")
    assert sections["Check the pods"].display_heading == "Diagnosis › Check the pods"
    assert "# this is a shell comment, not a heading\n## nor this\ndf -h" in sections["Diagnosis"].text
    assert "#### Deeper stays inside" in sections["Check the pods"].text
    assert "# indented code" in sections["Fix"].text
    assert sections["Check the pods"].anchor == "check-the-pods"


def test_relative_links_are_resolved_against_the_article(tmp_path: Path) -> None:
    article = load_one(
        tmp_path,
        "infra/disk.md",
        "# Disk\n\nSee [rotation](../logs/rotation.md#setup), [web](https://example.org/x.md), "
        "[here](#fix), `[code](not/touched.md)` and [ref][r].\n\n"
        'Also [Hugo]({{< ref "./other.md" >}}).\n\n[r]: ./notes/ref.md\n\n```\n[in code](keep.md)\n```\n',
    )
    text = article.markdown
    assert f"[rotation]({(tmp_path / 'logs/rotation.md').as_posix()}#setup)" in text
    assert "[web](https://example.org/x.md)" in text
    assert "[here](#fix)" in text
    assert "`[code](not/touched.md)`" in text
    assert f"[Hugo]({(tmp_path / 'infra/other.md').as_posix()})" in text
    assert f"[r]: {(tmp_path / 'infra/notes/ref.md').as_posix()}" in text
    assert "[in code](keep.md)" in text


def test_article_ids_are_relative_paths_and_unique_across_folders(tmp_path: Path) -> None:
    write(tmp_path / "one", "net/dns.md", "# DNS one\n")
    write(tmp_path / "two", "net/dns.md", "# DNS two\n")
    kb = KnowledgeBase.load([tmp_path / "one", tmp_path / "two"])
    assert [a.article_id for a in kb.articles] == ["net/dns", "two/net/dns"]
    assert kb.article("two/net/dns").title == "DNS two"
    assert kb.article("missing") is None


def test_missing_folder_is_reported(tmp_path: Path) -> None:
    report = load_articles([tmp_path / "nope"])
    assert report.articles == ()
    assert report.missing_roots == ((tmp_path / "nope").resolve(),)


def test_bundled_articles_follow_the_house_format() -> None:
    kb = KnowledgeBase.load_default()
    assert len(kb.articles) >= 25
    assert kb.report.problems == ()
    for article in kb.articles:
        headings = [section.heading for section in article.sections]
        for required in ("Symptoms", "Quick checks", "Fix", "Escalate when"):
            assert required in headings, (article.article_id, required)
        assert article.front_matter.get("category"), article.article_id
        assert isinstance(article.front_matter.get("tags"), list), article.article_id
        assert isinstance(article.front_matter.get("alerts"), list), article.article_id


def test_prometheus_runbooks_corpus_loads_every_file() -> None:
    report = load_articles([RUNBOOKS])
    assert len(report.articles) == 109
    assert report.problems == ()
    crash = next(a for a in report.articles if a.article_id == "kubernetes/KubePodCrashLooping")
    assert crash.title == "Kube Pod Crash Looping"
    assert crash.alerts == ("KubePodCrashLooping",)
    assert [s.heading for s in crash.sections] == ["Meaning", "Impact", "Diagnosis", "Mitigation"]
    space = next(a for a in report.articles if a.article_id == "node/NodeFilesystemSpaceFillingUp")
    mitigation = next(s for s in space.sections if s.heading == "Mitigation")
    assert "# TODO: Command needed" in mitigation.text  # a comment in a code block, not a heading
    no_front_matter = next(a for a in report.articles if a.article_id == "etcd/etcdNoLeader")
    assert no_front_matter.title == "etcdNoLeader"
    assert no_front_matter.alerts == ("etcdNoLeader",)
