"""Who is on call: weekly hand-over in the team's time zone, across week, year and DST boundaries."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.config import OpsConfig
from handlers.escalations.teams import OnCall, TeamDirectory

BERLIN = ZoneInfo("Europe/Berlin")
ROTA = OnCall.model_validate(
    {
        "rota": ["U0ANNA", "U0BEN", "U0CLARA"],
        "starts_on": "2026-01-05",
        "handover": {"day": "monday", "time": "09:00", "timezone": "Europe/Berlin"},
    }
)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(timezone.utc)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (berlin(2026, 1, 5, 8, 59), "U0CLARA"),  # a minute before the first hand-over: the week before
        (berlin(2026, 1, 5, 9, 0), "U0ANNA"),
        (berlin(2026, 1, 11, 23, 59), "U0ANNA"),  # Sunday night: still Anna's week
        (berlin(2026, 1, 12, 8, 59, 59), "U0ANNA"),  # Monday morning before 09:00: still Anna
        (berlin(2026, 1, 12, 9, 0), "U0BEN"),  # hand-over
        (berlin(2026, 1, 19, 9, 0), "U0CLARA"),
        (berlin(2026, 1, 26, 9, 0), "U0ANNA"),  # the rota wraps
        (berlin(2026, 1, 1, 12, 0), "U0CLARA"),  # before starts_on, across the year boundary
        (berlin(2025, 12, 29, 8, 0), "U0BEN"),
    ],
)
def test_rota_hands_over_weekly_at_local_time(moment: datetime, expected: str) -> None:
    assert ROTA.at(moment) == expected


def test_hand_over_follows_the_wall_clock_through_daylight_saving() -> None:
    # Summer time starts on Sunday 2026-03-29: Monday's 09:00 is 07:00 UTC, not 08:00.
    monday = datetime(2026, 3, 30, tzinfo=timezone.utc)
    week_12 = ROTA.at(monday + timedelta(hours=7))
    assert week_12 == "U0ANNA"  # 12 weeks after starts_on
    assert ROTA.at(monday + timedelta(hours=6, minutes=59)) == "U0CLARA"
    # Winter time again: 09:00 is 08:00 UTC.
    assert ROTA.at(datetime(2026, 11, 2, 7, 59, tzinfo=timezone.utc)) == ROTA.at(datetime(2026, 10, 30, tzinfo=timezone.utc))
    assert ROTA.at(datetime(2026, 11, 2, 8, 0, tzinfo=timezone.utc)) != ROTA.at(datetime(2026, 10, 30, tzinfo=timezone.utc))


def test_a_fixed_person_is_always_on_call() -> None:
    fixed = OnCall.model_validate({"user": "U0DEV"})
    assert fixed.at(datetime(2030, 6, 1, tzinfo=timezone.utc)) == "U0DEV"


@pytest.mark.parametrize(
    ("on_call", "message"),
    [
        ({"rota": ["U0A1"]}, "starts_on"),
        ({"rota": ["U0A1"], "starts_on": "2026-01-06"}, "is not a monday"),
        ({"rota": ["U0A1"], "user": "U0B1", "starts_on": "2026-01-05"}, "either `user`"),
        ({}, "either `user`"),
        ({"user": "alice"}, "String should match pattern"),
        ({"user": "U0A1", "handover": {"timezone": "Mars/Olympus"}}, "unknown time zone"),
    ],
)
def test_bad_on_call_config_is_refused_with_a_reason(on_call: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        OnCall.model_validate(on_call)


def test_teams_config_levels_and_one_team_per_category() -> None:
    config = OpsConfig.model_validate(
        {
            "default_channel": "#ops",
            "teams": {
                "dba": {
                    "name": "DBAs", "categories": ["database"], "on_call": {"user": "U0DBA"},
                    "levels": [{"after_minutes": 10, "users": ["U0LEAD"]}, {"after_minutes": 20, "channel": "#mgr"}],
                },
                "web": {"name": "Web", "channel": "#web", "categories": ["application"]},
            },
        }
    )
    directory = TeamDirectory(config.teams, default_channel=config.default_channel)
    dba = directory.for_category("database")
    assert dba is not None and dba.channel == "#ops" and directory.configured
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert dba.next_level_at(1, now) == now + timedelta(minutes=10)
    assert dba.next_level_at(2, now) == now + timedelta(minutes=20)
    assert dba.next_level_at(3, now) is None
    assert directory.for_category("security") is None
    assert directory.for_automatic("security").name == "Operations"

    with pytest.raises(ValidationError, match="covered by both"):
        OpsConfig.model_validate({"teams": {"a": {"name": "A", "categories": ["database"]},
                                            "b": {"name": "B", "categories": ["database"]}}})
    with pytest.raises(ValidationError, match="needs `users`"):
        OpsConfig.model_validate({"teams": {"a": {"name": "A", "levels": [{"after_minutes": 5}]}}})
    with pytest.raises(ValidationError):
        OpsConfig.model_validate({"teams": {"A Team!": {"name": "A"}}})


def test_no_teams_configured_means_default_teams_in_the_default_channel() -> None:
    directory = TeamDirectory({}, default_channel="#alerts")
    assert not directory.configured
    assert [(t.name, t.channel) for t in directory.teams][:2] == [("DBAs", "#alerts"), ("Developers", "#alerts")]
    assert {t.categories[0]: t.name for t in directory.teams} == {
        "database": "DBAs", "application": "Developers", "infrastructure": "System administrators",
        "third-party": "Vendor liaison", "security": "Security",
    }
    assert directory.for_category("other") is None
