"""Teams that take escalations (the `teams:` config section) and who of them is on call right now.

A rota hands over weekly at a local wall-clock time computed with zoneinfo, so daylight saving
never moves the hand-over. With no teams configured the directory offers one default team per
category, all posting to the default channel, so escalating works before anyone writes config.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from datetime import time as Time
from typing import Annotated, Literal, Mapping
from zoneinfo import ZoneInfo

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from core.settings_types import StrictModel, TimeZoneName
from core.vocabulary import Category
from handlers.people import USER_ID_OR_EMAIL, replace_people

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
WEEKDAYS: tuple[str, ...] = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
DEFAULT_EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"

SlackUserId = Annotated[str, StringConstraints(pattern=USER_ID_OR_EMAIL)]  # an email is looked up (handlers.people)
SlackGroupId = Annotated[str, StringConstraints(pattern=r"^S[A-Z0-9]{2,}$")]
TeamKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")]


class Handover(StrictModel):
    day: Weekday = "monday"
    time: Time = Time(9, 0)  # local wall-clock time of the hand-over
    timezone: TimeZoneName = "UTC"


class OnCall(StrictModel):
    """Either one fixed person (`user`) or a weekly `rota` whose first person took over on `starts_on`."""

    user: SlackUserId | None = None
    rota: list[SlackUserId] = Field(default_factory=list)
    handover: Handover = Field(default_factory=Handover)
    starts_on: date | None = None

    @model_validator(mode="after")
    def _one_way(self) -> "OnCall":
        if bool(self.user) == bool(self.rota):
            raise ValueError("give either `user` (a fixed person) or `rota` (a list of Slack user ids or emails)")
        if self.rota:
            if self.starts_on is None:
                raise ValueError("a rota needs `starts_on`: the date the first person in the list took over")
            if WEEKDAYS[self.starts_on.weekday()] != self.handover.day:
                raise ValueError(f"starts_on {self.starts_on} is not a {self.handover.day} (the hand-over day)")
        return self

    def at(self, moment: datetime) -> str:
        """Who is on call at `moment`: the rota advances one person at each weekly hand-over."""
        if self.user:
            return self.user
        assert self.starts_on is not None
        local = moment.astimezone(ZoneInfo(self.handover.timezone))
        back = (local.weekday() - WEEKDAYS.index(self.handover.day)) % 7
        last_handover = local.date() - timedelta(days=back)
        if back == 0 and local.time().replace(tzinfo=None) < self.handover.time:
            last_handover -= timedelta(days=7)
        weeks = (last_handover - self.starts_on).days // 7
        return self.rota[weeks % len(self.rota)]


class EscalationLevel(StrictModel):
    """A further level of the chain: who hears next when nobody acknowledged for `after_minutes`."""

    after_minutes: int = Field(ge=1, le=7 * 24 * 60)
    name: str = Field(default="", max_length=60)  # "team lead", "secondary", "managers"
    users: list[SlackUserId] = Field(default_factory=list)  # each gets a DM
    on_call: OnCall | None = None  # e.g. a secondary rota
    channel: str | None = None  # posted there, with `usergroup` mentioned
    usergroup: SlackGroupId | None = None

    @model_validator(mode="after")
    def _somebody(self) -> "EscalationLevel":
        if not self.users and self.on_call is None and not self.channel:
            raise ValueError("a level needs `users`, `on_call` or `channel`")
        return self

    def people(self, moment: datetime) -> list[str]:
        people = list(self.users)
        if self.on_call is not None and (person := self.on_call.at(moment)) not in people:
            people.append(person)
        return people


class PagerDutySettings(StrictModel):
    """Outbound Events API v2: the routing key comes from the environment variable named here."""

    routing_key_env: str = Field(pattern=r"^[A-Z_][A-Z0-9_]*$")
    events_url: str = Field(default=DEFAULT_EVENTS_URL, pattern=r"^https?://")
    max_attempts: int = Field(default=12, ge=1, le=100)


class TeamSettings(StrictModel):
    name: str = Field(min_length=1, max_length=60)
    channel: str | None = None  # defaults to the config's default_channel
    usergroup: SlackGroupId | None = None  # mentioned as <!subteam^S...>
    categories: list[Category] = Field(default_factory=list)
    on_call: OnCall | None = None
    levels: list[EscalationLevel] = Field(default_factory=list, max_length=10)
    pagerduty: PagerDutySettings | None = None


def _one_team_per_category(teams: dict[str, TeamSettings]) -> dict[str, TeamSettings]:
    owner: dict[str, str] = {}
    for key, team in teams.items():
        for category in team.categories:
            if category in owner:
                raise ValueError(f"category {category} is covered by both {owner[category]} and {key}")
            owner[category] = key
    return teams


Teams = Annotated[dict[TeamKey, TeamSettings], AfterValidator(_one_team_per_category)]

# Who takes which category when nobody configured teams (the process the bot was built from).
DEFAULT_TEAMS: dict[str, TeamSettings] = {
    "dba": TeamSettings(name="DBAs", categories=["database"]),
    "developers": TeamSettings(name="Developers", categories=["application"]),
    "sysadmins": TeamSettings(name="System administrators", categories=["infrastructure"]),
    "vendor-liaison": TeamSettings(name="Vendor liaison", categories=["third-party"]),
    "security": TeamSettings(name="Security", categories=["security"]),
}
FALLBACK_TEAM_KEY = "operations"


@dataclass(frozen=True)
class Team:
    """A team as escalations use it: settings with the channel resolved."""

    key: str
    name: str
    channel: str
    usergroup: str | None
    categories: tuple[str, ...]
    on_call: OnCall | None
    levels: tuple[EscalationLevel, ...]
    pagerduty: PagerDutySettings | None

    def on_call_at(self, moment: datetime) -> str | None:
        """The config's answer alone; escalations ask handlers.escalations.on_call.on_call_for, which
        also honours /oncall overrides."""
        return self.on_call.at(moment) if self.on_call is not None else None

    def level(self, number: int) -> EscalationLevel | None:
        """Level 2 is levels[0]; level 1 is the team itself."""
        index = number - 2
        return self.levels[index] if 0 <= index < len(self.levels) else None

    def next_level_at(self, current_level: int, moment: datetime) -> datetime | None:
        following = self.level(current_level + 1)
        return moment + timedelta(minutes=following.after_minutes) if following is not None else None


class TeamDirectory:
    def __init__(self, teams: Mapping[str, TeamSettings], *, default_channel: str) -> None:
        self.configured = bool(teams)
        self.default_channel = default_channel
        source = teams or DEFAULT_TEAMS
        self._teams = {key: self._resolve(key, settings) for key, settings in source.items()}

    def _resolve(self, key: str, settings: TeamSettings) -> Team:
        return Team(
            key=key,
            name=settings.name,
            channel=settings.channel or self.default_channel,
            usergroup=settings.usergroup,
            categories=tuple(settings.categories),
            on_call=settings.on_call,
            levels=tuple(settings.levels),
            pagerduty=settings.pagerduty,
        )

    def people(self) -> list[str]:
        """Everyone the teams name: on call (fixed or rota) and each level's users and on-call."""
        found: list[str] = []
        for team in self._teams.values():
            for on_call in [team.on_call, *(level.on_call for level in team.levels)]:
                if on_call is not None:
                    found += [on_call.user] if on_call.user else on_call.rota
            for level in team.levels:
                found += level.users
        return found

    def use_user_ids(self, ids: dict[str, str]) -> None:
        """Emails the config named replaced by their user ids (PeopleDirectory.resolve, at start-up)."""

        def on_call(value: OnCall | None) -> OnCall | None:
            if value is None:
                return None
            user = ids.get(value.user, value.user) if value.user else None
            return value.model_copy(update={"user": user, "rota": replace_people(value.rota, ids)})

        for key, team in self._teams.items():
            levels = tuple(
                level.model_copy(update={"users": replace_people(level.users, ids), "on_call": on_call(level.on_call)})
                for level in team.levels
            )
            self._teams[key] = replace(team, on_call=on_call(team.on_call), levels=levels)

    @property
    def teams(self) -> list[Team]:
        return list(self._teams.values())

    def get(self, key: str) -> Team | None:
        return self._teams.get(key)

    def name_of(self, key: str) -> str:
        """The team's display name; an escalation to a team since removed from the config shows its key."""
        team = self._teams.get(key)
        return team.name if team else ("Operations" if key == FALLBACK_TEAM_KEY else key)

    def for_category(self, category: str) -> Team | None:
        return next((team for team in self._teams.values() if category in team.categories), None)

    def for_automatic(self, category: str) -> Team:
        """The team an automatic escalation goes to; nobody covering the category means operations."""
        team = self.for_category(category)
        if team is not None:
            return team
        return self._teams.get(FALLBACK_TEAM_KEY) or Team(
            key=FALLBACK_TEAM_KEY,
            name="Operations",
            channel=self.default_channel,
            usergroup=None,
            categories=(),
            on_call=None,
            levels=(),
            pagerduty=None,
        )
