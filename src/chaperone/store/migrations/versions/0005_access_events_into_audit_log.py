"""access events move into the hash-chained audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.orm import Session

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Append every earlier access event to the audit log, oldest first, then drop the table."""
    from chaperone.trail import service as trail

    bind = op.get_bind()
    old = sa.table(
        "access_events",
        sa.column("id", sa.Integer),
        sa.column("at", sa.DateTime(timezone=True)),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("person_id", sa.String),
        sa.column("detail", sa.Text),
    )
    rows = bind.execute(sa.select(old).order_by(old.c.id)).all()
    session = Session(bind=bind)
    for row in rows:
        trail.record(
            session,
            actor=row.actor,
            action=row.action,
            object_type="person" if row.person_id else "findings",
            object_id=row.person_id or "",
            person_ids=[row.person_id] if row.person_id else [],
            detail=f"{row.detail} (recorded {row.at})",
        )
    session.flush()
    op.drop_table("access_events")


def downgrade() -> None:
    """Recreate the old table (empty: the entries stay in the audit log)."""
    op.create_table(
        "access_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=255), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("person_id", sa.String(length=255), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_access_events")),
    )
