"""What people type, made into a question or a `/kb` command: pure functions, safe to run before the ack.

Slack sends mentions, channels and links as markup (`<@U123>`, `<#C1|ops>`, `<https://x|label>`);
the search should see the words a person sees, not the markup.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from enum import StrEnum

from handlers.slack.blockkit import escape

_MENTION = re.compile(r"<@[UW][A-Z0-9]+(?:\|[^>]*)?>")
_CHANNEL = re.compile(r"<#[CG][A-Z0-9]+(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<!(?:subteam\^[A-Z0-9]+|here|channel|everyone)(?:\|([^>]*))?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]+)(?:\|([^>]*))?>")
_SPACE = re.compile(r"\s+")
USAGE_WORDS = frozenset({"help", "?", "usage"})


def clean_question(text: str, bot_user_id: str | None = None) -> str:
    """The question as plain words: the bot's mention dropped, other markup shown as its label."""
    if bot_user_id:
        text = re.sub(rf"<@{re.escape(bot_user_id)}(?:\|[^>]*)?>", " ", text)
    text = _MENTION.sub(" ", text)
    text = _CHANNEL.sub(lambda m: f"#{m.group(1)}" if m.group(1) else " ", text)
    text = _SPECIAL.sub(lambda m: m.group(1) or " ", text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1), text)
    return _SPACE.sub(" ", html.unescape(text)).strip()


def wants_usage(question: str) -> bool:
    """An empty question, or just "help", gets the usage instead of a search."""
    return not question or question.lower().strip(" !.") in USAGE_WORDS


class KbSubcommand(StrEnum):
    GAPS = "gaps"
    RELOAD = "reload"
    HELP = "help"


@dataclass(frozen=True)
class KbCommand:
    subcommand: KbSubcommand
    argument: str = ""  # the period for `gaps`
    problem: str | None = None  # why the text was not understood, shown above the usage


_ALIASES = {"gaps": KbSubcommand.GAPS, "gap": KbSubcommand.GAPS, "unanswered": KbSubcommand.GAPS,
            "reload": KbSubcommand.RELOAD, "refresh": KbSubcommand.RELOAD,
            "help": KbSubcommand.HELP, "?": KbSubcommand.HELP, "": KbSubcommand.HELP}  # fmt: skip


def parse_kb_command(text: str) -> KbCommand:
    word, _, rest = (text or "").strip().partition(" ")
    subcommand = _ALIASES.get(word.lower())
    if subcommand is None:
        return KbCommand(KbSubcommand.HELP, problem=f"I don't know `/kb {escape(word)}`.")
    if subcommand is KbSubcommand.RELOAD and rest.strip():
        return KbCommand(KbSubcommand.HELP, problem="`/kb reload` takes no arguments.")
    return KbCommand(subcommand, rest.strip())
