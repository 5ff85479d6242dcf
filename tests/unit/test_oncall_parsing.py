"""/oncall's words: the subcommands, and when an override ends (`until friday`, `for 4h`, ...) in the team's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from handlers.errors import InvalidInput
from handlers.escalations.on_call import next_handover
from handlers.escalations.teams import OnCall
from handlers.oncall.parsing import CoverOnCall, OnCallHelp, ReleaseOnCall, ShowOnCall, parse_oncall_command
from core.settings_types import duration_from_text as parse_duration
from handlers.oncall.when import parse_clock, parse_end

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2 December 2026, 14:30 in Berlin (13:30 UTC).
NOW = datetime(2026, 12, 2, 14, 30, tzinfo=BERLIN).astimezone(timezone.utc)


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(timezone.utc)  # type: ignore[misc]


def end(text: str, *, now: datetime = NOW, day_starts: time = time(9, 0)) -> datetime:
    return parse_end(text, now=now, zone=BERLIN, day_starts=day_starts)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("until friday", berlin(2026, 12, 4, 9, 0)),  # a day alone: the hand-over time
        ("until Fri", berlin(2026, 12, 4, 9, 0)),
        ("until friday 18:00", berlin(2026, 12, 4, 18, 0)),
        ("until friday 6pm", berlin(2026, 12, 4, 18, 0)),
        ("until wednesday", berlin(2026, 12, 9, 9, 0)),  # said on a Wednesday: next week's
        ("until monday", berlin(2026, 12, 7, 9, 0)),
        ("until 18:00", berlin(2026, 12, 2, 18, 0)),  # later today
        ("until 9:15", berlin(2026, 12, 3, 9, 15)),  # already past today: tomorrow
        ("until 7am", berlin(2026, 12, 3, 7, 0)),
        ("until 12pm", berlin(2026, 12, 3, 12, 0)),
        ("till tomorrow", berlin(2026, 12, 3, 9, 0)),
        ("until tomorrow 20:00", berlin(2026, 12, 3, 20, 0)),
        ("until today 23:00", berlin(2026, 12, 2, 23, 0)),
        ("until 2026-12-04 09:00", berlin(2026, 12, 4, 9, 0)),
        ("until 2026-12-04T17:30", berlin(2026, 12, 4, 17, 30)),
        ("until 2026-12-05", berlin(2026, 12, 5, 9, 0)),
        ("for 4h", NOW + timedelta(hours=4)),
        ("for 90m", NOW + timedelta(minutes=90)),
        ("for 1h30m", NOW + timedelta(minutes=90)),
        ("for 2 days", NOW + timedelta(days=2)),
        ("FOR 1 week", NOW + timedelta(days=7)),
    ],
)
def test_each_form_has_one_meaning_in_the_teams_zone(text: str, expected: datetime) -> None:
    assert end(text) == expected


def test_a_day_alone_ends_at_the_teams_own_hand_over_time() -> None:
    assert end("until friday", day_starts=time(8, 30)) == berlin(2026, 12, 4, 8, 30)


def test_wall_clock_times_hold_across_daylight_saving() -> None:
    before_spring = berlin(2027, 3, 26, 12, 0)  # Friday; clocks go forward on Sunday 28 March
    assert end("until monday", now=before_spring) == datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)  # 09:00 CEST


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "Until when?"),
        ("until", "I can't tell when"),
        ("until someday", "I can't tell when"),
        ("until friday 25:00", "I can't tell when"),
        ("until 2026-02-30", "I can't tell when"),
        ("until 18", "I can't tell when"),  # a bare number is no time
        ("for ever", "I can't tell when"),
        ("for 4", "I can't tell when"),
        ("later", "I can't tell when"),
        ("until 2026-12-01 09:00", "not in the future"),
        ("for 0h", "not in the future"),
        ("for 6 weeks", "at most 31 days"),
        ("until 2027-06-01", "at most 31 days"),
    ],
)
def test_bad_times_are_refused_with_the_forms_that_work(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        end(text)
    assert says in str(refusal.value)
    if "I can't tell" in says:
        assert "`until friday`" in str(refusal.value) and "`for 4h`" in str(refusal.value)


def test_what_people_typed_is_escaped_in_the_refusal() -> None:
    with pytest.raises(InvalidInput) as refusal:
        end("until <!channel> & <@U0EVIL>")
    assert "<!channel>" not in str(refusal.value) and "&lt;!channel&gt; &amp; &lt;@U0EVIL&gt;" in str(refusal.value)


def test_clock_and_duration_pieces() -> None:
    assert parse_clock("18:05") == time(18, 5) and parse_clock("12am") == time(0, 0)
    assert parse_clock("13pm") is None and parse_clock("24:00") is None and parse_clock("9") is None
    assert parse_duration("1d 12h") == timedelta(hours=36) and parse_duration("2 hrs") == timedelta(hours=2)
    assert parse_duration("4 parsecs") is None and parse_duration("") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ShowOnCall()),
        ("   ", ShowOnCall()),
        ("DBA", ShowOnCall("dba")),
        ("help", OnCallHelp()),
        ("take dba until friday", CoverOnCall("dba", "U0ME", "until friday")),
        ("TAKE Dba for 4h", CoverOnCall("dba", "U0ME", "for 4h")),
        ("give dba to <@U0DANA|dana> until 18:00", CoverOnCall("dba", "U0DANA", "until 18:00", given=True)),
        ("give dba <@U0DANA> for 2h", CoverOnCall("dba", "U0DANA", "for 2h", given=True)),
        ("give dba to me for 2h", CoverOnCall("dba", "U0ME", "for 2h", given=True)),
        ("release dba", ReleaseOnCall("dba")),
    ],
)
def test_subcommands(text: str, expected: object) -> None:
    assert parse_oncall_command(text, "U0ME") == expected


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("take", "Which team?"),
        ("take dba", "Until when?"),
        ("give dba to", "Give it to whom?"),
        ("give dba to @dana for 2h", "I can't tell who"),
        ("give dba to <@U0DANA>", "Until when?"),
        ("release", "Which team?"),
        ("release dba developers", "one team at a time"),
    ],
)
def test_subcommands_used_wrongly_say_how(text: str, says: str) -> None:
    with pytest.raises(InvalidInput) as refusal:
        parse_oncall_command(text, "U0ME")
    assert says in str(refusal.value)


def test_unknown_words_get_help_with_them_escaped() -> None:
    answer = parse_oncall_command("swap <!here> please", "U0ME")
    assert isinstance(answer, OnCallHelp) and answer.problem is not None
    assert "<!here>" not in answer.problem and "&lt;!here&gt;" in answer.problem


ROTA = OnCall.model_validate(
    {"rota": ["U0ANNA", "U0BEN"], "starts_on": "2026-01-05",
     "handover": {"day": "monday", "time": "09:00", "timezone": "Europe/Berlin"}}
)


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (NOW, berlin(2026, 12, 7, 9, 0)),  # Wednesday: next Monday
        (berlin(2026, 12, 7, 8, 59), berlin(2026, 12, 7, 9, 0)),  # Monday before the hand-over: today
        (berlin(2026, 12, 7, 9, 0), berlin(2026, 12, 14, 9, 0)),  # at the hand-over: the one after
        (berlin(2027, 3, 24, 12, 0), datetime(2027, 3, 29, 7, 0, tzinfo=timezone.utc)),  # across DST: still 09:00
    ],
)
def test_next_handover_is_the_rotas_next_wall_clock_hand_over(moment: datetime, expected: datetime) -> None:
    assert next_handover(ROTA, moment) == expected


def test_a_fixed_person_never_hands_over() -> None:
    assert next_handover(OnCall(user="U0DEV"), NOW) is None
