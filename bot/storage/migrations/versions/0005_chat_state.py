"""Conversation state per chat (chat_state) and shared flood counters (flood_counts).

chat_state holds what a chat is in the middle of, with an expiry, so that several bot processes
behind one webhook URL, or a restarted one, can take the chat's next message. flood_counts lets
the per-user flood limit hold across those processes on PostgreSQL.

Revision ID: 0005
Revises: 0002 (0003 and 0004 are added on other branches; the chain is rejoined at merge)
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

from bot.storage.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chat_state",
        sa.Column("chat_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("expires_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "key", name="pk_chat_state"),
    )
    op.create_index("ix_chat_state_expires_at", "chat_state", ["expires_at"])
    op.create_table(
        "flood_counts",
        sa.Column("user_id", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("window_index", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.Column("paused_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("user_id", name="pk_flood_counts"),
    )


def downgrade() -> None:
    op.drop_table("flood_counts")
    op.drop_index("ix_chat_state_expires_at", table_name="chat_state")
    op.drop_table("chat_state")
