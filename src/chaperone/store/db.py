"""Opening the store: engine, migrations to head, and one transaction per unit of work."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import Session, sessionmaker

from chaperone.settings import Settings

MIGRATIONS = Path(__file__).parent / "migrations"


@dataclass(frozen=True)
class Store:
    """The opened store: an engine and its session factory."""

    engine: Engine
    sessions: sessionmaker[Session]

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        """Release every connection."""
        self.engine.dispose()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to this engine, independent of the working folder."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine), "head")


def open_store(settings: Settings, *, upgrade: bool = True) -> Store:
    """Open (and by default migrate) the store the settings name."""
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = create_engine(settings.store_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if upgrade:
        migrate(engine)
    return Store(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
