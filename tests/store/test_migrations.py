"""The migrations build exactly the schema the models describe, on every engine."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from chaperone.store.db import Store, migrate
from chaperone.store.models import Base

pytestmark = pytest.mark.store


def test_migrations_match_the_models(store: Store) -> None:
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    assert diff == []


def test_migrating_twice_is_harmless(store: Store) -> None:
    migrate(store.engine)
    tables = set(inspect(store.engine).get_table_names())
    assert {"people", "accounts", "orgs", "registry_snapshots", "alembic_version"} <= tables


def test_earlier_access_events_move_into_the_audit_log(settings: object) -> None:
    from alembic import command
    from sqlalchemy import create_engine, text

    from chaperone.settings import Settings
    from chaperone.store.db import alembic_config, audit_log_keys
    from chaperone.store.keys import AUDIT_LOG
    from chaperone.trail import service as trail

    assert isinstance(settings, Settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.store_url)
    command.upgrade(alembic_config(engine), "0004")
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO access_events (at, actor, action, person_id, detail) VALUES "
                "('2026-11-01 10:00:00', 'principal.hs', 'view', 'S1', 'directory show'), "
                "('2026-11-02 10:00:00', 'cli', 'export', NULL, 'findings export of 3 findings')"
            )
        )
    keys = audit_log_keys(settings)
    migrate(engine, audit_log_key=keys.key)
    assert "access_events" not in inspect(engine).get_table_names()
    from sqlalchemy.orm import Session

    with Session(engine, info={AUDIT_LOG: keys}) as session:
        check = trail.verify(session)
        moved = trail.entries(session)
        assert check.ok and check.entries == 3  # the two moved, and 0008's re-seal
        assert [(e.actor, e.action, e.person_ids) for e in reversed(moved)] == [
            ("principal.hs", "view", "S1"),
            ("cli", "export", ""),
            ("chaperone", "reseal", ""),
        ]
        assert [e.actor for e in trail.entries(session, person_id="S1")] == ["principal.hs"]
    engine.dispose()


def test_migrations_import_nothing_of_todays_code() -> None:
    """A migration must give the same result whatever later versions of the code do."""
    import ast
    from pathlib import Path

    import chaperone.store

    versions = Path(chaperone.store.__file__).parent / "migrations" / "versions"
    found = {}
    for path in sorted(versions.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name.split(".")[0] == "chaperone":
                    found.setdefault(path.name, []).append(name)
    assert found == {}
    assert len(list(versions.glob("*.py"))) >= 7
