"""Block Kit for /oncall: who is on call now and next per team, and the notes an override sends.

Pure builders over small views. Times are written in the team's own time zone (the rota's hand-over
zone), since that is where "Monday 09:00" means something; team names from the config are escaped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Sequence
from zoneinfo import ZoneInfo

from core.text import escape
from handlers.escalations.blocks import mention_user
from handlers.escalations.on_call import Cover
from handlers.oncall.parsing import EXAMPLES
from handlers.slack.blockkit import (
    FALLBACK_TEXT_LIMIT,
    HEADER_TEXT_LIMIT,
    cap_blocks,
    code,
    context,
    humanize_duration,
    mrkdwn_section,
    truncate,
)


@dataclass(frozen=True)
class TeamOnCall:
    """One team's line in /oncall."""

    key: str
    name: str
    channel: str
    zone: str  # IANA name the times are shown in
    person: str | None  # on call now (the cover's person, else the rota's)
    scheduled: str | None  # who the rota or the fixed `user` names now
    cover: Cover | None
    has_rota: bool
    next_person: str | None = None
    next_at: datetime | None = None  # the next hand-over: the cover's end, else the rota's


@dataclass(frozen=True)
class CoverChange:
    """An override made, released or run out: what the team's channel and the people involved read."""

    team_key: str
    team_name: str
    zone: str
    user_id: str  # who covers (or covered)
    actor: str  # who took, gave or released it ("opsbot" when it ran out)
    ends_at: datetime
    then: str | None  # who is on call once the cover is over (None: nobody, the channel only)


def local_time(moment: datetime, zone: str) -> str:
    """`Fri 4 Dec 09:00 Europe/Berlin`: a wall-clock time where the team is."""
    local = moment.astimezone(ZoneInfo(zone))
    return f"{local:%a} {local.day} {local:%b %H:%M} {zone}"


def _in(moment: datetime, now: datetime) -> str:
    return f"in {humanize_duration((moment - now).total_seconds())}"


def _who(person: str | None) -> str:
    return mention_user(person) if person else "nobody (the team's channel only)"


def _team_lines(team: TeamOnCall, now: datetime) -> str:
    title = f"*{escape(team.name)}* {code(team.key)}"
    if team.person is None:
        return f"{title}\n*Now:* nobody is on call: escalations post in {escape(team.channel)}"
    if team.cover is not None:
        by = "" if team.cover.created_by == team.cover.user_id else f", set by {mention_user(team.cover.created_by)}"
        instead = f" instead of {mention_user(team.scheduled)}" if team.scheduled else ""
        now_line = (
            f"*Now:* {mention_user(team.person)} (cover{instead} until "
            f"{local_time(team.cover.ends_at, team.zone)}{by})"
        )
    elif not team.has_rota:
        now_line = f"*Now:* {mention_user(team.person)} (always: the team has no rota)"
    else:
        now_line = f"*Now:* {mention_user(team.person)}"
    if team.next_at is None:
        return f"{title}\n{now_line}"
    next_line = f"*Next:* {_who(team.next_person)} from {local_time(team.next_at, team.zone)} ({_in(team.next_at, now)})"
    return f"{title}\n{now_line}\n{next_line}"


def build_oncall_overview(teams: Sequence[TeamOnCall], now: datetime) -> tuple[str, list[dict[str, Any]]]:
    """The ephemeral answer to `/oncall [team]`: one section per team, within Slack's 50 blocks."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": truncate("📟 On call", HEADER_TEXT_LIMIT), "emoji": True}}
    ]
    blocks += [mrkdwn_section(_team_lines(team, now)) for team in teams]
    example = teams[0].key if teams else "dba"
    blocks.append(context(f"Cover a rota: `/oncall take {escape(example)} until friday` · more: `/oncall help`"))
    summary = "; ".join(f"{escape(team.name)}: {_who(team.person)}" for team in teams) or "no teams"
    return truncate(f"On call: {summary}", FALLBACK_TEXT_LIMIT), cap_blocks(blocks)


def _until(change: CoverChange) -> str:
    return local_time(change.ends_at, change.zone)


def build_cover_reply(change: CoverChange) -> str:
    """The ephemeral confirmation for whoever took or gave the cover."""
    who = "You are" if change.user_id == change.actor else f"{mention_user(change.user_id)} is"
    return (
        f"✅ {who} on call for *{escape(change.team_name)}* until {_until(change)}: escalations page "
        f"{mention_user(change.user_id)} until then, and {_who(change.then)} after. "
        f"`/oncall release {escape(change.team_key)}` ends it sooner."
    )


def build_cover_announcement(change: CoverChange) -> tuple[str, list[dict[str, Any]]]:
    """Posted in the team's channel when someone takes over the rota for a while."""
    by = "" if change.actor == change.user_id else f" (set by {mention_user(change.actor)})"
    text = (
        f"📟 {mention_user(change.user_id)} is on call for *{escape(change.team_name)}* until "
        f"{_until(change)}{by}; then {_who(change.then)} as the rota says."
    )
    return truncate(text, FALLBACK_TEXT_LIMIT), [mrkdwn_section(text)]


def build_cover_given_dm(change: CoverChange) -> tuple[str, list[dict[str, Any]]]:
    """The person someone else put on call hears it directly."""
    text = (
        f"📟 {mention_user(change.actor)} put you on call for *{escape(change.team_name)}* until {_until(change)}: "
        f"escalations to the team page you until then. `/oncall release {escape(change.team_key)}` ends it sooner."
    )
    return truncate(text, FALLBACK_TEXT_LIMIT), [mrkdwn_section(text)]


def build_release_announcement(change: CoverChange) -> tuple[str, list[dict[str, Any]]]:
    """A cover ended early (/oncall release): posted in the team's channel."""
    whose = "their" if change.actor == change.user_id else f"{mention_user(change.user_id)}'s"
    text = (
        f"↩️ {mention_user(change.actor)} ended {whose} cover for *{escape(change.team_name)}*: "
        f"{_who(change.then)} is on call again, as the rota says."
    )
    return truncate(text, FALLBACK_TEXT_LIMIT), [mrkdwn_section(text)]


def build_release_reply(change: CoverChange) -> str:
    """The ephemeral confirmation for whoever released a cover."""
    whose = "Your" if change.actor == change.user_id else f"{mention_user(change.user_id)}'s"
    return f"↩️ {whose} cover for *{escape(change.team_name)}* is over: {_who(change.then)} is on call again."


def build_cover_ended_announcement(change: CoverChange) -> tuple[str, list[dict[str, Any]]]:
    """A cover ran out by itself: posted in the team's channel."""
    text = (
        f"⏱ {mention_user(change.user_id)}'s cover for *{escape(change.team_name)}* ended at {_until(change)}: "
        f"{_who(change.then)} is on call again, as the rota says."
    )
    return truncate(text, FALLBACK_TEXT_LIMIT), [mrkdwn_section(text)]


def build_help(problem: str | None = None) -> str:
    """`problem` is already mrkdwn-safe (parsing escapes what the user typed)."""
    return (f"{problem}\n" if problem else "") + "*On call*\n" + EXAMPLES


def build_unknown_team(asked: str, teams: Sequence[tuple[str, str]]) -> str:
    """Unknown team: the refusal lists the teams there are, as `key` (name)."""
    known = ", ".join(f"{code(key)} ({escape(name)})" for key, name in teams) or "none configured"
    return f"I don't know the team {code(truncate(asked, 64))}. Teams: {known}."
