"""`/issue …` text and the new-issue modal's inputs, parsed into small dataclasses.

Pure and fast, so a listener can parse before it acks and put a mistake straight into the ack.
Slack sends mentions in command text as `<@U123|name>` (with "Escape channels, users, and links"
on for the command); a bare `@name` cannot be resolved without a directory call, so it is refused
with a hint instead of guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from core.vocabulary import Category, Priority
from handlers.errors import InvalidInput
from handlers.issues.ids import FIELD_ACTION_ID, NewIssueField
from handlers.issues.log import DESCRIPTION_LIMIT, TITLE_LIMIT, NewIssue
from handlers.issues.queries import IssueFilter, StatusScope
from handlers.slack.payloads import FormValues

LINK_LIMIT = 2000

USAGE = (
    "*`/issue` — the issue log*\n"
    "• `/issue new` — report a problem (opens a form)\n"
    "• `/issue list [open|resolved|all] [mine] [high|medium|low] [category]`"
    " — e.g. `/issue list mine high database`\n"
    "• `/issue show 12` — one issue with its timeline\n"
    "• `/issue assign 12 @someone` — give an issue to someone (responders)\n"
    "• `/issue comment 12 what you found` — add a note to the timeline\n"
    "• `/issue export [today|week|month|YYYY-MM-DD..YYYY-MM-DD]` — the log as CSV (default: this month)\n"
    "Categories: database, application, infrastructure, third-party, security, other."
)


@dataclass(frozen=True)
class HelpCommand:
    problem: str | None = None  # what was wrong with the text, shown above the usage


@dataclass(frozen=True)
class NewCommand:
    pass


@dataclass(frozen=True)
class ListCommand:
    filter: IssueFilter
    offset: int = 0


@dataclass(frozen=True)
class ShowCommand:
    issue_id: int


@dataclass(frozen=True)
class AssignCommand:
    issue_id: int
    assignee: str


@dataclass(frozen=True)
class CommentCommand:
    issue_id: int
    text: str


@dataclass(frozen=True)
class ExportCommand:
    period: str


IssueCommand = HelpCommand | NewCommand | ListCommand | ShowCommand | AssignCommand | CommentCommand | ExportCommand

_SUBCOMMANDS = {
    "new": "new", "report": "new", "create": "new",
    "list": "list", "ls": "list",
    "show": "show", "view": "show",
    "assign": "assign",
    "comment": "comment", "note": "comment",
    "export": "export", "csv": "export",
    "help": "help", "?": "help",
}  # fmt: skip
_SCOPES = {
    "open": StatusScope.OPEN, "resolved": StatusScope.RESOLVED, "closed": StatusScope.RESOLVED, "all": StatusScope.ALL,
}  # fmt: skip
_PRIORITIES = {priority.value.lower(): priority for priority in Priority}
_CATEGORIES = {category.value: category for category in Category} | {
    "db": Category.DATABASE,
    "app": Category.APPLICATION,
    "infra": Category.INFRASTRUCTURE,
    "thirdparty": Category.THIRD_PARTY,
    "third_party": Category.THIRD_PARTY,
    "3rd-party": Category.THIRD_PARTY,
    "sec": Category.SECURITY,
}
_ISSUE_ID = re.compile(r"^#?(\d{1,18})$")
_ESCAPED_USER = re.compile(r"^<@([UW][A-Z0-9]{2,})(?:\|[^>]*)?>$")
_RAW_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")


def parse_issue_id(token: str, example: str) -> int:
    match = _ISSUE_ID.match(token.strip())
    if match is None:
        raise InvalidInput(f"“{token}” is not an issue id: issue ids are numbers, like `{example}`.")
    return int(match.group(1))


def parse_user(token: str, caller: str) -> str:
    token = token.strip()
    if token.lower() in ("me", "myself"):
        return caller
    if (match := _ESCAPED_USER.match(token)) is not None:
        return match.group(1)
    if _RAW_USER.match(token):
        return token
    raise InvalidInput(
        f"I can't tell who “{token}” is. Mention them with @ and pick them from Slack's list "
        "(the command must have “Escape channels, users, and links” turned on), or write `me`."
    )


def parse_list_words(words: list[str]) -> IssueFilter:
    """`open|resolved|all`, `mine`, priorities and categories, in any order and any case."""
    scope = StatusScope.OPEN
    mine = False
    priorities: list[Priority] = []
    categories: list[Category] = []
    for word in (w.lower().strip(",") for w in words):
        if not word:
            continue
        if word in _SCOPES:
            scope = _SCOPES[word]
        elif word in ("mine", "my"):
            mine = True
        elif word in _PRIORITIES:
            priorities += [] if _PRIORITIES[word] in priorities else [_PRIORITIES[word]]
        elif word in _CATEGORIES:
            categories += [] if _CATEGORIES[word] in categories else [_CATEGORIES[word]]
        else:
            raise InvalidInput(
                f"I don't know “{word}” in `/issue list`. Use open|resolved|all, mine, high|medium|low "
                "and categories (database, application, infrastructure, third-party, security, other)."
            )
    return IssueFilter(scope=scope, mine=mine, priorities=tuple(priorities), categories=tuple(categories))


def _split(text: str) -> tuple[str, str]:
    """(first word, the rest with its own spacing and newlines kept)."""
    parts = text.strip().split(None, 1)
    if not parts:
        return "", ""
    return parts[0], parts[1] if len(parts) > 1 else ""


def parse_issue_command(text: str, caller: str) -> IssueCommand:
    """What `/issue <text>` asks for; InvalidInput for a known subcommand used wrongly."""
    word, rest = _split(text or "")
    if not word:
        return HelpCommand()
    subcommand = _SUBCOMMANDS.get(word.lower())
    if subcommand is None:
        return HelpCommand(problem=f"I don't know `/issue {word}`.")
    if subcommand == "help":
        return HelpCommand()
    if subcommand == "new":
        return NewCommand()
    if subcommand == "list":
        return ListCommand(parse_list_words(rest.split()))
    if subcommand == "export":
        return ExportCommand(rest.strip())
    target, rest = _split(rest)
    if not target:
        raise InvalidInput(f"Which issue? Use `/issue {subcommand} 12{' @someone' if subcommand == 'assign' else ''}`.")
    if subcommand == "show":
        return ShowCommand(parse_issue_id(target, "/issue show 12"))
    if subcommand == "assign":
        issue_id = parse_issue_id(target, "/issue assign 12 @someone")
        who, extra = _split(rest)
        if not who or extra:
            raise InvalidInput("Assign to one person: `/issue assign 12 @someone` (or `me`).")
        return AssignCommand(issue_id, parse_user(who, caller))
    issue_id = parse_issue_id(target, "/issue comment 12 what you found")
    if not rest.strip():
        raise InvalidInput(f"Write the comment after the id: `/issue comment {issue_id} what you found`.")
    return CommentCommand(issue_id, rest.strip())


def parse_more_value(value: str) -> ListCommand:
    """The "Next page" button's value, `offset|list words`, back into a list command."""
    offset, _, words = value.partition("|")
    if not offset.isdigit():
        raise InvalidInput("This button does not point at a page of issues.")
    return ListCommand(parse_list_words(words.split()), offset=int(offset))


def valid_link(url: str) -> bool:
    if len(url) > LINK_LIMIT or any(ch.isspace() for ch in url):
        return False
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def parse_new_issue(values: FormValues) -> NewIssue | dict[str, str]:
    """The modal's inputs as a NewIssue, or Slack's {block_id: error} for response_action=errors."""
    errors: dict[str, str] = {}
    title = values.text(NewIssueField.TITLE, FIELD_ACTION_ID)
    description = values.text(NewIssueField.DESCRIPTION, FIELD_ACTION_ID)
    priority = values.selected(NewIssueField.PRIORITY, FIELD_ACTION_ID)
    category = values.selected(NewIssueField.CATEGORY, FIELD_ACTION_ID)
    link = values.text(NewIssueField.LINK, FIELD_ACTION_ID)
    if not title:
        errors[NewIssueField.TITLE] = "Give the problem a short title."
    elif len(title) > TITLE_LIMIT:
        errors[NewIssueField.TITLE] = f"Keep the title under {TITLE_LIMIT} characters."
    if not description:
        errors[NewIssueField.DESCRIPTION] = "Describe what happens, so the team can reproduce it."
    elif len(description) > DESCRIPTION_LIMIT:
        errors[NewIssueField.DESCRIPTION] = f"Keep the description under {DESCRIPTION_LIMIT} characters."
    if priority not in Priority._value2member_map_:
        errors[NewIssueField.PRIORITY] = "Choose High, Medium or Low."
    if category not in Category._value2member_map_:
        errors[NewIssueField.CATEGORY] = "Choose a category."
    if link and not valid_link(link):
        errors[NewIssueField.LINK] = "Give a web address starting with http:// or https://."
    if errors:
        return errors
    return NewIssue(
        title=title,
        description=description,
        priority=Priority(priority),
        category=Category(category),
        link_url=link or None,
    )
