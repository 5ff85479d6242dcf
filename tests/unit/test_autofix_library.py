"""The bundled runbook library: every runbook id an article cites exists, built from that article's steps;
endpoints turn the generic ones automatic; the config's runbooks replace bundled ones; the step messages."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from bot.config import ConfigError, OpsConfig, load_config
from handlers.autofix.blocks import AutofixAction, build_step_checked, build_step_request
from handlers.autofix.library import (
    ENDPOINT_PARAMS,
    RunbookLibrarySettings,
    article_runbooks,
    bundled_runbooks,
    list_items,
    step_name,
)
from handlers.autofix.params import PlannedManual, plan_run
from handlers.autofix.runbooks import HttpStep, ManualStep, Runbook, RunbookCatalog
from handlers.autofix.walkthrough import parse_step_value
from handlers.errors import InvalidInput, PermissionDenied
from handlers.roles import Role, RoleChecker, RoleSettings
from knowledge_base.loading import DEFAULT_ARTICLES_DIR

CITED = re.compile(r"^runbook:\s*(\S+)\s*$", re.MULTILINE)
ALERTS = re.compile(r"^alerts:\s*\[(.*)\]\s*$", re.MULTILINE)


def _front_matter(path: Path) -> str:
    return path.read_text(encoding="utf-8").split("---")[1]


def _cited() -> dict[str, Path]:
    """runbook id -> the article citing it, read straight from the files (not through the library)."""
    found = {}
    for path in sorted(DEFAULT_ARTICLES_DIR.glob("*.md")):
        match = CITED.search(_front_matter(path))
        if match:
            found[match.group(1)] = path
    return found


def test_every_runbook_id_a_bundled_article_cites_exists_with_steps() -> None:
    cited = _cited()
    library = {runbook.id: runbook for runbook in bundled_runbooks()}
    assert len(cited) == 32 and set(cited) <= set(library)
    for runbook_id in cited:
        runbook = library[runbook_id]
        assert len(runbook.steps) >= 1, runbook_id
        assert all(isinstance(step, ManualStep) and step.format == "markdown" for step in runbook.steps), runbook_id
        assert runbook.is_walkthrough and not runbook.auto and not runbook.confirm


def test_each_bundled_runbook_matches_the_alerts_its_article_lists_and_nothing_else() -> None:
    library = {runbook.id: runbook for runbook in bundled_runbooks()}
    for runbook_id, path in _cited().items():
        listed = ALERTS.search(_front_matter(path))
        names = [name.strip() for name in listed.group(1).split(",") if name.strip()] if listed else []
        for name in names:
            assert library[runbook_id].matches({"alertname": name, "service": "x"}), (runbook_id, name)
        assert not library[runbook_id].matches({"alertname": (names[0] if names else "") + "Other"})
    assert not library["RB-OPS-01"].matches({"alertname": "anything"})  # its article lists no alerts


def test_steps_are_the_articles_quick_checks_then_fix_items() -> None:
    disk = next(runbook for runbook in bundled_runbooks() if runbook.id == "RB-INF-03")
    names = [step.name for step in disk.steps]
    assert names[0] == "Which filesystem, how full, how fast?" and names[1] == "What is big?"
    assert names[-1] == "Afterwards, add or fix rotation so it does not come back."
    assert len(names) == 10 and disk.category == "infrastructure" and disk.title == "Disk space running out"
    assert "df -i" in disk.steps[0].text and disk.steps[0].text.count("```") == 2
    plan = plan_run(disk, {"alertname": "DiskFull"})
    assert all(isinstance(step, PlannedManual) and step.format == "markdown" for step in plan.steps)


def test_list_items_and_step_names() -> None:
    markdown = "Intro.\n\n1. First `df -h` check\n   ```bash\n   df -h\n   ```\n2. Second\n   - nested stays\n\n- Third"
    assert list_items(markdown) == ["First `df -h` check\n```bash\ndf -h\n```", "Second\n- nested stays", "Third"]
    assert step_name("First `df -h` check\n```bash\ndf -h\n```") == "First df -h check"
    long = "word " * 40
    assert len(step_name(long)) <= 100 and step_name(long).endswith("…")


def test_an_article_without_lists_still_gets_one_step(tmp_path: Path) -> None:
    (tmp_path / "odd.md").write_text("---\ntitle: Odd\nrunbook: RB-ODD-01\nalerts: [Odd]\n---\n\n## Fix\n\nJust restart it.\n")
    [runbook] = article_runbooks(tmp_path)
    assert [(step.name, step.text) for step in runbook.steps] == [("Follow the article", "Just restart it.")]


def test_the_cache_and_restart_runbooks_call_an_endpoint_once_configured() -> None:
    settings = RunbookLibrarySettings.model_validate({
        "clear_cache": {"url": "https://cache.example/flush?service={{ service }}",
                        "headers": {"Authorization": {"env": "CACHE_TOKEN", "prefix": "Bearer "}}},
        "restart_service": {"url": "https://jobs.example/restart", "body": {"instance": "{{ instance }}"}},
    })
    library = {runbook.id: runbook for runbook in bundled_runbooks(settings)}
    cache, restart = library["RB-APP-06"], library["RB-INF-06"]
    assert [type(step) for step in cache.steps] == [HttpStep] and cache.confirm and not cache.is_walkthrough
    assert list(cache.params) == ["service"] and list(restart.params) == ["instance"]
    assert cache.params["service"] == ENDPOINT_PARAMS["service"] and cache.button_label == "Auto-fix"
    assert cache.match_re == next(r for r in bundled_runbooks() if r.id == "RB-APP-06").match_re
    plan = plan_run(cache, {"alertname": "CacheHitRateLow", "service": "shop"})
    assert plan.steps[0].url == "https://cache.example/flush?service=shop"
    unconfigured = {runbook.id: runbook for runbook in bundled_runbooks()}
    assert unconfigured["RB-APP-06"].is_walkthrough and unconfigured["RB-APP-06"].button_label == "Walk me through it"
    assert bundled_runbooks(RunbookLibrarySettings(enabled=False)) == ()


@pytest.mark.parametrize(
    "endpoint, message",
    [
        ({"url": "https://cache.example/{{ secret }}"}, "may name only"),
        ({"url": "https://{{ service }}.example/flush"}, "never in its host"),
        ({"url": "ftp://cache.example/flush"}, "http(s)"),
    ],
)
def test_bad_endpoints_are_refused_at_load(endpoint: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        OpsConfig.model_validate({"runbook_library": {"clear_cache": endpoint}})


def _configured(**overrides: Any) -> dict[str, Any]:
    runbook = {"id": "RB-INF-03", "title": "Our clean-up", "steps": [{"kind": "command", "argv": ["/bin/true"]}]}
    runbook.update(overrides)
    return runbook


def test_a_configured_runbook_replaces_the_bundled_one_with_its_id() -> None:
    config = OpsConfig.model_validate({"runbooks": [_configured()]})
    catalog = RunbookCatalog(config.runbooks, bundled_runbooks())
    found = catalog.runbook_for([{"alertname": "DiskFull"}])
    assert found is not None and found.title == "Our clean-up" and found.match_re["alertname"].startswith("DiskFull|")
    assert catalog.get("RB-INF-03") is found and len(catalog) == 32
    assert catalog.runbook_for([{"alertname": "NothingKnowsThis"}]) is None
    assert catalog.runbook_for([{"alertname": "HighErrorRate"}]).id == "RB-APP-04"

    own = RunbookCatalog(OpsConfig.model_validate({"runbooks": [_configured(match={"alertname": "Mine"})]}).runbooks,
                         bundled_runbooks())
    assert own.runbook_for([{"alertname": "Mine"}]).title == "Our clean-up"
    assert own.runbook_for([{"alertname": "DiskFull"}]) is None  # its own match replaces the bundled alerts


def test_a_runbook_without_alerts_must_take_a_bundled_id(tmp_path: Path) -> None:
    path = tmp_path / "opsbot.yaml"
    path.write_text("runbooks:\n  - id: RB-MINE-01\n    title: Mine\n    steps: [{kind: manual, text: Look}]\n")
    with pytest.raises(ConfigError, match="only a bundled runbook's id may leave them out"):
        load_config(path)
    assert Runbook.model_validate(_configured(id="RB-MINE-01")).matches({"alertname": "DiskFull"}) is False


def test_a_step_request_and_its_checked_off_form() -> None:
    disk = next(runbook for runbook in bundled_runbooks() if runbook.id == "RB-INF-03")
    step = plan_run(disk, {}).steps[0]
    assert isinstance(step, PlannedManual)
    asked = build_step_request(disk, 42, 1, 10, step)
    actions = [block for block in asked["blocks"] if block["type"] == "actions"]
    [row] = actions
    assert [(e["action_id"], e["value"]) for e in row["elements"]] == [
        (AutofixAction.STEP_DONE, "42:1"), (AutofixAction.STEP_SKIP, "42:1"), (AutofixAction.STEP_STUCK, "42:1"),
    ]
    assert row["elements"][2]["confirm"]["confirm"]["text"] == "Escalate"
    text = asked["blocks"][0]["text"]["text"]
    assert text.startswith("🧭 Step 1/10 of *Disk space running out* (`RB-INF-03`): *Which filesystem") and "```" in text
    at = datetime(2026, 1, 5, 9, 30, tzinfo=timezone.utc)
    done = build_step_checked(disk.title, 1, 10, step, "done", "U0OPS", at)
    assert all(block["type"] != "actions" for block in done["blocks"])
    assert "done by <@U0OPS> at <!date^" in done["blocks"][0]["text"]["text"]
    stuck = build_step_checked(disk.title, 1, 10, step, "stuck", "U0OPS", at)
    assert "escalated" in json.dumps(stuck["blocks"])
    hostile = PlannedManual(name="<!channel> x", text="<@U1> & *y*")
    plain = build_step_request(disk, 1, 1, 1, hostile)["blocks"][0]["text"]["text"]
    assert "<!channel>" not in plain and "&lt;@U1&gt; &amp;" in plain


@pytest.mark.parametrize("value", ["", "1", "a:1", "1:0", "1:", ":1", "1:2:3", "1:123", "9" * 19 + ":1"])
def test_step_values_other_than_run_and_number_are_refused(value: str) -> None:
    with pytest.raises(InvalidInput):
        parse_step_value(value)
    assert parse_step_value("7:12") == (7, 12)


async def test_the_operator_refusal_says_who_grants_the_role() -> None:
    cases = [
        (RoleSettings(), "Nobody may run auto-fix yet: ask an opsbot admin to add you to roles.operator in "
                         "OPSBOT_CONFIG (no admin is named there yet)."),
        (RoleSettings(admin=["U0ADMIN", "S0GROUP"]), "You need the operator role to run auto-fix: ask <@U0ADMIN>, "
                                                     "<!subteam^S0GROUP> (opsbot admins) to add you to roles.operator."),
        (RoleSettings(operator=["U0OPS"], admin=["sam@example.com"]),
         "You need the operator role to run auto-fix: ask sam@example.com (opsbot admin) to add you to roles.operator."),
    ]
    for settings, expected in cases:
        with pytest.raises(PermissionDenied) as refused:
            await RoleChecker(settings, _no_groups).require("U0NOBODY", Role.OPERATOR, "run auto-fix")
        assert str(refused.value) == expected


async def _no_groups(group_id: str) -> set[str]:
    return set()
