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
