"""Inbox: updates written before Telegram is told they arrived, deleted once handled.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "inbox",
        sa.Column("update_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("received_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(40), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.PrimaryKeyConstraint("update_id", name="pk_inbox"),
    )
    op.create_index("ix_inbox_chat_id_update_id", "inbox", ["chat_id", "update_id"])


def downgrade() -> None:
    op.drop_index("ix_inbox_chat_id_update_id", table_name="inbox")
    op.drop_table("inbox")
