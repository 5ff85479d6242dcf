"""`/oncall …` text parsed into small dataclasses: pure, so a mistake is told before any work.

    /oncall                                   every team: who is on call now, who takes over next
    /oncall dba                               one team
    /oncall take dba until friday             the caller covers the team's rota until then
    /oncall give dba to @dana for 4h          someone else covers it
    /oncall release dba                       the cover ends now; the rota is back

When the override ends is parsed later (handlers/oncall/when.py), in the team's time zone.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.text import escape
from handlers.errors import InvalidInput
from handlers.issues.command_parsing import parse_user
from handlers.slack.blockkit import truncate

EXAMPLES = (
    "• `/oncall` — who is on call now and who takes over next, for every team\n"
    "• `/oncall dba` — the same for one team\n"
    "• `/oncall take dba until friday` — cover the team's rota yourself "
    "(`until 18:00`, `until 2026-12-04 09:00`, `for 4h` work too)\n"
    "• `/oncall give dba to @someone for 4h` — someone else covers it\n"
    "• `/oncall release dba` — end the cover now: the rota is back"
)


@dataclass(frozen=True)
class ShowOnCall:
    team: str | None = None  # None: every team


@dataclass(frozen=True)
class CoverOnCall:
    """take (user_id is the caller) or give: `user_id` covers `team` until what `when` says."""

    team: str
    user_id: str
    when: str  # "until friday", "for 4h": parsed in the team's time zone
    given: bool = False


@dataclass(frozen=True)
class ReleaseOnCall:
    team: str


@dataclass(frozen=True)
class OnCallHelp:
    problem: str | None = None


OnCallCommand = ShowOnCall | CoverOnCall | ReleaseOnCall | OnCallHelp


def _said(words: list[str]) -> str:
    return escape(truncate(" ".join(words), 80))


def _team(words: list[str], usage: str) -> str:
    if not words:
        raise InvalidInput(f"Which team? Use `{usage}`.")
    return words[0].lower()


def _when(words: list[str], usage: str) -> str:
    if not words:
        raise InvalidInput(f"Until when? Use `{usage}`.")
    return " ".join(words)


def parse_oncall_command(text: str, caller: str) -> OnCallCommand:
    """What `/oncall <text>` asks for; InvalidInput for a subcommand used wrongly."""
    words = (text or "").split()
    if not words:
        return ShowOnCall()
    verb, rest = words[0].lower(), words[1:]
    if verb == "help":
        return OnCallHelp()
    if verb == "take":
        usage = "/oncall take dba until friday"
        return CoverOnCall(_team(rest, usage), caller, _when(rest[1:], usage))
    if verb == "give":
        usage = "/oncall give dba to @someone until friday"
        team = _team(rest, usage)
        rest = rest[1:]
        if rest and rest[0].lower() == "to":
            rest = rest[1:]
        if not rest:
            raise InvalidInput(f"Give it to whom? Use `{usage}`.")
        return CoverOnCall(team, parse_user(rest[0], caller), _when(rest[1:], usage), given=True)
    if verb == "release":
        usage = "/oncall release dba"
        if len(rest) > 1:
            raise InvalidInput(f"Release one team at a time: `{usage}`.")
        return ReleaseOnCall(_team(rest, usage))
    if len(words) == 1:
        return ShowOnCall(verb)
    return OnCallHelp(problem=f"I don't know `/oncall {_said(words)}`.")
