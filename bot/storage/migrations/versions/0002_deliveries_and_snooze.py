"""Deliveries (one row per reminder sent, for exactly-once), and snoozes on subscriptions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("subscriptions") as batch:
        batch.add_column(sa.Column("snooze_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("snooze_tip", sa.String(30), nullable=True))
    op.create_index("ix_subscriptions_snooze_at", "subscriptions", ["snooze_at"])
    op.create_table(
        "deliveries",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=False),
        sa.Column("slot_at", UTCDateTime(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("tip_id", sa.String(30), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("claimed_at", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("retry_at", UTCDateTime(), nullable=True),
        sa.Column("message_id", sa.BigInteger(), nullable=True),
        sa.Column("error", sa.String(200), nullable=True),
        sa.Column("outcome", sa.String(8), nullable=True),
        sa.Column("sent_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["subscriptions.chat_id"], name="fk_deliveries_chat_id_subscriptions", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_deliveries"),
        sa.UniqueConstraint("chat_id", "slot_at", "kind", name="uq_deliveries_chat_id_slot_at_kind"),
    )
    op.create_index("ix_deliveries_status_retry_at", "deliveries", ["status", "retry_at"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_status_retry_at", table_name="deliveries")
    op.drop_table("deliveries")
    op.drop_index("ix_subscriptions_snooze_at", table_name="subscriptions")
    with op.batch_alter_table("subscriptions") as batch:
        batch.drop_column("snooze_tip")
        batch.drop_column("snooze_at")
