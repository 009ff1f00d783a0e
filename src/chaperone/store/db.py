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
from chaperone.store.keys import AUDIT_LOG, AuditLogKeys, key_from_file
from chaperone.store.secrets import ACK_LINK_KEY

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


def alembic_config(engine: Engine, *, audit_log_key: bytes | None = None) -> Config:
    """An Alembic configuration bound to this engine, independent of the working folder
    (migrations that seal the audit log read its key from the attributes, never the store)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    config.attributes["audit_log_key"] = audit_log_key
    return config


def migrate(engine: Engine, *, audit_log_key: bytes | None = None) -> None:
    """Bring the schema to the newest migration (idempotent)."""
    command.upgrade(alembic_config(engine, audit_log_key=audit_log_key), "head")


def audit_log_keys(settings: Settings) -> AuditLogKeys:
    """The audit log's key (from its key file, created on first use) and checkpoint file."""
    return AuditLogKeys(
        key=key_from_file(settings.audit_log_key_path),
        checkpoint_file=settings.audit_log_checkpoint_path,
        syslog=settings.audit_log_syslog,
    )


def open_store(settings: Settings, *, upgrade: bool = True) -> Store:
    """Open (and by default migrate) the store the settings name; every session it makes
    carries the audit log's key in `Session.info`, so `trail.record` can seal entries."""
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    keys = audit_log_keys(settings)
    engine = create_engine(settings.store_url)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    if upgrade:
        migrate(engine, audit_log_key=keys.key)
    sessions = sessionmaker(engine, expire_on_commit=False, info={AUDIT_LOG: keys})
    sessions.kw["info"][ACK_LINK_KEY] = settings.ack_link_key_path  # see store/secrets.py
    return Store(engine=engine, sessions=sessions)


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()
