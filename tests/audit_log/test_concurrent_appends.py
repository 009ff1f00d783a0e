"""Many writers appending to the audit log at once, from the very first entry of a new store:
every entry is kept, numbered without a gap, and the chain verifies (SQLite: the immediate
transaction serialises writers; PostgreSQL: the head row is locked FOR UPDATE)."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from chaperone.audit_log import service as trail
from chaperone.store.db import Store
from chaperone.store.models import TrailEntry, TrailHead

pytestmark = pytest.mark.store

WRITERS, EACH = 8, 15


def test_eight_writers_from_the_first_entry_keep_every_entry_in_one_chain(store: Store) -> None:
    start, failures = threading.Barrier(WRITERS), []

    def write(n: int) -> None:
        start.wait()
        try:
            for i in range(EACH):
                with store.transaction() as session:
                    session.scalar(select(func.count()).select_from(TrailHead))  # a read first
                    trail.record(session, actor=f"writer{n}", action="view",
                                 object_type="finding", object_id=f"{n}-{i}", person_ids=["S1"])
        except Exception as problem:
            failures.append(f"writer {n}: {type(problem).__name__}: {problem}"[:300])

    threads = [threading.Thread(target=write, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert failures == []
    with store.transaction() as session:
        seqs = list(session.scalars(select(TrailEntry.seq).order_by(TrailEntry.seq)))
        found = trail.verify(session)
    assert seqs == list(range(1, WRITERS * EACH + 1))
    assert found.ok, found.problems
    assert found.entries == WRITERS * EACH
