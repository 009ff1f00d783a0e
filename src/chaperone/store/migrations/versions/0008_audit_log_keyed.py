"""audit log keyed chain and checkpoints

The existing entries were chained with plain SHA-256, which anyone with the database can
recompute. The upgrade checks that chain, entry by entry, then re-seals it with HMAC-SHA256
under the audit log's key (kept outside the store, passed in by `open_store` as the Alembic
attribute `audit_log_key`) and appends an entry saying it did. A chain that does not verify
is not re-sealed: the upgrade stops, so tampering is never laundered into a valid chain.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-08 03:15:00
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any

import sqlalchemy as sa
from alembic import context, op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

GENESIS = "0" * 64
CHUNK = 5000

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
head = sa.table("audit_log_head", sa.column("id", sa.Integer), sa.column("seq"), sa.column("hash"))

Seal = Callable[[str, str], str]  # (previous MAC or hash, body) -> this entry's


def _body(row: Any) -> str:
    """An entry's fields as the chain covers them (a stored naive time is UTC, as written)."""
    at = row.at if row.at.tzinfo else row.at.replace(tzinfo=dt.UTC)
    return json.dumps(
        [
            row.seq,
            at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            row.actor,
            row.action,
            row.object_type,
            row.object_id,
            row.person_ids,
            row.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )


def _sha256(previous: str, body: str) -> str:
    return hashlib.sha256((previous + body).encode()).hexdigest()


def _keyed(key: bytes) -> Seal:
    return lambda previous, body: hmac.new(key, (previous + body).encode(), "sha256").hexdigest()


def _key() -> bytes:
    key = context.config.attributes.get("audit_log_key")
    if not isinstance(key, bytes) or len(key) != 32:
        raise RuntimeError(
            "the audit log's key is needed to re-seal it: open the store with open_store"
            " (the key file is audit_log_key_file, by default HOME/audit-log.key)"
        )
    return key


def _rows(bind: sa.Connection) -> Iterator[Any]:
    after = 0
    while True:
        chunk = bind.execute(
            sa.select(log).where(log.c.seq > after).order_by(log.c.seq).limit(CHUNK)
        ).all()
        if not chunk:
            return
        yield from chunk
        after = chunk[-1].seq


def _rechain(bind: sa.Connection, *, old: Seal, new: Seal, old_name: str) -> tuple[int, str]:
    """Check every entry under `old`, seal it again under `new`; the count and new head."""
    old_previous = new_previous = GENESIS
    count = 0
    updates: list[dict[str, object]] = []
    for row in _rows(bind):
        count += 1
        body = _body(row)
        if row.seq != count or row.prev_hash != old_previous or old(old_previous, body) != row.hash:
            raise RuntimeError(
                f"the audit log's {old_name} chain does not verify at entry {count}; it was"
                " not re-sealed (restore the database from a backup taken before the change)"
            )
        old_previous = row.hash
        sealed = new(new_previous, body)
        updates.append({"b_seq": row.seq, "b_prev": new_previous, "b_hash": sealed})
        new_previous = sealed
        if len(updates) >= CHUNK:
            _write(bind, updates)
    _write(bind, updates)
    stored = bind.execute(sa.select(head.c.seq, head.c.hash).where(head.c.id == 1)).first()
    if count and (stored is None or (stored.seq, stored.hash) != (count, old_previous)):
        raise RuntimeError(
            f"the audit log ends at entry {count} but its head does not name it; it was not"
            " re-sealed (restore the database from a backup taken before the change)"
        )
    return count, new_previous


def _write(bind: sa.Connection, updates: list[dict[str, object]]) -> None:
    if updates:
        bind.execute(
            log.update()
            .where(log.c.seq == sa.bindparam("b_seq"))
            .values(prev_hash=sa.bindparam("b_prev"), hash=sa.bindparam("b_hash")),
            updates,
        )
        updates.clear()


def upgrade() -> None:
    """Verify the SHA-256 chain, re-seal it under the key, and record that it was done."""
    bind = op.get_bind()
    if bind.execute(sa.select(log.c.seq).limit(1)).first() is None:
        return
    seal = _keyed(_key())
    count, previous = _rechain(bind, old=_sha256, new=seal, old_name="SHA-256")
    entry: dict[str, Any] = {
        "seq": count + 1,
        "at": dt.datetime.now(dt.UTC),
        "actor": "chaperone",
        "action": "reseal",
        "object_type": "audit-log",
        "object_id": f"1-{count}",
        "person_ids": "",
        "detail": (
            f"entries 1-{count} verified under their SHA-256 chain and re-sealed with"
            " HMAC-SHA256 under the audit log's key (migration 0008)"
        ),
        "prev_hash": previous,
    }
    entry["hash"] = seal(previous, _body(SimpleNamespace(**entry)))
    bind.execute(log.insert().values(**entry))
    bind.execute(head.update().where(head.c.id == 1).values(seq=count + 1, hash=entry["hash"]))


def downgrade() -> None:
    """Check the keyed chain, then chain it again with plain SHA-256 (the entries stay)."""
    bind = op.get_bind()
    if bind.execute(sa.select(log.c.seq).limit(1)).first() is None:
        return
    count, previous = _rechain(bind, old=_keyed(_key()), new=_sha256, old_name="keyed")
    bind.execute(head.update().where(head.c.id == 1).values(seq=count, hash=previous))
