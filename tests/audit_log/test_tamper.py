"""Tampered with as an attacker with the database (but not the key file or the checkpoint
file) would, in raw SQL: `chaperone audit-log verify` exits 1 naming the first bad entry."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable

import pytest
from sqlalchemy import Connection, text

from chaperone.audit_log import service as trail
from chaperone.store.db import Store
from tests.conftest import Cli

pytestmark = pytest.mark.store

FIELDS = ("seq", "at", "actor", "action", "object_type", "object_id", "person_ids", "detail")
PEOPLE = [["S1"], ["S1", "S2"], ["S2", "S3"], [], ["S1"], ["S3"]]


def fill(store: Store) -> None:
    """Six entries, several of them about S1's data."""
    with store.transaction() as session:
        for n, people in enumerate(PEOPLE, 1):
            trail.record(
                session,
                actor="principal.hs",
                action="view",
                object_type="person",
                object_id=str(n),
                person_ids=people,
            )


def unkeyed(previous: str, row: dict[str, object]) -> str:
    """The chain as it was before it had a key: what an attacker can recompute."""
    body = json.dumps(
        [row[c] for c in FIELDS],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256((previous + body).encode()).hexdigest()


def rewrite_from(db: Connection, seq: int) -> None:
    """Recompute every hash from entry `seq` on, and the head, without the key."""
    rows = db.execute(text("SELECT * FROM audit_log WHERE seq >= :s ORDER BY seq"), {"s": seq})
    previous = db.execute(
        text("SELECT hash FROM audit_log WHERE seq = :s"), {"s": seq - 1}
    ).scalar_one()
    for row in [dict(r._mapping) for r in rows]:
        at = (
            row["at"]
            if isinstance(row["at"], dt.datetime)
            else dt.datetime.fromisoformat(row["at"])
        )
        row["at"] = (at if at.tzinfo else at.replace(tzinfo=dt.UTC)).isoformat(
            timespec="microseconds"
        )
        new = unkeyed(previous, row)
        db.execute(
            text("UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s"),
            {"p": previous, "h": new, "s": row["seq"]},
        )
        previous = new
    db.execute(text("UPDATE audit_log_head SET hash = :h"), {"h": previous})


def truncate(db: Connection, keep: int) -> None:
    """Delete the newest entries and fix the head so it names the last one kept."""
    db.execute(text("DELETE FROM audit_log_people WHERE seq > :k"), {"k": keep})
    db.execute(text("DELETE FROM audit_log WHERE seq > :k"), {"k": keep})
    db.execute(
        text(
            "UPDATE audit_log_head SET seq = :k, hash = (SELECT hash FROM audit_log WHERE seq = :k)"
        ),
        {"k": keep},
    )


def reorder(db: Connection) -> None:
    """Swap what entries 3 and 4 say (each keeps its number, MAC and links)."""
    fields = "at, actor, action, object_type, object_id, person_ids, detail"
    third, fourth = (
        dict(db.execute(text(f"SELECT {fields} FROM audit_log WHERE seq = {n}")).one()._mapping)
        for n in (3, 4)
    )
    for seq, values in ((3, fourth), (4, third)):
        sets = ", ".join(f"{name} = :{name}" for name in values)
        db.execute(text(f"UPDATE audit_log SET {sets} WHERE seq = {seq}"), values)


TAMPER: dict[str, tuple[Callable[[Connection], object], int]] = {
    "an edited entry": (
        lambda db: db.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")),
        3,
    ),
    "an edited entry, every later hash recomputed without the key": (
        lambda db: (
            db.execute(text("UPDATE audit_log SET actor = 'someone else' WHERE seq = 3")),
            rewrite_from(db, 3),
        ),
        3,
    ),
    "a deleted entry": (
        lambda db: (
            db.execute(text("DELETE FROM audit_log_people WHERE seq = 4")),
            db.execute(text("DELETE FROM audit_log WHERE seq = 4")),
        ),
        4,
    ),
    "a deleted record-of-access row": (
        lambda db: db.execute(
            text("DELETE FROM audit_log_people WHERE seq = 2 AND person_id = 'S1'")
        ),
        2,
    ),
    "an added record-of-access row": (
        lambda db: db.execute(
            text("INSERT INTO audit_log_people (seq, person_id) VALUES (4, 'S9')")
        ),
        4,
    ),
    "an altered record-of-access row": (
        lambda db: db.execute(text("UPDATE audit_log_people SET person_id = 'S9' WHERE seq = 5")),
        5,
    ),
    "a truncated tail, the head fixed up": (lambda db: truncate(db, 3), 4),
    "re-ordered entries": (reorder, 3),
}


@pytest.mark.parametrize("kind", list(TAMPER))
def test_verify_names_the_first_bad_entry(kind: str, store: Store, cli: Cli) -> None:
    fill(store)
    assert "6 entries" in cli.ok("audit-log", "verify").out
    if kind.startswith("a truncated tail"):
        cli.ok("audit-log", "checkpoint")  # what the daily checkpoint or a cron job writes
    tamper, first_bad = TAMPER[kind]
    with store.engine.begin() as db:
        tamper(db)
    failed = cli("audit-log", "verify")
    assert failed.code == 1
    assert f"audit log tampered with from entry {first_bad}:" in failed.err
    assert failed.out.splitlines()[0].startswith((f"entry {first_bad}", "the log ends at entry 3"))
    answer = json.loads(cli("audit-log", "verify", "--format", "json").out)
    assert answer["ok"] is False and answer["first_bad_entry"] == first_bad


def test_an_untouched_log_verifies_with_its_checkpoints(store: Store, cli: Cli) -> None:
    fill(store)
    written = cli.ok("audit-log", "checkpoint").out
    assert "entry 6" in written
    answer = json.loads(cli.ok("audit-log", "verify", "--format", "json").out)
    assert answer["ok"] is True and answer["entries"] == 6 and answer["first_bad_entry"] is None
    assert answer["checkpoints"] == 2  # the first entry of the day's, and the one asked for


def test_a_deleted_index_row_cannot_hide_an_access_from_the_record(store: Store, cli: Cli) -> None:
    fill(store)
    with store.engine.begin() as db:
        db.execute(text("DELETE FROM audit_log_people WHERE person_id = 'S1'"))
        db.execute(text("INSERT INTO audit_log_people (seq, person_id) VALUES (6, 'S1')"))
    record = json.loads(cli.ok("audit-log", "show", "--person", "S1", "--format", "json").out)
    assert [r["object"] for r in record] == ["person 5", "person 2", "person 1"]


def test_the_record_of_access_lists_exactly_that_person(store: Store) -> None:
    with store.transaction() as session:
        for n, people in enumerate([["S10"], ["S_1"], ["S%"], ["AS1", "S1X"], ["S1", "S10"]], 1):
            trail.record(
                session,
                actor="hr",
                action="view",
                object_type="person",
                object_id=str(n),
                person_ids=people,
            )
    with store.transaction() as session:

        def read(person: str) -> list[str]:
            return [e.object_id for e in trail.entries(session, person_id=person)]

        assert read("S1") == ["5"]
        assert read("S10") == ["5", "1"]
        assert read("S_1") == ["2"] and read("S%") == ["3"] and read("S") == []
