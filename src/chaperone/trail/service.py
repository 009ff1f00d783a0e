"""Append to the hash-chained audit log, read it back, and verify that nothing was edited.

Each entry's hash covers its own fields and the previous entry's hash; entries are numbered
without gaps (the number is the primary key, so two writers cannot fork the chain), and a
one-row head names the newest entry, so an edited, inserted or deleted entry - the newest
included - breaks verification.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from chaperone.store.models import TrailEntry, TrailHead, TrailPerson, utcnow

GENESIS = "0" * 64


def _digest(prev_hash: str, entry: TrailEntry) -> str:
    body = json.dumps(
        [
            entry.seq,
            entry.at.astimezone(dt.UTC).isoformat(timespec="microseconds"),
            entry.actor,
            entry.action,
            entry.object_type,
            entry.object_id,
            entry.person_ids,
            entry.detail,
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((prev_hash + body).encode()).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    object_type: str,
    object_id: str,
    person_ids: Iterable[str] = (),
    detail: str = "",
) -> TrailEntry:
    """Append one entry in the caller's transaction (it commits or rolls back with the work)."""
    head = session.execute(select(TrailHead).with_for_update()).scalar_one_or_none()
    if head is None:
        head = TrailHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
    people = sorted(set(person_ids))
    entry = TrailEntry(
        seq=head.seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_ids=";".join(people),
        detail=detail,
        prev_hash=head.hash,
    )
    entry.hash = _digest(head.hash, entry)
    session.add(entry)
    session.flush()
    session.add_all(TrailPerson(seq=entry.seq, person_id=person) for person in people)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    return entry


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how many entries it checked, and every break in the chain."""

    entries: int
    head_hash: str
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems


def verify(session: Session) -> Verification:
    """Recompute the chain from the first entry; report every place it does not hold."""
    problems: list[str] = []
    previous, expected_seq, count = GENESIS, 1, 0
    for entry in session.scalars(select(TrailEntry).order_by(TrailEntry.seq)).yield_per(2000):
        count += 1
        if entry.seq != expected_seq:
            problems.append(f"entry {expected_seq} is missing (next is {entry.seq})")
        if entry.prev_hash != previous:
            problems.append(f"entry {entry.seq} does not follow entry {entry.seq - 1}")
        if _digest(entry.prev_hash, entry) != entry.hash:
            problems.append(f"entry {entry.seq} was changed after it was written")
        previous, expected_seq = entry.hash, entry.seq + 1
    head = session.get(TrailHead, 1)
    head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
    if head_seq != expected_seq - 1 or head_hash != previous:
        problems.append(
            f"the log ends at entry {expected_seq - 1} but its head names entry {head_seq}"
            " (entries were deleted or the head was changed)"
        )
    return Verification(count, head_hash, tuple(problems))


def entries(
    session: Session,
    *,
    person_id: str | None = None,
    actions: Sequence[str] = (),
    limit: int = 200,
    before: int | None = None,
) -> list[TrailEntry]:
    """The newest entries first, optionally only those touching one person's data."""
    query = select(TrailEntry).order_by(TrailEntry.seq.desc()).limit(limit)
    if person_id is not None:
        query = query.join(TrailPerson, TrailPerson.seq == TrailEntry.seq).where(
            TrailPerson.person_id == person_id
        )
    if actions:
        query = query.where(TrailEntry.action.in_(actions))
    if before is not None:
        query = query.where(TrailEntry.seq < before)
    return list(session.scalars(query))
