"""Schema migrations: an old database upgrades with its data, and the models match the migrations."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from bot.reminders.service import ReminderService
from bot.storage.database import alembic_config, create_engine, session_factory, upgrade
from bot.storage.models import Base


async def test_a_database_from_the_first_migration_upgrades_to_head_keeping_its_data(database_url, content, clock):
    engine = create_engine(database_url)
    await upgrade(engine, "0001")
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO subscriptions (chat_id, minute, zone, status, measures, seen_tips, next_due_at,"
                " created_at, updated_at) VALUES (42, 1290, 'Europe/Berlin', 'active', '', '', :due, :now, :now)"
            ),
            {"due": datetime(2026, 11, 25, 20, 30), "now": datetime(2026, 11, 25, 12)},
        )
    await upgrade(engine)
    async with engine.connect() as connection:
        version = (await connection.execute(text("SELECT version_num FROM alembic_version"))).scalar_one()
    assert version == ScriptDirectory.from_config(alembic_config(database_url)).get_current_head()
    service = ReminderService(session_factory(engine), content.tips, clock)
    settings = await service.get(42)
    assert (settings.minute, settings.zone, settings.next_due_at) == (
        1290,
        "Europe/Berlin",
        datetime(2026, 11, 25, 20, 30, tzinfo=UTC),
    )
    assert settings.snooze_at is None
    await engine.dispose()


async def test_models_and_migrations_describe_the_same_schema(database_url):
    engine = create_engine(database_url)
    await upgrade(engine)

    def differences(connection) -> list:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as connection:
        assert await connection.run_sync(differences) == []
    await engine.dispose()


async def test_upgrading_twice_is_harmless(database_url):
    engine = create_engine(database_url)
    await upgrade(engine)
    await upgrade(engine)
    await engine.dispose()
