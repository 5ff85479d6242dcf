"""/oncall as Slack sends it: now and next from the rota, covers taken, given and released, honoured by
escalations while they last and ending by themselves."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, AsyncIterator
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from slack_standin import SlackStandIn
from slack_standin.signing import slash_command_body
from storage.models import OnCallOverride
from tests.harness import RunningBot, eventually, start_bot, stop_bot, test_config
from tests.integration.escalation_support import (
    TEAMS,
    alertmanager_body,
    click,
    escalations,
    open_issue,
    opened_view,
    submit_escalation,
    wait_post,
)
from tests.integration.performance_support import FrozenClock

BERLIN = ZoneInfo("Europe/Berlin")
# Wednesday 2 December 2026, 14:30 in Berlin. The DBAs' rota (U0DBA1, U0DBA2, U0DBA3 from Monday
# 5 January, handing over on Mondays at 09:00 Berlin time) is in its 48th week: U0DBA3's.
WEDNESDAY = datetime(2026, 12, 2, 14, 30, tzinfo=BERLIN).astimezone(timezone.utc)
ON_ROTA, NEXT_ON_ROTA = "U0DBA3", "U0DBA1"


@pytest.fixture
async def oncall_bot(database_url: str, standin: SlackStandIn) -> AsyncIterator[RunningBot]:
    running = await start_bot(database_url, standin, config=test_config(teams=TEAMS), clock=FrozenClock(WEDNESDAY))
    yield running
    await stop_bot(running)


async def oncall(bot: RunningBot, text: str, user: str = "U0DANA") -> dict[str, Any]:
    """`/oncall <text>` signed as Slack signs it; Slack gets its ack at once, the answer comes by response_url."""
    name = f"oncall-{len(bot.standin.calls_to('response_url'))}"
    body = slash_command_body("/oncall", text, user_id=user, response_url=bot.standin.response_url(name))
    status, answer = await bot.post_slack(body)
    assert (status, answer) == (200, "")
    [reply] = await bot.standin.wait_for("response_url", where=lambda call: call.path.endswith("/" + name))
    assert reply.args["response_type"] == "ephemeral"
    return reply.args


def channel_posts(bot: RunningBot, channel: str, starting: str = "") -> list[Any]:
    """Top-level posts to a channel, whether the bot named it or used its id."""
    names = {channel, bot.standin.workspace.resolve_channel(channel)}
    return [
        call for call in bot.standin.calls_to("chat.postMessage")
        if call.args.get("channel") in names and not call.args.get("thread_ts") and call.args["text"].startswith(starting)
    ]


async def wait_channel_post(bot: RunningBot, channel: str, containing: str) -> Any:
    async def posted() -> bool:
        return any(containing in call.args["text"] for call in channel_posts(bot, channel))

    await eventually(posted, what=f"a post in {channel} saying {containing!r}")
    await bot.outbox_drained()
    return next(call for call in channel_posts(bot, channel) if containing in call.args["text"])


def sections(reply: dict[str, Any]) -> list[str]:
    return [block["text"]["text"] for block in reply.get("blocks") or [] if block["type"] == "section"]


async def escalate_to_dba(bot: RunningBot, fingerprint: str) -> str:
    """Escalate a fresh issue to the DBAs by the modal; returns who the escalation paged."""
    issue_id, ts = await open_issue(bot, alertmanager_body(fingerprint=fingerprint))
    views = len(bot.standin.calls_to("views.open"))
    await click(bot, "issue.escalate", issue_id, "U0ALICE", ts=ts)
    status, _ = await submit_escalation(bot, await opened_view(bot, views + 1), "U0ALICE")
    assert status == 200
    await wait_channel_post(bot, "#dba", f"Issue #{issue_id} escalated to DBAs")
    [row] = await escalations(bot, issue_id)
    assert row.on_call is not None
    await wait_post(bot, row.on_call, containing=f"Issue #{issue_id} escalated to DBAs")  # the person paged by DM
    return row.on_call


async def overrides(bot: RunningBot) -> list[OnCallOverride]:
    async with bot.opsbot.sessionmaker() as session:
        return list((await session.execute(select(OnCallOverride).order_by(OnCallOverride.id))).scalars())


async def run_cover_ends_job(bot: RunningBot) -> int:
    [job] = [job for job in bot.opsbot.scheduler.jobs if job.name == "on-call-cover-ends"]
    announced = await job.run()
    await bot.outbox_drained()
    return int(announced)  # type: ignore[call-overload]


async def test_oncall_shows_who_is_on_call_now_and_next_from_the_rota(oncall_bot: RunningBot) -> None:
    bot = oncall_bot
    reply = await oncall(bot, "")
    assert reply["blocks"][0]["text"]["text"] == "📟 On call"
    assert sections(reply) == [
        f"*DBAs* `dba`\n*Now:* <@{ON_ROTA}>\n*Next:* <@{NEXT_ON_ROTA}> from Mon 7 Dec 09:00 Europe/Berlin (in 4d 18h)",
        "*Developers* `developers`\n*Now:* <@U0DEV> (always: the team has no rota)",
    ]
    assert reply["text"] == f"On call: DBAs: <@{ON_ROTA}>; Developers: <@U0DEV>"

    bot.clock.advance(days=5)  # Monday 7 December, 14:30: the rota has handed over
    one_team = await oncall(bot, "DBAs")
    assert sections(one_team) == [
        f"*DBAs* `dba`\n*Now:* <@{NEXT_ON_ROTA}>\n*Next:* <@U0DBA2> from Mon 14 Dec 09:00 Europe/Berlin (in 6d 18h)"
    ]


async def test_taking_cover_makes_the_next_escalation_page_the_one_covering(oncall_bot: RunningBot) -> None:
    bot = oncall_bot
    assert await escalate_to_dba(bot, "before") == ON_ROTA

    reply = await oncall(bot, "take dba until friday", user="U0DANA")
    assert reply["text"].startswith("✅ You are on call for *DBAs* until Fri 4 Dec 09:00 Europe/Berlin")
    announcement = await wait_channel_post(bot, "#dba", "📟")
    assert announcement.args["text"] == (
        f"📟 <@U0DANA> is on call for *DBAs* until Fri 4 Dec 09:00 Europe/Berlin; then <@{ON_ROTA}> as the rota says."
    )
    [row] = await overrides(bot)
    assert (row.team, row.user_id, row.created_by, row.released_at) == ("dba", "U0DANA", "U0DANA", None)
    assert row.ends_at == datetime(2026, 12, 4, 9, 0, tzinfo=BERLIN)

    assert await escalate_to_dba(bot, "during") == "U0DANA"
    shown = sections(await oncall(bot, "dba"))
    assert shown == [
        f"*DBAs* `dba`\n*Now:* <@U0DANA> (cover instead of <@{ON_ROTA}> until Fri 4 Dec 09:00 Europe/Berlin)\n"
        f"*Next:* <@{ON_ROTA}> from Fri 4 Dec 09:00 Europe/Berlin (in 42h 30m)"
    ]


async def test_a_cover_ends_by_itself_and_the_rota_is_back(oncall_bot: RunningBot) -> None:
    bot = oncall_bot
    await oncall(bot, "take dba for 4h", user="U0DANA")
    await wait_channel_post(bot, "#dba", "📟")
    assert await run_cover_ends_job(bot) == 0  # still in force: nothing to announce
    assert await escalate_to_dba(bot, "covered") == "U0DANA"

    bot.clock.advance(hours=4)  # 18:30: the cover ran out
    assert await escalate_to_dba(bot, "after") == ON_ROTA
    assert sections(await oncall(bot, "dba"))[0].splitlines()[1] == f"*Now:* <@{ON_ROTA}>"

    assert await run_cover_ends_job(bot) == 1
    assert await run_cover_ends_job(bot) == 0  # told once
    [ended] = channel_posts(bot, "#dba", "⏱")
    assert ended.args["text"] == (
        f"⏱ <@U0DANA>'s cover for *DBAs* ended at Wed 2 Dec 18:30 Europe/Berlin: <@{ON_ROTA}> is on call again, "
        "as the rota says."
    )


async def test_giving_cover_to_someone_else_and_releasing_it(oncall_bot: RunningBot) -> None:
    bot = oncall_bot
    reply = await oncall(bot, "give dba to <@U0DANA|dana> until 2026-12-03 18:00", user="U0LEAD")
    assert reply["text"].startswith("✅ <@U0DANA> is on call for *DBAs* until Thu 3 Dec 18:00 Europe/Berlin")
    [dm] = await wait_post(bot, "U0DANA", containing="put you on call")
    assert dm.args["text"].startswith("📟 <@U0LEAD> put you on call for *DBAs* until Thu 3 Dec 18:00 Europe/Berlin")
    await wait_channel_post(bot, "#dba", "(set by <@U0LEAD>)")

    # A new cover replaces the one before it: one cover per team at a time.
    await oncall(bot, "take dba for 2h", user="U0DBA2")
    assert await escalate_to_dba(bot, "second-cover") == "U0DBA2"
    first, second = await overrides(bot)
    assert (first.released_by, second.released_at) == ("U0DBA2", None)

    released = await oncall(bot, "release dba", user="U0LEAD")
    assert released["text"] == f"↩️ <@U0DBA2>'s cover for *DBAs* is over: <@{ON_ROTA}> is on call again."
    await wait_channel_post(bot, "#dba", "↩️")
    assert [call.args["text"] for call in channel_posts(bot, "#dba", "↩️")] == [
        f"↩️ <@U0LEAD> ended <@U0DBA2>'s cover for *DBAs*: <@{ON_ROTA}> is on call again, as the rota says."
    ]
    assert await escalate_to_dba(bot, "released") == ON_ROTA
    assert await run_cover_ends_job(bot) == 0  # a released cover is not announced again when its time passes

    again = await oncall(bot, "release dba", user="U0LEAD")
    assert again["text"] == f"Nobody covers *DBAs* now, so there is nothing to release: <@{ON_ROTA}> is on call as the rota says."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("take dba until someday", "I can't tell when “until someday” ends. Say `until friday`"),
        ("take dba until 2026-12-01 09:00", "“until 2026-12-01 09:00” is not in the future."),
        ("take dba for 6 weeks", "An override lasts at most 31 days"),
        ("take dba", "Until when? Use `/oncall take dba until friday`."),
        ("nosuchteam", "I don't know the team `nosuchteam`. Teams: `dba` (DBAs), `developers` (Developers)."),
        ("take <!channel> for 1h", "I don't know the team `&lt;!channel&gt;`. Teams: `dba` (DBAs)"),
        ("give dba to @dana for 1h", "I can't tell who “@dana” is."),
    ],
)
async def test_bad_input_gets_a_clear_ephemeral_answer_and_changes_nothing(
    oncall_bot: RunningBot, text: str, says: str
) -> None:
    reply = await oncall(oncall_bot, text)
    assert reply["text"].startswith(says), reply["text"]
    assert "blocks" not in reply or not reply["blocks"]
    assert await overrides(oncall_bot) == []
    await oncall_bot.outbox_drained()
    assert channel_posts(oncall_bot, "#dba") == []


async def test_help_and_unknown_words_list_the_forms(oncall_bot: RunningBot) -> None:
    reply = await oncall(oncall_bot, "swap with dana")
    assert reply["text"].startswith("I don't know `/oncall swap with dana`.\n*On call*\n")
    assert "`/oncall give dba to @someone for 4h`" in reply["text"]


async def test_only_responders_may_take_or_release_cover_once_responders_are_named(
    database_url: str, standin: SlackStandIn
) -> None:
    config = test_config(teams=TEAMS, roles={"responder": ["U0DBA1", "U0DBA2", "U0DBA3"]})
    bot = await start_bot(database_url, standin, config=config, clock=FrozenClock(WEDNESDAY))
    try:
        refused = await oncall(bot, "take dba for 4h", user="U0INTERN")
        assert refused["text"] == "You need the responder role to take on-call."
        refused = await oncall(bot, "give dba to <@U0DANA> for 4h", user="U0INTERN")
        assert refused["text"] == "You need the responder role to give on-call to someone else."
        assert await overrides(bot) == []
        shown = await oncall(bot, "", user="U0INTERN")  # anyone may look
        assert json.dumps(shown["blocks"]).count("*Now:*") == 2
        taken = await oncall(bot, "take dba for 4h", user="U0DBA1")
        assert taken["text"].startswith("✅ You are on call for *DBAs*")
    finally:
        await stop_bot(bot)
