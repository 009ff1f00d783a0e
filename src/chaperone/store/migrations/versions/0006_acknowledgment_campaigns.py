"""acknowledgment campaigns and their notices

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-30 09:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Apply this migration."""
    op.create_table(
        "ack_campaigns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("policy", sa.String(length=80), nullable=False),
        sa.Column("policy_version", sa.String(length=40), nullable=False),
        sa.Column("populations", sa.String(length=255), nullable=False),
        sa.Column("schools", sa.Text(), nullable=False),
        sa.Column("opens_on", sa.Date(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("created_by", sa.String(length=255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_by", sa.String(length=255), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ack_campaigns")),
    )
    op.create_table(
        "ack_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("campaign_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=False),
        sa.Column("population", sa.String(length=20), nullable=False),
        sa.Column("school", sa.String(length=255), nullable=True),
        sa.Column("address", sa.String(length=320), nullable=True),
        sa.Column("nonce", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("send_count", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_via", sa.String(length=20), nullable=True),
        sa.Column("recorded_by", sa.String(length=255), nullable=True),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["ack_campaigns.id"],
            name=op.f("fk_ack_notices_campaign_id_ack_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ack_notices")),
        sa.UniqueConstraint("campaign_id", "person_id", name="uq_ack_notices_person"),
        sa.UniqueConstraint("token_hash", name=op.f("uq_ack_notices_token_hash")),
    )
    with op.batch_alter_table("ack_notices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ack_notices_campaign_id"), ["campaign_id"])
        batch_op.create_index(batch_op.f("ix_ack_notices_person_id"), ["person_id"])


def downgrade() -> None:
    """Revert this migration."""
    with op.batch_alter_table("ack_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ack_notices_person_id"))
        batch_op.drop_index(batch_op.f("ix_ack_notices_campaign_id"))
    op.drop_table("ack_notices")
    op.drop_table("ack_campaigns")
