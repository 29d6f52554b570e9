"""The symptom diary as a user meets it, through real HTTP against the fake Bot API, on SQLite
and PostgreSQL: one-tap check-ins edited in place, the chart, the PDF, ferritin, medicines,
the morning check-in through a restart, the weekly summary, privacy and forgetting."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image
from pypdf import PdfReader

from bot.devtools.fake_bot_api import FakeBotApi
from bot.diary.medicines import Medicines
from bot.diary.nights import Onset

from .conftest import FakeClock, serving
from .test_telegram import buttons

TONIGHT = date(2026, 11, 25)  # the fake clock starts at 18:00 UTC on 25 Nov: the evening under way
NIGHT = f"{TONIGHT:%Y%m%d}"


@pytest.fixture
async def running_bot(bot_api: FakeBotApi, content, clock: FakeClock, database_url: str):
    async with serving(bot_api, content, clock, database_url) as application:
        yield application


def diary(application):
    return application.bot_data["diary"]


async def seed(application, scores: list[int | None], *, last: date = TONIGHT, **measures: set[int]) -> None:
    """Nights ending at `last`, oldest first; measures name the indexes of nights they were tried."""
    service = diary(application)
    first = last - timedelta(days=len(scores) - 1)
    for index, score in enumerate(scores):
        night = first + timedelta(days=index)
        if score is not None:
            await service.set_score(42, night, score)
        for measure, nights in measures.items():
            if index in nights:
                await service.toggle_measure(42, night, measure)


async def test_a_new_user_checks_in_with_one_tap(running_bot, bot_api: FakeBotApi):
    await bot_api.push_text("/checkin")
    [question] = await bot_api.wait_for()
    assert "Night of Wed 25 Nov" in question["text"] and "0 means not at all, 10 the worst" in question["text"]
    labels = [label for label, _ in buttons(question)]
    assert labels == [str(n) for n in range(11)] + ["Skip"]
    await bot_api.push_callback(f"d:s:{NIGHT}:6", message_id=555)
    [edit] = await bot_api.wait_for("editMessageText")
    assert edit["message_id"] == 555 and "6 out of 10" in edit["text"]  # the same message, edited in place
    assert "When did the symptoms start?" in edit["text"]
    assert (await diary(running_bot).night(42, TONIGHT)).score == 6  # saved by that one tap


async def test_every_step_edits_the_same_message_and_can_be_skipped(running_bot, bot_api):
    await bot_api.push_callback(f"d:k:{NIGHT}:s", message_id=7)
    onset = (await bot_api.wait_for("editMessageText"))[0]
    assert "no score" in onset["text"]
    assert ("9 pm-midnight", f"d:o:{NIGHT}:c") in buttons(onset)
    await bot_api.push_callback(f"d:o:{NIGHT}:c", message_id=7)
    measures = (await bot_api.wait_for("editMessageText", count=2))[1]
    assert ("Warm bath: no", f"d:m:{NIGHT}:warmth") in buttons(measures)
    await bot_api.push_callback(f"d:m:{NIGHT}:warmth", message_id=7)
    await bot_api.push_callback(f"d:m:{NIGHT}:stretching", message_id=7)
    toggled = (await bot_api.wait_for("editMessageReplyMarkup", count=2))[1]
    assert ("Warm bath: yes ✅", f"d:m:{NIGHT}:warmth") in buttons(toggled)
    assert ("Stretching: yes ✅", f"d:m:{NIGHT}:stretching") in buttons(toggled)
    await bot_api.push_callback(f"d:f:{NIGHT}", message_id=7)
    saved = (await bot_api.wait_for("editMessageText", count=3))[2]
    assert "Saved for the night of Wed 25 Nov" in saved["text"]
    assert "Started: 9 pm-midnight" in saved["text"] and "Warm bath, stretching" in saved["text"]
    assert ("07:30", "d:am:450") in buttons(saved)  # the offer of a morning check-in
    assert all(m["message_id"] == 7 for m in bot_api.sent("editMessageText"))
    assert bot_api.sent() == []  # nothing new was sent: one message all along
    night = await diary(running_bot).night(42, TONIGHT)
    assert (night.score, night.onset, night.tried) == (None, Onset.nine_to_midnight, {"warmth", "stretching"})


async def test_tapping_again_changes_the_night(running_bot, bot_api):
    await bot_api.push_callback(f"d:s:{NIGHT}:8")
    await bot_api.push_callback(f"d:s:{NIGHT}:2")
    await bot_api.wait_for("editMessageText", count=2)
    assert (await diary(running_bot).night(42, TONIGHT)).score == 2
    await bot_api.push_text("/checkin")
    [again] = await bot_api.wait_for()
    assert ("2, chosen ✅", f"d:s:{NIGHT}:2") in buttons(again)  # the current score is marked


async def test_the_evening_tips_done_is_already_ticked_as_tried(running_bot, bot_api, clock: FakeClock):
    await bot_api.push_text("/remind 20:00 UTC")
    await bot_api.wait_for()
    clock.advance(hours=2)
    await running_bot.bot_data["dispatcher"].tick()
    tip = (await bot_api.wait_for(count=2))[1]
    await bot_api.push_callback(dict(buttons(tip))["Done ✅"])
    await bot_api.wait_for(count=3)
    clock.advance(hours=9)  # 07:00 the next morning: the check-in is about last night
    await bot_api.push_text("/checkin")
    question = (await bot_api.wait_for(count=4))[3]
    assert "Night of Wed 25 Nov" in question["text"]
    await bot_api.push_callback(f"d:k:{NIGHT}:o", message_id=9)
    measures = (await bot_api.wait_for("editMessageText"))[0]
    ticked = [label for label, _ in buttons(measures) if "(tip)" in label]
    assert len(ticked) == 1 and ticked[0].endswith(" (tip): yes ✅")  # ticked, in words


async def test_diary_sends_a_real_png_and_says_the_numbers_in_words(running_bot, bot_api):
    await bot_api.push_text("/diary")
    [empty] = await bot_api.wait_for()
    assert "diary is empty" in empty["text"]
    await seed(running_bot, [8, 7, None, 8, 9, 4, 3, 2, 3, 2, 3, 2, 3, 4], warmth={5, 6, 7, 8}, caffeine={0, 1, 9})
    await bot_api.push_text("/diary")
    [photo] = await bot_api.wait_for("sendPhoto")
    png = photo["_files"]["photo"]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.width >= 800
    caption = photo["caption"]
    assert "Last 14 nights (12 Nov – 25 Nov 2026): 13 with a check-in" in caption
    assert "Average score 4.5 out of 10" in caption
    assert "Best night: Mon 23 Nov, 2" in caption and "Worst night: Mon 16 Nov, 9" in caption
    assert "Trend: getting better" in caption
    assert ("30 nights", "d:p:30") in buttons(photo)
    helps = (await bot_api.wait_for(count=2))[1]
    assert "What seems to help you" in helps["text"] and "Warm bath: average 3 on 4 nights with it" in helps["text"]
    assert "association, not proof" in helps["text"]


async def test_report_is_a_pdf_that_parses_and_holds_the_numbers(running_bot, bot_api):
    await seed(running_bot, [6, 5, 7, None, 2, 3])
    service = diary(running_bot)
    await service.add_ferritin(42, 38.0, date(2026, 10, 2))
    await service.set_medicines(42, Medicines(frozenset({"a2d"}), "pregabalin 75 mg"))
    await bot_api.push_text("/report 90 Ann Example")
    [document] = await bot_api.wait_for("sendDocument")
    assert document["caption"].startswith("📄 Your diary report for the last 90 days")
    reader = PdfReader(io.BytesIO(document["_files"]["document"]))
    text = " ".join(page.extract_text() for page in reader.pages)
    assert reader.pages[0].mediabox.width == pytest.approx(595.28, abs=0.1)  # A4, kept inside Letter's height
    for expected in ("Restless legs symptom diary", "Name: Ann Example", "90 nights", "Average score 4.6", "38"):
        assert expected in text
    assert "pregabalin 75 mg" in text and "Gabapentin, pregabalin" in text
    assert "Fri 20 Nov" in text and "not a validated scale" in text and "not a doctor" in text
    await bot_api.push_text("/report")
    second = (await bot_api.wait_for("sendDocument", count=2))[1]
    assert "Name:" not in " ".join(p.extract_text() for p in PdfReader(io.BytesIO(second["_files"]["document"])).pages)


async def test_ferritin_is_checked_politely_and_kept(running_bot, bot_api):
    for text in ("/ferritin abc", "/ferritin 45 pmol/l", "/ferritin 0", "/ferritin 45 2026-11-20", "/ferritin"):
        await bot_api.push_text(text)
    bad, unit, out_of_range, saved, listed = await bot_api.wait_for(count=5)
    assert "couldn't read that as a ferritin result" in bad["text"]
    assert "only note ferritin in ng/mL" in unit["text"]
    assert "0 is outside the range" in out_of_range["text"]
    assert "ferritin <b>45 ng/mL</b>" in saved["text"] and "20 Nov 2026" in saved["text"]
    assert ("Iron and ferritin", "t:iron") in buttons(saved)  # the topic's own title
    assert "20 Nov 2026: 45 ng/mL" in listed["text"]
    assert [f.ng_ml for f in await diary(running_bot).ferritin(42)] == [45.0]


async def test_medicines_by_buttons_or_free_text(running_bot, bot_api):
    await bot_api.push_text("/meds")
    [ask] = await bot_api.wait_for()
    assert "don't give medicine advice" in ask["text"]
    await bot_api.push_callback("d:md:dopamine", message_id=3)
    [toggled] = await bot_api.wait_for("editMessageReplyMarkup")
    assert ("Dopamine agonist (pramipexole, ropinirole, rotigotine): yes ✅", "d:md:dopamine") in buttons(toggled)
    await bot_api.push_callback("d:md:done", message_id=3)
    [done] = await bot_api.wait_for("editMessageText")
    assert "Noted: Dopamine agonist" in done["text"]
    await bot_api.push_text("/meds ropinirole 1 mg at night")
    noted = (await bot_api.wait_for(count=2))[1]
    assert "ropinirole 1 mg at night" in noted["text"]
    assert (await diary(running_bot).medicines(42)).dopamine
    await bot_api.push_text("/meds clear")
    assert "Removed" in (await bot_api.wait_for(count=3))[2]["text"]
    assert (await diary(running_bot).medicines(42)).empty


async def test_onset_moving_earlier_on_a_dopamine_medicine_is_mentioned_once(running_bot, bot_api):
    service = diary(running_bot)
    await service.set_medicines(42, Medicines(note="pramipexole"))
    for back in range(1, 34):
        onset = Onset.six_to_nine if back <= 14 else Onset.nine_to_midnight
        await service.set_onset(42, TONIGHT - timedelta(days=back), onset.value)
    await bot_api.push_callback(f"d:o:{NIGHT}:b", message_id=4)
    await bot_api.push_callback(f"d:f:{NIGHT}", message_id=4)
    [note] = await bot_api.wait_for()
    assert "augmentation" in note["text"] and "not an emergency" in note["text"]
    assert "mostly started 6-9 pm, earlier than before (9 pm-midnight)" in note["text"]
    assert ("Augmentation and dependence", "t:dependence-augmentation") in buttons(note)
    await bot_api.push_callback(f"d:f:{NIGHT}", message_id=4)
    await bot_api.wait_for("editMessageText", count=3)
    await bot_api.push_text("/help")  # a later message proves the second Done was handled
    replies = await bot_api.wait_for(count=2)
    assert sum("augmentation" in r["text"] for r in replies) == 1


async def test_mydata_has_the_diary_and_forget_removes_it(running_bot, bot_api):
    await seed(running_bot, [5])
    await diary(running_bot).add_ferritin(42, 45.0, TONIGHT)
    await bot_api.push_text("/mydata")
    [document] = await bot_api.wait_for("sendDocument")
    data = json.loads(document["_files"]["document"])
    assert data["reminder"] is None
    assert data["diary"]["entries"] == [{"night": "2026-11-25", "score": 5}]
    assert data["diary"]["ferritin_ng_ml"] == [{"tested_on": "2026-11-25", "value": 45.0}]
    await bot_api.push_text("/forget")
    confirm = (await bot_api.wait_for())[0]
    assert "your whole diary" in confirm["text"]
    await bot_api.push_callback("f:yes")
    await bot_api.wait_for(count=2)
    assert not await diary(running_bot).has_data(42)
    await bot_api.push_text("/mydata")
    assert "don't store anything" in (await bot_api.wait_for(count=3))[2]["text"]


async def test_the_morning_check_in_arrives_once_at_the_chosen_time_through_a_restart(
    bot_api, content, clock: FakeClock, database_url
):
    async with serving(bot_api, content, clock, database_url) as first:
        await bot_api.push_text("/morning")
        [ask_zone] = await bot_api.wait_for()
        assert "/morning 7:30 Berlin" in ask_zone["text"]
        await bot_api.push_text("/morning 7:30 Berlin")
        confirmed = (await bot_api.wait_for(count=2))[1]
        assert "07:30" in confirmed["text"] and "Europe/Berlin" in confirmed["text"]
        assert "tomorrow at 07:30" in confirmed["text"]
        await first.bot_data["dispatcher"].tick()
        clock.now = datetime(2026, 11, 26, 6, 30, 5, tzinfo=UTC)  # 07:30 in Berlin
        await first.bot_data["dispatcher"].tick()
        question = (await bot_api.wait_for(count=3))[2]
    async with serving(bot_api, content, clock, database_url) as second:  # a restart
        clock.advance(minutes=1)
        await second.bot_data["dispatcher"].tick()
        clock.advance(hours=1)
        await second.bot_data["dispatcher"].tick()
        assert "Night of Wed 25 Nov" in question["text"]
        assert ("7", f"d:s:{NIGHT}:7") in buttons(question)
        await bot_api.push_callback(f"d:s:{NIGHT}:7")
        await bot_api.wait_for("editMessageText")
        assert (await diary(second).night(42, TONIGHT)).score == 7
    questions = [m for m in bot_api.sent() if "Night of" in m["text"]]
    assert len(questions) == 1


async def test_the_weekly_summary_is_a_chart_with_two_lines(running_bot, bot_api, clock: FakeClock):
    await bot_api.push_text("/weekly sun UTC")
    [confirmed] = await bot_api.wait_for()
    assert "every <b>Sunday</b> at 12:00 (UTC)" in confirmed["text"]
    await seed(running_bot, [6, 5, 4, 6, 5, 3, 4, 3, 2], last=date(2026, 11, 28))
    clock.now = datetime(2026, 11, 29, 12, 0, 10, tzinfo=UTC)
    await running_bot.bot_data["dispatcher"].tick()
    await running_bot.bot_data["dispatcher"].tick()
    [photo] = await bot_api.wait_for("sendPhoto")
    assert photo["_files"]["photo"].startswith(b"\x89PNG")
    lines = photo["caption"].splitlines()
    assert lines[0] == "📅 <b>Your week</b>"
    assert lines[1].startswith("This week: average 3.9 out of 10 over 7 nights (the week before: 5.5)")
    assert lines[2].startswith("Best night Sat 28 Nov (2)")
    assert len(bot_api.sent("sendPhoto")) == 1


async def test_the_diary_stays_out_of_groups(running_bot, bot_api):
    await bot_api.push_text("/checkin", chat={"id": -5, "type": "group", "title": "g"})
    [reply] = await bot_api.wait_for()
    assert "private chat" in reply["text"]


@pytest.mark.parametrize("data", ["d:s:20261125:11", "d:s:20991231:3", "d:o:20261125:z", "d:k:20261125:x", "d:zz"])
async def test_forged_or_future_diary_buttons_are_answered_politely(running_bot, bot_api, data):
    await bot_api.push_callback(data)
    await bot_api.wait_for("answerCallbackQuery")
    [reply] = await bot_api.wait_for()
    assert "something went wrong" not in reply["text"].lower()
    assert not await diary(running_bot).has_data(42)


async def test_commands_menu_help_and_privacy_cover_the_diary(running_bot, bot_api):
    commands = {c["command"] for c in bot_api.sent("setMyCommands")[0]["commands"]}
    assert {"checkin", "diary", "report", "morning", "weekly", "ferritin", "meds"} <= commands
    await bot_api.push_text("/help")
    await bot_api.push_text("/privacy")
    help_text, privacy = await bot_api.wait_for(count=2)
    assert "/checkin" in help_text["text"] and "/report" in help_text["text"]
    assert "stored encrypted" in privacy["text"] and "after 400 days" in privacy["text"]
