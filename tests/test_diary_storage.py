"""The diary in the database, on SQLite and PostgreSQL: one entry per night, changes on a
second tap, the evening tip's Done counted, nothing readable at rest, retention and forgetting."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import inspect, text

from bot.diary.crypto import Sealer, new_key
from bot.diary.medicines import Medicines
from bot.diary.nights import Onset
from bot.diary.service import DiaryService
from bot.reminders.dispatcher import Dispatcher, Outcome
from bot.reminders.service import ReminderService
from bot.storage.database import create_engine, upgrade

NIGHT = date(2026, 11, 24)  # the clock starts at 18:00 UTC on the 25th: "tonight" is the 25th


@pytest.fixture
def key() -> str:
    return new_key()


@pytest.fixture
def diary(sessions, content, clock, key) -> DiaryService:
    return DiaryService(sessions, Sealer.from_setting(key), content.tips, clock, retention_days=30)


async def test_one_entry_per_night_and_a_second_tap_changes_it(diary: DiaryService, sessions):
    await diary.set_score(42, NIGHT, 7)
    await diary.set_onset(42, NIGHT, Onset.nine_to_midnight.value)
    changed = await diary.set_score(42, NIGHT, 3)
    assert (changed.score, changed.onset) == (3, Onset.nine_to_midnight)
    async with sessions() as session:
        count = (await session.execute(text("SELECT count(*) FROM diary_entries"))).scalar_one()
    assert count == 1


async def test_measures_toggle_and_unknown_ones_are_ignored(diary: DiaryService):
    await diary.toggle_measure(42, NIGHT, "warmth")
    await diary.toggle_measure(42, NIGHT, "massage")
    await diary.toggle_measure(42, NIGHT, "warmth")
    night = await diary.toggle_measure(42, NIGHT, "<script>")
    assert night.tried == {"massage"}


async def test_the_evening_tips_done_counts_as_tried_that_night(diary: DiaryService, sessions, content, clock):
    reminders = ReminderService(sessions, content.tips, clock)
    await reminders.subscribe(42, 21 * 60, "Europe/Berlin")  # 20:00 UTC

    class Sender:
        async def send(self, chat_id, tip, delivery_id, kind):
            return Outcome(message_id=1)

    clock.advance(hours=2)
    await Dispatcher(sessions, content.tips, Sender(), clock=clock).tick()
    [delivery] = await reminders.deliveries(42)
    await reminders.record_outcome(42, delivery.id, "done")
    tip_measure = next(t.measure for t in content.tips.tips if t.id == delivery.tip_id)
    tonight = await diary.tonight(42)
    assert tonight == date(2026, 11, 25)
    night = await diary.night(42, tonight)
    assert night.tried == {tip_measure} and night.from_tips == {tip_measure}
    assert (await diary.night(42, tonight - timedelta(days=1))).tried == frozenset()


async def test_nothing_is_readable_at_rest(diary: DiaryService, sessions):
    await diary.set_score(42, NIGHT, 9)
    await diary.add_ferritin(42, 45.0, date(2026, 11, 20))
    await diary.set_medicines(42, Medicines(frozenset({"dopamine"}), "pramipexole 0.125 mg"))
    async with sessions() as session:
        raw = []
        for table in ("diary_entries", "ferritin_results", "diary_profiles"):
            raw += [str(row) for row in (await session.execute(text(f"SELECT * FROM {table}"))).all()]
    dump = " ".join(raw)
    assert "pramipexole" not in dump and "score" not in dump and "45.0" not in dump and "ng_ml" not in dump
    assert (await diary.ferritin(42))[0].ng_ml == 45.0
    assert (await diary.medicines(42)).note == "pramipexole 0.125 mg"


async def test_a_wrong_key_cannot_read_the_diary(diary: DiaryService, sessions, content, clock):
    await diary.set_score(42, NIGHT, 9)
    other = DiaryService(sessions, Sealer.from_setting(new_key()), content.tips, clock)
    with pytest.raises(ValueError, match="could not be decrypted"):
        await other.night(42, NIGHT)


async def test_rekey_lets_the_old_key_go(diary: DiaryService, sessions, content, clock, key):
    await diary.set_score(42, NIGHT, 4)
    await diary.add_ferritin(42, 80.0, NIGHT)
    await diary.set_medicines(42, Medicines(note="ropinirole"))
    fresh = new_key()
    rotating = DiaryService(sessions, Sealer.from_setting(f"{fresh},{key}"), content.tips, clock)
    assert await rotating.rekey() == 3
    only_new = DiaryService(sessions, Sealer.from_setting(fresh), content.tips, clock)
    assert (await only_new.night(42, NIGHT)).score == 4
    assert (await only_new.medicines(42)).note == "ropinirole"


async def test_retention_deletes_old_nights_and_results_only(diary: DiaryService, clock):
    today = clock.now.date()
    await diary.set_score(42, today - timedelta(days=40), 5)
    await diary.set_score(42, today - timedelta(days=2), 6)
    await diary.add_ferritin(42, 30.0, today - timedelta(days=60))
    await diary.add_ferritin(42, 50.0, today - timedelta(days=5))
    assert await diary.purge() == 2
    kept = await diary.nights(42, today - timedelta(days=50), today)
    assert [n.score for n in kept if n.score is not None] == [6]
    assert [f.ng_ml for f in await diary.ferritin(42)] == [50.0]


async def test_forget_deletes_every_diary_row(diary: DiaryService, sessions):
    await diary.set_score(42, NIGHT, 5)
    await diary.add_ferritin(42, 45.0, NIGHT)
    await diary.set_checkin(42, 7 * 60, "UTC")
    await diary.set_score(43, NIGHT, 1)
    await diary.forget(42)
    assert not await diary.has_data(42)
    assert await diary.has_data(43)


async def test_export_holds_the_decrypted_diary(diary: DiaryService):
    await diary.set_score(42, NIGHT, 5)
    await diary.add_ferritin(42, 45.0, NIGHT)
    exported = await diary.export(42)
    assert exported["entries"] == [{"night": "2026-11-24", "score": 5}]
    assert exported["ferritin_ng_ml"] == [{"tested_on": "2026-11-24", "value": 45.0}]


async def test_augmentation_is_mentioned_once_and_only_with_a_dopamine_medicine(diary: DiaryService, clock):
    tonight = await diary.tonight(42)
    for back in range(34):
        onset = Onset.six_to_nine if back < 14 else Onset.nine_to_midnight
        await diary.set_onset(42, tonight - timedelta(days=back), onset.value)
    assert await diary.augmentation_notice(42) is None  # no dopamine medicine noted
    await diary.set_medicines(42, Medicines(note="Requip"))
    shift = await diary.augmentation_notice(42)
    assert shift is not None and shift.hours >= 2
    assert await diary.augmentation_notice(42) is None  # said once


async def test_migration_0006_keeps_deliveries_and_allows_check_ins_without_reminders(database_url):
    engine = create_engine(database_url)
    await upgrade(engine, "0003")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO subscriptions (chat_id, minute, zone, status, measures, seen_tips, created_at, updated_at)"
                " VALUES (1, 1260, 'UTC', 'active', '', '', :now, :now)"
            ),
            {"now": datetime(2026, 11, 25)},
        )
        await connection.execute(
            text(
                "INSERT INTO deliveries (chat_id, slot_at, kind, tip_id, status, attempts)"
                " VALUES (1, :now, 'evening', 'heat-pad', 'sent', 1)"
            ),
            {"now": datetime(2026, 11, 25, 21)},
        )
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO deliveries (chat_id, slot_at, kind, tip_id, status, attempts)"
                " VALUES (99, :now, 'checkin', '', 'sent', 1)"
            ),
            {"now": datetime(2026, 11, 26, 7)},
        )
        kinds = (await connection.execute(text("SELECT kind FROM deliveries ORDER BY id"))).scalars().all()
    assert kinds == ["evening", "checkin"]
    await engine.dispose()


async def test_migration_0006_downgrades_and_upgrades_again(database_url):
    from alembic import command

    from bot.storage.database import alembic_config

    def downgrade(connection) -> None:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "0003")

    engine = create_engine(database_url)
    await upgrade(engine)
    async with engine.begin() as connection:
        await connection.run_sync(downgrade)
        tables = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    assert "diary_entries" not in tables and "deliveries" in tables
    await upgrade(engine)
    await engine.dispose()
