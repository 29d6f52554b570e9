"""Subscriptions: who gets an evening reminder, at what local time and zone.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "subscriptions",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("minute", sa.SmallInteger(), nullable=False),
        sa.Column("zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("stop_reason", sa.String(32), nullable=True),
        sa.Column("measures", sa.String(255), nullable=False),
        sa.Column("seen_tips", sa.Text(), nullable=False),
        sa.Column("next_due_at", UTCDateTime(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", name="pk_subscriptions"),
    )
    op.create_index("ix_subscriptions_next_due_at", "subscriptions", ["next_due_at"])


def downgrade() -> None:
    op.drop_index("ix_subscriptions_next_due_at", table_name="subscriptions")
    op.drop_table("subscriptions")
