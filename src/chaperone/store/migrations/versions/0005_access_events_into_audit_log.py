"""access events move into the hash-chained audit log

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-30 01:50:00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

GENESIS = "0" * 64

log = sa.table(
    "audit_log",
    sa.column("seq", sa.Integer),
    sa.column("at", sa.DateTime(timezone=True)),
    sa.column("actor", sa.String),
    sa.column("action", sa.String),
    sa.column("object_type", sa.String),
    sa.column("object_id", sa.String),
    sa.column("person_ids", sa.Text),
    sa.column("detail", sa.Text),
    sa.column("prev_hash", sa.String),
    sa.column("hash", sa.String),
)
log_people = sa.table("audit_log_people", sa.column("seq", sa.Integer), sa.column("person_id"))
head = sa.table("audit_log_head", sa.column("id", sa.Integer), sa.column("seq"), sa.column("hash"))


def _digest(prev_hash: str, entry: dict[str, object]) -> str:
    """The audit log's unkeyed SHA-256 chain as it was at this revision (0008 keys it)."""
    at = entry["at"]
    assert isinstance(at, dt.datetime)
    body = json.dumps(
        [
            entry["seq"],
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            *(entry[name] for name in ("actor", "action", "object_type", "object_id")),
            entry["person_ids"],
            entry["detail"],
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def upgrade() -> None:
    """Append every earlier access event to the audit log, oldest first, then drop the table."""
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
    current = bind.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    seq, previous = (current.seq, current.hash) if current else (0, GENESIS)
    if rows and current is None:
        bind.execute(head.insert().values(id=1, seq=0, hash=GENESIS))
    for row in rows:
        seq += 1
        entry: dict[str, object] = {
            "seq": seq,
            "at": dt.datetime.now(dt.UTC),
            "actor": row.actor,
            "action": row.action,
            "object_type": "person" if row.person_id else "findings",
            "object_id": row.person_id or "",
            "person_ids": row.person_id or "",
            "detail": f"{row.detail} (recorded {row.at})",
            "prev_hash": previous,
        }
        entry["hash"] = previous = _digest(previous, entry)
        bind.execute(log.insert().values(**entry))
        if row.person_id:
            bind.execute(log_people.insert().values(seq=seq, person_id=row.person_id))
    if rows:
        bind.execute(head.update().where(head.c.id == 1).values(seq=seq, hash=previous))
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
