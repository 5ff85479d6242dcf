"""/oncall's Block Kit: now and next per team in the team's time zone, the override notes, escaped and within limits."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from slack_sdk.models.blocks import Block

from handlers.escalations.on_call import Cover
from handlers.oncall.blocks import (
    CoverChange,
    TeamOnCall,
    build_cover_announcement,
    build_cover_ended_announcement,
    build_cover_given_dm,
    build_cover_reply,
    build_help,
    build_oncall_overview,
    build_release_announcement,
    build_release_reply,
    build_unknown_team,
    local_time,
)
from handlers.slack.blockkit import MESSAGE_BLOCK_LIMIT, SECTION_TEXT_LIMIT

NOW = datetime(2026, 12, 2, 13, 30, tzinfo=timezone.utc)  # Wednesday, 14:30 in Berlin
MONDAY_0900_BERLIN = datetime(2026, 12, 7, 8, 0, tzinfo=timezone.utc)
FRIDAY_0900_BERLIN = datetime(2026, 12, 4, 8, 0, tzinfo=timezone.utc)


def _team(**overrides: object) -> TeamOnCall:
    values: dict[str, object] = dict(
        key="dba", name="DBAs", channel="#dba", zone="Europe/Berlin", person="U0DBA1", scheduled="U0DBA1",
        cover=None, has_rota=True, next_person="U0DBA2", next_at=MONDAY_0900_BERLIN,
    )
    values.update(overrides)
    return TeamOnCall(**values)  # type: ignore[arg-type]


def _change(**overrides: object) -> CoverChange:
    values: dict[str, object] = dict(
        team_key="dba", team_name="DBAs", zone="Europe/Berlin", user_id="U0DANA", actor="U0DANA",
        ends_at=FRIDAY_0900_BERLIN, then="U0DBA2",
    )
    values.update(overrides)
    return CoverChange(**values)  # type: ignore[arg-type]


def _valid(blocks: list[dict]) -> str:
    for block in blocks:
        Block.parse(block).validate_json()  # type: ignore[union-attr]
    return json.dumps(blocks, ensure_ascii=False)


def test_times_are_written_where_the_team_is() -> None:
    assert local_time(MONDAY_0900_BERLIN, "Europe/Berlin") == "Mon 7 Dec 09:00 Europe/Berlin"
    assert local_time(MONDAY_0900_BERLIN, "America/New_York") == "Mon 7 Dec 03:00 America/New_York"


def test_overview_shows_now_and_next_with_the_hand_over_in_the_teams_zone() -> None:
    text, blocks = build_oncall_overview([_team()], NOW)
    body = _valid(blocks)
    assert blocks[0]["text"]["text"] == "📟 On call"
    section = blocks[1]["text"]["text"]
    assert section.splitlines() == [
        "*DBAs* `dba`",
        "*Now:* <@U0DBA1>",
        "*Next:* <@U0DBA2> from Mon 7 Dec 09:00 Europe/Berlin (in 4d 18h)",
    ]
    assert "/oncall take dba until friday" in body
    assert text == "On call: DBAs: <@U0DBA1>"


def test_overview_of_a_cover_says_whose_shift_it_covers_until_when_and_who_set_it() -> None:
    cover = Cover(override_id=1, user_id="U0DANA", ends_at=FRIDAY_0900_BERLIN, created_by="U0LEAD")
    _, blocks = build_oncall_overview([_team(person="U0DANA", cover=cover, next_person="U0DBA1", next_at=cover.ends_at)], NOW)
    lines = blocks[1]["text"]["text"].splitlines()
    assert lines[1] == "*Now:* <@U0DANA> (cover instead of <@U0DBA1> until Fri 4 Dec 09:00 Europe/Berlin, set by <@U0LEAD>)"
    assert lines[2] == "*Next:* <@U0DBA1> from Fri 4 Dec 09:00 Europe/Berlin (in 42h 30m)"


def test_overview_of_fixed_people_and_teams_nobody_is_on_call_for() -> None:
    fixed = _team(key="developers", name="Developers", person="U0DEV", scheduled="U0DEV", has_rota=False,
                  next_person=None, next_at=None, zone="UTC")
    nobody = _team(key="security", name="Security", channel="#alerts", person=None, scheduled=None, has_rota=False,
                   next_person=None, next_at=None, zone="UTC")
    text, blocks = build_oncall_overview([fixed, nobody], NOW)
    _valid(blocks)
    assert blocks[1]["text"]["text"] == "*Developers* `developers`\n*Now:* <@U0DEV> (always: the team has no rota)"
    assert blocks[2]["text"]["text"] == "*Security* `security`\n*Now:* nobody is on call: escalations post in #alerts"
    assert text == "On call: Developers: <@U0DEV>; Security: nobody (the team's channel only)"


def test_config_text_is_escaped_and_many_teams_stay_within_slacks_limits() -> None:
    hostile = _team(name="<!channel> & *ops*", channel="<#C1|x>")
    _, blocks = build_oncall_overview([hostile], NOW)
    assert "&lt;!channel&gt; &amp;" in blocks[1]["text"]["text"] and "<!channel>" not in json.dumps(blocks)
    text, blocks = build_oncall_overview([_team(key=f"team-{n}", name="N" * 3000) for n in range(80)], NOW)
    _valid(blocks)
    assert len(blocks) == MESSAGE_BLOCK_LIMIT and len(text) <= 3000
    assert all(len(b["text"]["text"]) <= SECTION_TEXT_LIMIT for b in blocks if b["type"] == "section")


def test_taking_and_giving_a_cover() -> None:
    taken = build_cover_reply(_change())
    assert taken.startswith("✅ You are on call for *DBAs* until Fri 4 Dec 09:00 Europe/Berlin")
    assert "escalations page <@U0DANA> until then, and <@U0DBA2> after" in taken and "`/oncall release dba`" in taken
    given = _change(actor="U0LEAD")
    assert build_cover_reply(given).startswith("✅ <@U0DANA> is on call for *DBAs*")
    text, blocks = build_cover_announcement(given)
    _valid(blocks)
    assert text == (
        "📟 <@U0DANA> is on call for *DBAs* until Fri 4 Dec 09:00 Europe/Berlin (set by <@U0LEAD>); "
        "then <@U0DBA2> as the rota says."
    )
    text, _ = build_cover_given_dm(given)
    assert text.startswith("📟 <@U0LEAD> put you on call for *DBAs* until Fri 4 Dec 09:00 Europe/Berlin")


def test_a_cover_released_or_run_out() -> None:
    text, blocks = build_release_announcement(_change(actor="U0LEAD", then="U0DBA1"))
    _valid(blocks)
    assert text == "↩️ <@U0LEAD> ended <@U0DANA>'s cover for *DBAs*: <@U0DBA1> is on call again, as the rota says."
    assert build_release_reply(_change(then="U0DBA1")) == "↩️ Your cover for *DBAs* is over: <@U0DBA1> is on call again."
    text, _ = build_cover_ended_announcement(_change(actor="opsbot", then=None))
    assert text == (
        "⏱ <@U0DANA>'s cover for *DBAs* ended at Fri 4 Dec 09:00 Europe/Berlin: "
        "nobody (the team's channel only) is on call again, as the rota says."
    )


def test_unknown_team_lists_the_teams_and_help_lists_the_forms() -> None:
    refusal = build_unknown_team("<!here>", [("dba", "DBAs"), ("developers", "Devs & co")])
    assert refusal == "I don't know the team `&lt;!here&gt;`. Teams: `dba` (DBAs), `developers` (Devs &amp; co)."
    help_text = build_help("I don't know `/oncall swap`.")
    assert help_text.startswith("I don't know `/oncall swap`.\n*On call*\n")
    assert "/oncall take dba until friday" in help_text and "/oncall release dba" in help_text
