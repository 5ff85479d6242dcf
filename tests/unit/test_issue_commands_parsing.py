"""`/issue` text and the new-issue modal's inputs, parsed without Slack."""

from __future__ import annotations

import pytest

from core.vocabulary import Category, Priority
from handlers.issues.command_parsing import (
    AssignCommand,
    CommentCommand,
    ExportCommand,
    HelpCommand,
    ListCommand,
    NewCommand,
    ShowCommand,
    parse_issue_command,
    parse_more_value,
    parse_new_issue,
    valid_link,
)
from handlers.slack.payloads import FormValues
from handlers.errors import InvalidInput
from handlers.issues.log import NewIssue
from handlers.issues.queries import IssueFilter, StatusScope

ME = "U0ME"


def test_subcommands_and_their_arguments() -> None:
    assert parse_issue_command("", ME) == HelpCommand()
    assert parse_issue_command("HELP", ME) == HelpCommand()
    assert parse_issue_command("new", ME) == NewCommand()
    assert parse_issue_command("show #12", ME) == ShowCommand(12)
    assert parse_issue_command("assign 12 <@U0ANN|ann>", ME) == AssignCommand(12, "U0ANN")
    assert parse_issue_command("assign 12 <@W0ANN>", ME) == AssignCommand(12, "W0ANN")
    assert parse_issue_command("assign 12 me", ME) == AssignCommand(12, ME)
    assert parse_issue_command("comment 7   restarted it,\n  twice", ME) == CommentCommand(7, "restarted it,\n  twice")
    assert parse_issue_command("export", ME) == ExportCommand("")
    assert parse_issue_command("export 2026-11-01..2026-11-15", ME) == ExportCommand("2026-11-01..2026-11-15")


def test_unknown_subcommands_answer_with_usage() -> None:
    command = parse_issue_command("frobnicate 12", ME)
    assert isinstance(command, HelpCommand) and "/issue frobnicate" in (command.problem or "")


def test_list_words_in_any_order_and_case() -> None:
    command = parse_issue_command("list mine HIGH database", ME)
    assert command == ListCommand(IssueFilter(StatusScope.OPEN, True, (Priority.HIGH,), (Category.DATABASE,)))
    assert parse_issue_command("list", ME) == ListCommand(IssueFilter())
    both = parse_issue_command("ls db all low high third-party low", ME)
    assert isinstance(both, ListCommand)
    assert both.filter == IssueFilter(StatusScope.ALL, False, (Priority.LOW, Priority.HIGH), (Category.DATABASE, Category.THIRD_PARTY))
    assert both.filter.words() == "all low high database third-party"
    assert parse_issue_command("list resolved", ME).filter.scope is StatusScope.RESOLVED  # type: ignore[union-attr]


def test_filters_describe_themselves() -> None:
    assert IssueFilter().describe() == "open issues"
    assert IssueFilter(StatusScope.ALL, True, (Priority.HIGH,), (Category.DATABASE,)).describe() == (
        "High database issues reported by or assigned to you"
    )


@pytest.mark.parametrize(
    "text, message",
    [
        ("list urgent", "I don't know “urgent”"),
        ("show twelve", "not an issue id"),
        ("show", "Which issue?"),
        ("assign 12", "Assign to one person"),
        ("assign 12 @ann", "Mention them with @"),
        ("assign 12 <@U0ANN> <@U0BOB>", "Assign to one person"),
        ("comment 12", "Write the comment after the id"),
    ],
)
def test_mistakes_are_explained(text: str, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        parse_issue_command(text, ME)


def test_next_page_button_value_round_trips() -> None:
    command = parse_more_value("20|open mine high")
    assert command.offset == 20 and command.filter.mine and command.filter.priorities == (Priority.HIGH,)
    with pytest.raises(InvalidInput):
        parse_more_value("x|open")


def _values(title="Disk full", description="On build-3", priority="High", category="infrastructure", link=None):  # type: ignore[no-untyped-def]
    return FormValues({
        "issue_new.title": {"value": {"type": "plain_text_input", "value": title}},
        "issue_new.description": {"value": {"type": "plain_text_input", "value": description}},
        "issue_new.priority": {"value": {"type": "static_select", "selected_option": {"value": priority} if priority else None}},
        "issue_new.category": {"value": {"type": "static_select", "selected_option": {"value": category} if category else None}},
        "issue_new.link": {"value": {"type": "url_text_input", "value": link}},
    })


def test_the_modal_becomes_a_new_issue() -> None:
    parsed = parse_new_issue(_values(title="  Disk full  ", link="https://shots.example.com/a.png"))
    assert parsed == NewIssue("Disk full", "On build-3", Priority.HIGH, Category.INFRASTRUCTURE, "https://shots.example.com/a.png")
    assert parse_new_issue(_values(link="")) == NewIssue("Disk full", "On build-3", Priority.HIGH, Category.INFRASTRUCTURE, None)


def test_the_modal_reports_each_bad_field() -> None:
    errors = parse_new_issue(_values(title="x" * 201, description=" ", priority=None, category="weather", link="ftp://x"))
    assert isinstance(errors, dict)
    assert set(errors) == {"issue_new.title", "issue_new.description", "issue_new.priority", "issue_new.category", "issue_new.link"}


@pytest.mark.parametrize(
    "url, ok",
    [
        ("https://example.com/shot.png", True),
        ("http://10.0.0.1:8080/x?y=1", True),
        ("javascript:alert(1)", False),
        ("https://", False),
        ("https://exa mple.com", False),
        ("example.com/shot.png", False),
        ("https://example.com/" + "a" * 2000, False),
    ],
)
def test_links_must_be_web_addresses(url: str, ok: bool) -> None:
    assert valid_link(url) is ok
