"""Diary: profiles (zone, morning check-in and weekly summary schedules, sealed medicines),
nightly entries and ferritin results, sealed at rest; deliveries lose their foreign key to
subscriptions, because a check-in also goes to chats without evening reminders.

Revision ID: 0006
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_constraint("fk_deliveries_chat_id_subscriptions", type_="foreignkey")
    op.create_table(
        "diary_profiles",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("zone", sa.String(64), nullable=True),
        sa.Column("checkin_minute", sa.SmallInteger(), nullable=True),
        sa.Column("checkin_due_at", UTCDateTime(), nullable=True),
        sa.Column("weekly_day", sa.SmallInteger(), nullable=True),
        sa.Column("weekly_due_at", UTCDateTime(), nullable=True),
        sa.Column("medicines", sa.Text(), nullable=True),
        sa.Column("medicines_at", UTCDateTime(), nullable=True),
        sa.Column("augmentation_noted_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_diary_profiles"),
    )
    op.create_index("ix_diary_profiles_checkin_due_at", "diary_profiles", ["checkin_due_at"])
    op.create_index("ix_diary_profiles_weekly_due_at", "diary_profiles", ["weekly_due_at"])
    op.create_table(
        "diary_entries",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_diary_entries"),
        sa.UniqueConstraint("chat_id", "night", name="uq_diary_entries_chat_id_night"),
    )
    op.create_index("ix_diary_entries_night", "diary_entries", ["night"])
    op.create_table(
        "ferritin_results",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("tested_on", sa.Date(), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_ferritin_results"),
    )
    op.create_index("ix_ferritin_results_chat_id", "ferritin_results", ["chat_id"])


def downgrade() -> None:
    op.drop_index("ix_ferritin_results_chat_id", table_name="ferritin_results")
    op.drop_table("ferritin_results")
    op.drop_index("ix_diary_entries_night", table_name="diary_entries")
    op.drop_table("diary_entries")
    op.drop_index("ix_diary_profiles_weekly_due_at", table_name="diary_profiles")
    op.drop_index("ix_diary_profiles_checkin_due_at", table_name="diary_profiles")
    op.drop_table("diary_profiles")
    op.execute("DELETE FROM deliveries WHERE chat_id NOT IN (SELECT chat_id FROM subscriptions)")
    with op.batch_alter_table("deliveries") as batch:
        batch.create_foreign_key(
            "fk_deliveries_chat_id_subscriptions", "subscriptions", ["chat_id"], ["chat_id"], ondelete="CASCADE"
        )
