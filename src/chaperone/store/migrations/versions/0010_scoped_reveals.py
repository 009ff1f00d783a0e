"""review reveals scoped to a finding or case

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Reveals are kept per session and per finding or case, no longer one set per session."""
    # a session's old queue-wide reveals must not keep unmasking anyone
    with op.batch_alter_table("web_sessions") as table:
        table.drop_column("revealed")
    op.create_table(
        "reveals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_hash", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=20), nullable=False),
        sa.Column("object_id", sa.String(length=255), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("revealed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_hash"],
            ["web_sessions.token_hash"],
            name="fk_reveals_session_hash_web_sessions",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_reveals"),
        sa.UniqueConstraint(
            "session_hash", "object_type", "object_id", "person_id", name="uq_reveals_scope"
        ),
    )
    op.create_index("ix_reveals_session_hash", "reveals", ["session_hash"])


def downgrade() -> None:
    """Back to one set of revealed people per session (empty: nothing stays revealed)."""
    op.drop_index("ix_reveals_session_hash", table_name="reveals")
    op.drop_table("reveals")
    with op.batch_alter_table("web_sessions") as table:
        table.add_column(sa.Column("revealed", sa.Text(), nullable=False, server_default=""))
