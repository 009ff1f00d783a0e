"""The embedded store under concurrent use: WAL mode, readers that never wait for a writer,
writers that queue for the lock instead of failing (SQLite only: PostgreSQL has row locks)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import func, select, text

from chaperone.audit_log import service as trail
from chaperone.settings import Settings
from chaperone.store.db import Store, open_store
from chaperone.store.models import TrailHead


@pytest.fixture
def sqlite(store: Store, settings: Settings) -> Store:
    if settings.database_url:
        pytest.skip("SQLite's locking only")
    return store


def hold_the_write_lock(store: Store, seconds: float) -> threading.Thread:
    """Another connection in a write transaction for `seconds` (an audit saving a batch)."""
    holding = threading.Event()

    def hold() -> None:
        with store.transaction() as session:
            trail.record(session, actor="audit", action="save", object_type="findings",
                         object_id="batch")
            holding.set()
            time.sleep(seconds)

    thread = threading.Thread(target=hold)
    thread.start()
    holding.wait(timeout=10)
    return thread


def test_the_store_is_in_wal_mode(sqlite: Store) -> None:
    with sqlite.reading() as session:
        assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_read_does_not_wait_for_a_writer(sqlite: Store, settings: Settings) -> None:
    other = open_store(settings)  # another process, as far as SQLite can tell
    writer = hold_the_write_lock(sqlite, 2.0)
    started = time.monotonic()
    with other.reading() as session:
        assert session.scalar(select(func.count()).select_from(TrailHead)) is not None
    assert time.monotonic() - started < 1.0
    writer.join()
    other.close()


def test_a_writer_waits_its_turn_instead_of_failing(sqlite: Store, settings: Settings) -> None:
    other = open_store(settings)
    writer = hold_the_write_lock(sqlite, 1.5)
    with other.transaction() as session:  # read first, then write: the lock is taken at BEGIN
        session.scalar(select(func.count()).select_from(TrailHead))
        entry = trail.record(session, actor="web", action="view", object_type="finding",
                             object_id="f1")
    writer.join()
    other.close()
    with sqlite.reading() as session:
        assert trail.verify(session).ok
    assert entry.seq == 2
