"""Append to the keyed, hash-chained audit log, read it back, and verify that nothing was edited.

Each entry's MAC (`chain.mac`: HMAC-SHA256 under a key kept outside the store) covers its own
fields, its person ids among them, and the previous entry's MAC. Entries are numbered without
gaps (the number is the primary key, so two writers cannot fork the chain) and a one-row head
names the newest entry. The head is also checkpointed outside the store (`checkpoints`), on
the first entry of each day and on demand, so a log cut short is detected even when the head
row was fixed up. `audit_log_people` indexes entries by person for SQL reporting; the record
of access (`entries(person_id=...)`) reads the chained person ids themselves, and `verify`
reports any index row that disagrees with them.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import event, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from chaperone.audit_log import checkpoints
from chaperone.audit_log.chain import GENESIS, body, keys_of, mac, people
from chaperone.audit_log.checkpoints import Checkpoint
from chaperone.common.problems import ChaperoneError
from chaperone.store.models import TrailEntry, TrailHead, TrailPerson, utcnow

__all__ = ["GENESIS", "Verification", "body", "checkpoint", "entries", "record", "verify"]

log = logging.getLogger(__name__)

CHUNK = 2000
_PENDING = "chaperone.audit_log.pending_checkpoint"


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
    keys = keys_of(session)
    head = _locked_head(session)
    previous_at = session.scalar(select(TrailEntry.at).where(TrailEntry.seq == head.seq))
    named = sorted(set(person_ids))
    entry = TrailEntry(
        seq=head.seq + 1,
        at=utcnow(),
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        person_ids=";".join(named),
        detail=detail,
        prev_hash=head.hash,
    )
    entry.hash = mac(keys.key, head.hash, entry)
    session.add(entry)
    session.flush()
    session.add_all(TrailPerson(seq=entry.seq, person_id=person) for person in named)
    head.seq, head.hash = entry.seq, entry.hash
    session.flush()
    if previous_at is None or _utc_day(previous_at) != _utc_day(entry.at):
        _checkpoint_after_commit(session, entry)
    return entry


def _locked_head(session: Session) -> TrailHead:
    """The head row, locked until the transaction ends (PostgreSQL: SELECT … FOR UPDATE;
    SQLite: the transaction began IMMEDIATE, so it holds the one write lock already). A new
    store has no head yet: of two first writers, one inserts it, the other waits for it."""
    locked = select(TrailHead).with_for_update()
    head = session.execute(locked).scalar_one_or_none()
    if head is not None:
        return head
    try:
        with session.begin_nested():
            session.add(TrailHead(id=1, seq=0, hash=GENESIS))
    except IntegrityError:  # another transaction made it first (and has committed)
        pass
    return session.execute(locked).scalar_one()


def _utc_day(at: dt.datetime) -> dt.date:
    return (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).astimezone(dt.UTC).date()


def _checkpoint_after_commit(session: Session, entry: TrailEntry) -> None:
    """The first entry of a UTC day is checkpointed once its transaction has committed (a
    checkpoint of an entry that was rolled back would later look like a truncated log)."""
    session.info[_PENDING] = (entry.seq, entry.hash)
    if not event.contains(session, "after_commit", _write_pending):
        event.listen(session, "after_commit", _write_pending)
        event.listen(session, "after_soft_rollback", _drop_pending)


def _write_pending(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    seq, entry_mac = pending
    try:
        checkpoints.write(keys_of(session), seq=seq, mac=entry_mac)
    except OSError as problem:  # the work is committed; say so loudly, but do not undo it
        log.error("audit log: could not write the daily checkpoint of entry %s: %s", seq, problem)


def _drop_pending(session: Session, _previous: SessionTransaction) -> None:
    session.info.pop(_PENDING, None)


@dataclass(frozen=True)
class Verification:
    """What `verify` found: how many entries and checkpoints it checked, and every break."""

    entries: int
    head_hash: str
    problems: tuple[str, ...]
    first_bad: int | None = None
    checkpoints: int = 0

    @property
    def ok(self) -> bool:
        """True when the chain is intact."""
        return not self.problems


@dataclass(frozen=True)
class _Stored:
    """An entry as stored, read as plain values (a long log never fills the session)."""

    seq: int
    at: dt.datetime
    actor: str
    action: str
    object_type: str
    object_id: str
    person_ids: str
    detail: str
    prev_hash: str
    hash: str


_COLUMNS = [getattr(TrailEntry, name) for name in _Stored.__dataclass_fields__]


class _Walk:
    """One pass over the chain, collecting breaks as (entry number, sentence)."""

    def __init__(self, key: bytes, marks: Iterable[Checkpoint]) -> None:
        self.key = key
        self.marks: dict[int, list[Checkpoint]] = defaultdict(list)
        for mark in marks:
            self.marks[mark.seq].append(mark)
        self.breaks: list[tuple[int, str]] = []
        self.previous, self.last, self.count, self.forged = GENESIS, 0, 0, 0

    def entry(self, entry: _Stored, indexed: set[str]) -> None:
        self.count += 1
        seq, expected = entry.seq, self.last + 1
        if seq != expected:
            gap = f"entry {expected}" if seq == expected + 1 else f"entries {expected}-{seq - 1}"
            self.breaks.append((expected, f"{gap} deleted (the log goes on at entry {seq})"))
        elif entry.prev_hash != self.previous:
            self.breaks.append(
                (seq, f"entry {seq} does not follow entry {seq - 1} (entries were re-ordered)")
            )
        if mac(self.key, entry.prev_hash, entry) != entry.hash:
            self.forged += 1
            self.breaks.append(
                (seq, f"entry {seq} was changed after it was written (its MAC does not match)")
            )
        self._index(entry, indexed)
        for mark in self.marks.get(seq, []):
            if mark.mac != entry.hash:
                self.breaks.append((seq, f"entry {seq} is not the one {mark} recorded"))
        self.previous, self.last = entry.hash, seq

    def _index(self, entry: _Stored, indexed: set[str]) -> None:
        named = people(entry)
        if named == indexed:
            return
        said = []
        if named - indexed:
            said.append(f"lacks {', '.join(sorted(named - indexed))}")
        if indexed - named:
            said.append(f"adds {', '.join(sorted(indexed - named))}")
        self.breaks.append(
            (entry.seq, f"entry {entry.seq}'s record-of-access index {' and '.join(said)}")
        )

    def orphans(self, seqs: Iterable[int]) -> None:
        for seq in sorted(set(seqs)):
            self.breaks.append(
                (seq, f"the record-of-access index names entry {seq}, not in the log")
            )

    def end(self, head: TrailHead | None) -> None:
        head_seq, head_hash = (head.seq, head.hash) if head else (0, GENESIS)
        if head_seq != self.last or head_hash != self.previous:
            self.breaks.append(
                (
                    min(head_seq, self.last) + (0 if head_seq == self.last else 1),
                    f"the log ends at entry {self.last} but its head names entry {head_seq}"
                    " (entries were deleted or the head was changed)",
                )
            )
        beyond = [mark for seq, marks in self.marks.items() if seq > self.last for mark in marks]
        if beyond:
            mark = max(beyond, key=lambda m: m.seq)
            self.breaks.append(
                (
                    self.last + 1,
                    f"the log ends at entry {self.last} but {mark} recorded entry {mark.seq}"
                    " (the newest entries were deleted)",
                )
            )


def verify(session: Session) -> Verification:
    """Recompute the keyed chain from the first entry, check the record-of-access index and
    the checkpoints kept outside the store; report every place they do not hold."""
    keys = keys_of(session)
    marks, unreadable = checkpoints.read(keys.checkpoint_file)
    walk = _Walk(keys.key, marks)
    for chunk, index in _chunks(session):
        for entry in chunk:
            walk.entry(entry, index.pop(entry.seq, set()))
        walk.orphans(index)
    walk.orphans(session.scalars(select(TrailPerson.seq).where(TrailPerson.seq > walk.last)).all())
    head = session.get(TrailHead, 1)
    walk.end(head)
    ordered = sorted(walk.breaks, key=lambda b: b[0])
    problems = [sentence for _seq, sentence in ordered] + unreadable
    if walk.count and walk.forged == walk.count:
        problems.append(
            "no entry's MAC matches: is this the key file (audit_log_key_file) the log was"
            " sealed with?"
        )
    return Verification(
        entries=walk.count,
        head_hash=head.hash if head else GENESIS,
        problems=tuple(problems),
        first_bad=ordered[0][0] if ordered else None,
        checkpoints=len(marks),
    )


def _chunks(session: Session) -> Iterator[tuple[list[_Stored], dict[int, set[str]]]]:
    """The entries in order, a chunk at a time, each with the index rows of its seq range
    (from just after the previous chunk), so index rows in gaps are seen too."""
    after: int | None = None
    while True:
        query = select(*_COLUMNS).order_by(TrailEntry.seq).limit(CHUNK)
        if after is not None:
            query = query.where(TrailEntry.seq > after)
        chunk = [_Stored(*row) for row in session.execute(query)]
        if not chunk:
            return
        rows = select(TrailPerson.seq, TrailPerson.person_id).where(
            TrailPerson.seq <= chunk[-1].seq
        )
        if after is not None:
            rows = rows.where(TrailPerson.seq > after)
        index: dict[int, set[str]] = defaultdict(set)
        for seq, person in session.execute(rows):
            index[seq].add(person)
        yield chunk, index
        after = chunk[-1].seq


def checkpoint(session: Session) -> Checkpoint:
    """Verify the log, then write a checkpoint of its newest entry outside the store."""
    check = verify(session)
    if not check.ok:
        raise ChaperoneError(
            f"the audit log does not verify (first bad entry {check.first_bad});"
            " no checkpoint was written"
        )
    newest = session.scalars(select(TrailEntry).order_by(TrailEntry.seq.desc()).limit(1)).first()
    if newest is None:
        raise ChaperoneError("the audit log is empty: there is nothing to checkpoint")
    return checkpoints.write(keys_of(session), seq=newest.seq, mac=newest.hash)


def entries(
    session: Session,
    *,
    person_id: str | None = None,
    actions: Sequence[str] = (),
    limit: int = 200,
    before: int | None = None,
) -> list[TrailEntry]:
    """The newest entries first, optionally only those touching one person's data (read from
    the chained person ids, so no edit of the index can hide an access from this record)."""
    query = select(TrailEntry).order_by(TrailEntry.seq.desc()).limit(limit)
    if person_id is not None:
        named = literal(";") + TrailEntry.person_ids + literal(";")
        query = query.where(named.contains(f";{person_id};", autoescape=True))
    if actions:
        query = query.where(TrailEntry.action.in_(actions))
    if before is not None:
        query = query.where(TrailEntry.seq < before)
    return list(session.scalars(query))
