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

    from chaperone.audit_log import service as trail
    from chaperone.settings import Settings
    from chaperone.store.db import alembic_config, audit_log_keys
    from chaperone.store.keys import AUDIT_LOG

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


def test_stored_sentences_become_verdicts_without_names(settings: object) -> None:
    """0007: every finding keeps its id; its sentence (with a name in it) is dropped and a
    verdict built from its columns, marked incomplete until the next audit."""
    import json

    from alembic import command
    from sqlalchemy import create_engine, text

    from chaperone.judge.render import Wording, render
    from chaperone.judge.verdicts import Verdict
    from chaperone.settings import Settings
    from chaperone.store.db import alembic_config

    assert isinstance(settings, Settings)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.store_url)
    command.upgrade(alembic_config(engine), "0006")
    stopped = "The district's mail gateway refused it before delivery (REJECT)."
    with engine.begin() as connection:
        connection.execute(text(
            "INSERT INTO people (person_id, population, role, given_name, family_name, "
            "active, source, updated_at) VALUES ('T1', 'staff', 'teacher', 'Dana', 'Ito', "
            "true, 'oneroster', '2026-09-01 00:00:00'), ('S1', 'student', 'student', 'Kai', "
            "'Lee', true, 'oneroster', '2026-09-01 00:00:00')"))
        connection.execute(text(
            "INSERT INTO findings (finding_id, rule_id, citation, policy_version, severity, "
            "occurred_at, local_date, channel_type, platform, message_id, record_id, "
            "source_ref, sender, recipients, subject_person_id, counterpart_person_ids, "
            "school, explanation, active, first_seen_at, last_seen_at) VALUES "
            "('f1', '9052-A-platform', '9052 §A', '2017.1', 'high', '2026-09-14 13:00:00', "
            "'2026-09-14', 'text_message', 'remind', 'm1', 'r1', 'gateway:1', '+19145550101', "
            "'+19145550103', 'T1', 'S1', 'HS', :said, true, '2026-09-15 00:00:00', "
            "'2026-09-15 00:00:00')"),
            {"said": f"Dana Ito (teacher, HS) texted a student on Remind. {stopped}"})
    migrate(engine)
    with engine.connect() as connection:
        rows = connection.execute(text("SELECT * FROM findings")).mappings().all()
    engine.dispose()
    assert [r["finding_id"] for r in rows] == ["f1"] and "explanation" not in rows[0]
    stored = rows[0]["verdict"]
    assert "Dana" not in stored and "Ito" not in stored and "+1914" not in stored
    verdict = Verdict.from_json(stored)
    assert (verdict.subject, verdict.counterparts, verdict.stopped, verdict.complete) == (
        "T1", (("S1", "student"),), "REJECT", False)
    said = render(verdict, Wording(describe=lambda _p: "Staff ABCDEF", platforms={}, packs={}))
    assert said == ("Staff ABCDEF texted a student on remind, which is not in the district's "
                    f"registry; §A requires district accounts or a district-approved platform. "
                    f"{stopped}")
    assert json.loads(stored)["format"] == 1
