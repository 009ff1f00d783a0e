"""Migration 0008: a log chained with plain SHA-256 is checked, then re-sealed under the key
(and says so in an entry); a log that does not check out is left alone and the upgrade stops."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Iterator

import pytest
from alembic import command
from sqlalchemy import DateTime, Engine, bindparam, create_engine, text
from sqlalchemy.orm import Session

from chaperone.audit_log import service as trail
from chaperone.settings import Settings
from chaperone.store.db import alembic_config, audit_log_keys, migrate
from chaperone.store.keys import AUDIT_LOG

pytestmark = pytest.mark.store

COLUMNS = ("seq", "at", "actor", "action", "object_type", "object_id", "person_ids", "detail")
COLUMNS += ("prev_hash", "hash")
INSERT = text(
    f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES ({', '.join(':' + c for c in COLUMNS)})"
).bindparams(bindparam("at", type_=DateTime(timezone=True)))
OLD = [
    ("2026-11-01 10:00:00.000001", "principal.hs", "view", "person", "S1", "S1", ""),
    ("2026-11-02 11:30:00.250000", "officer", "reveal", "finding", "F-1", "S1;S2", "parent call"),
    ("2026-11-03 09:15:00.000000", "cli", "export", "findings", "", "", "findings export"),
]


@pytest.fixture
def engine(settings: Settings) -> Iterator[Engine]:
    """The store at revision 0007 (before the key), holding a SHA-256 chained log."""
    settings.home.mkdir(parents=True, exist_ok=True)
    made = create_engine(settings.store_url)
    command.upgrade(alembic_config(made), "0007")
    previous = "0" * 64
    with made.begin() as db:
        for seq, (when, actor, action, kind, object_id, people, detail) in enumerate(OLD, 1):
            at = dt.datetime.fromisoformat(when).replace(tzinfo=dt.UTC)
            fields = [actor, action, kind, object_id, people, detail]
            body = json.dumps(
                [seq, at.isoformat(timespec="microseconds"), *fields],
                ensure_ascii=False,
                separators=(",", ":"),
            )
            digest = hashlib.sha256((previous + body).encode()).hexdigest()
            values = [seq, at, *fields, previous, digest]
            db.execute(INSERT, dict(zip(COLUMNS, values, strict=True)))
            for person in filter(None, people.split(";")):
                db.execute(
                    text("INSERT INTO audit_log_people VALUES (:s, :p)"), {"s": seq, "p": person}
                )
            previous = digest
        db.execute(
            text("INSERT INTO audit_log_head (id, seq, hash) VALUES (1, 3, :h)"), {"h": previous}
        )
    yield made
    made.dispose()


def test_the_sha256_chain_is_resealed_under_the_key(engine: Engine, settings: Settings) -> None:
    keys = audit_log_keys(settings)
    migrate(engine, audit_log_key=keys.key)
    with Session(engine, info={AUDIT_LOG: keys}) as session:
        check = trail.verify(session)
        newest = trail.entries(session)
        assert check.ok, check.problems
        assert check.entries == 4
        assert (newest[0].actor, newest[0].action, newest[0].object_id) == (
            "chaperone",
            "reseal",
            "1-3",
        )
        assert [e.actor for e in trail.entries(session, person_id="S1")] == [
            "officer",
            "principal.hs",
        ]


def test_the_resealed_log_is_bound_to_the_key(engine: Engine, settings: Settings) -> None:
    migrate(engine, audit_log_key=audit_log_keys(settings).key)
    other = audit_log_keys(
        settings.model_copy(update={"audit_log_key_file": settings.home / "other.key"})
    )
    with Session(engine, info={AUDIT_LOG: other}) as session:
        check = trail.verify(session)
    assert not check.ok and check.first_bad == 1


def test_a_tampered_sha256_chain_is_not_resealed(engine: Engine, settings: Settings) -> None:
    with engine.begin() as db:
        db.execute(text("UPDATE audit_log SET detail = 'no reason' WHERE seq = 2"))
        before = db.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq")).all()
    with pytest.raises(RuntimeError, match="does not verify at entry 2"):
        migrate(engine, audit_log_key=audit_log_keys(settings).key)
    with engine.connect() as db:
        assert db.execute(text("SELECT seq, hash FROM audit_log ORDER BY seq")).all() == before
        assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == "0007"


def test_resealing_needs_the_key(engine: Engine) -> None:
    with pytest.raises(RuntimeError, match="key is needed"):
        migrate(engine)
