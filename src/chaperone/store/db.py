"""Opening the store: engine, explicit creation and migration, one transaction per unit of work.

Only `create_store` (`chaperone init`, `chaperone demo`) makes a store and only it and
`migrate_store` (`chaperone migrate`) change its schema, each under a lock (a file beside an
SQLite database, `pg_advisory_lock` on PostgreSQL) so that many processes starting at once
take turns. `open_store` (every other command, the servers) checks that the store exists and
is at this version's schema revision, and otherwise fails with one line saying what to run.

On SQLite the store runs in WAL mode (readers never wait for a writer), every transaction
begins with `BEGIN IMMEDIATE` (writers queue for the one write lock instead of failing when
a read turns into a write) and waits up to `BUSY_TIMEOUT_MS` for it.
"""

from __future__ import annotations

import fcntl
import functools
import os
import threading
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, unquote

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event, exc, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from chaperone.common.problems import ChaperoneError
from chaperone.settings import Settings
from chaperone.store.keys import AUDIT_LOG, AuditLogKeys, key_from_file
from chaperone.store.secrets import ACK_LINK_KEY

MIGRATIONS = Path(__file__).parent / "migrations"
BUSY_TIMEOUT_MS = 30_000  # a writer waits this long for SQLite's write lock
LOCK_ID = 0x43686170  # pg_advisory_lock key of schema changes ("Chap")
READING = "chaperone_reading"  # execution option of `Store.reading` connections
INIT, MIGRATE = "run `chaperone init` to create it", "run `chaperone migrate`"


class StoreNotReady(ChaperoneError):
    """The store is missing, or at a schema revision this version does not run on."""


class Turns:
    """First come, first served: this process's transactions on an SQLite store queue here
    before they ask for its write lock, in the order they came. SQLite's own busy handler
    polls with growing sleeps, so under load an unlucky request could wait many seconds while
    later ones go first. A thread already in a transaction is not queued again."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiting: deque[threading.Event] = deque()
        self._busy = False
        self._holder: int | None = None

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for this thread's turn and hold it for the block (handed to the next in line,
        waking only that one, when the block ends)."""
        if self._holder == threading.get_ident():
            yield
            return
        with self._mutex:
            called = threading.Event() if self._busy else None
            if called is not None:
                self._waiting.append(called)
            self._busy = True
        if called is not None:
            called.wait()
        self._holder = threading.get_ident()
        try:
            yield
        finally:
            self._holder = None
            with self._mutex:
                if self._waiting:
                    self._waiting.popleft().set()
                else:
                    self._busy = False


@dataclass(frozen=True)
class Store:
    """The opened store: an engine and its session factory (and, on SQLite, the queue of
    this process's transactions)."""

    engine: Engine
    sessions: sessionmaker[Session]
    turns: Turns | None = None

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on any error."""
        with self.turns.turn() if self.turns else nullcontext(), self.sessions.begin() as session:
            yield session

    @contextmanager
    def reading(self) -> Iterator[Session]:
        """A transaction that only reads (whatever it changes is rolled back): on SQLite it
        takes no write lock, so a long read (an audit loading the directory) keeps no writer
        waiting and waits for none."""
        with self.sessions(bind=self.engine.execution_options(**{READING: True})) as session:
            try:
                yield session
            finally:
                session.rollback()

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
    """Bring the schema to the newest migration (idempotent; callers hold `schema_lock`)."""
    command.upgrade(alembic_config(engine, audit_log_key=audit_log_key), "head")


@functools.cache
def _scripts() -> ScriptDirectory:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return ScriptDirectory.from_config(config)


def head_revision() -> str:
    """The newest schema revision this version of Chaperone runs on."""
    head = _scripts().get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The store's schema revision (None for an empty database)."""
    with engine.execution_options(**{READING: True}).connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def pending(engine: Engine) -> list[str]:
    """The migrations `migrate` would apply, oldest first, as "0007 finding verdicts"."""
    current = current_revision(engine)
    steps = list(_scripts().iterate_revisions(head_revision(), current or "base"))
    return [f"{step.revision} {(step.doc or '').strip().splitlines()[0]}"
            for step in reversed(steps)]


def audit_log_keys(settings: Settings) -> AuditLogKeys:
    """The audit log's key (from its key file, created on first use) and checkpoint file."""
    return AuditLogKeys(
        key=key_from_file(settings.audit_log_key_path),
        checkpoint_file=settings.audit_log_checkpoint_path,
        syslog=settings.audit_log_syslog,
    )


def where(settings: Settings) -> str:
    """The store as a user may see it named (no password)."""
    url = make_url(settings.store_url)
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.render_as_string(hide_password=True)


def open_store(settings: Settings) -> Store:
    """Open the existing store the settings name, at this version's schema revision, or
    raise `StoreNotReady` (nothing is created); every session it makes carries the audit
    log's key in `Session.info`, so `trail.record` can seal entries."""
    engine = _engine(settings)
    try:
        _check(engine, settings)
    except BaseException:
        engine.dispose()
        raise
    return _opened(engine, settings)


def create_store(settings: Settings, say: Callable[[str], None] | None = None) -> Store:
    """Create the store when it does not exist and bring it to the newest schema (what
    `chaperone init` does); safe when several processes do it at once."""
    if not settings.database_url:
        settings.home.mkdir(parents=True, exist_ok=True)
    engine = _engine(settings)
    try:
        with schema_lock(engine):
            _touch(engine)
            _upgrade(engine, settings, say)
    except BaseException:
        engine.dispose()
        raise
    return _opened(engine, settings)


def migrate_store(settings: Settings, say: Callable[[str], None]) -> list[str]:
    """Bring an existing store to the newest schema under the lock, saying first what will
    be applied; the migrations applied (none when it was current)."""
    engine = _engine(settings)
    try:
        database = _sqlite_file(engine)
        if database is not None and not os.path.exists(database):
            _missing(engine, settings)  # before the lock: its file would be created
        with schema_lock(engine):
            if current_revision(engine) is None:  # never initialised
                _missing(engine, settings)
            return _upgrade(engine, settings, say)
    finally:
        engine.dispose()


def _upgrade(engine: Engine, settings: Settings, say: Callable[[str], None] | None) -> list[str]:
    _known(current_revision(engine), settings)
    steps = pending(engine)
    if steps and say:
        current = current_revision(engine) or "empty"
        say(f"{where(settings)}: schema {current} -> {head_revision()}; applying {len(steps)}"
            f" migration{'s' if len(steps) > 1 else ''}:")
        for step in steps:
            say(f"  {step}")
    if steps:
        migrate(engine, audit_log_key=audit_log_keys(settings).key)
    if say:
        say(f"{where(settings)}: schema {head_revision()} (current)")
    return steps


def _opened(engine: Engine, settings: Settings) -> Store:
    sessions = sessionmaker(
        engine, expire_on_commit=False, info={AUDIT_LOG: audit_log_keys(settings)}
    )
    sessions.kw["info"][ACK_LINK_KEY] = settings.ack_link_key_path  # see store/secrets.py
    turns = Turns() if _sqlite_file(engine) is not None else None
    return Store(engine=engine, sessions=sessions, turns=turns)


def _check(engine: Engine, settings: Settings) -> None:
    try:
        current = current_revision(engine)
    except exc.OperationalError as problem:
        if _sqlite_file(engine) is not None:
            _missing(engine, settings)
        raise StoreNotReady(f"cannot reach the store at {where(settings)}: {_first_line(problem)}"
                            ) from problem
    if current is None:
        _missing(engine, settings)
    if current != head_revision():
        _known(current, settings)
        raise StoreNotReady(
            f"the store at {where(settings)} is at schema revision {current}, this version"
            f" needs {head_revision()}: {MIGRATE} (back it up first)"
        )


def _known(revision: str | None, settings: Settings) -> None:
    """Refuse a store at a revision this version has no migration for (a newer Chaperone's)."""
    if revision is None:
        return
    try:
        _scripts().get_revision(revision)
    except Exception:  # alembic raises several kinds for an unknown id
        raise StoreNotReady(
            f"the store at {where(settings)} is at schema revision {revision}, which this"
            " version of Chaperone does not know (was it made by a newer one?)"
        ) from None


def _missing(engine: Engine, settings: Settings) -> NoReturn:
    if _sqlite_file(engine) is not None:
        raise StoreNotReady(f"no store at {where(settings)}: {INIT}")
    raise StoreNotReady(f"the database {where(settings)} holds no Chaperone store: {INIT}")


def _first_line(problem: BaseException) -> str:
    original = getattr(problem, "orig", None) or problem
    return (str(original).strip().splitlines() or [type(original).__name__])[0]


@contextmanager
def schema_lock(engine: Engine) -> Iterator[None]:
    """Hold the store's schema lock: a file lock beside an SQLite database, a PostgreSQL
    advisory lock otherwise (released when this block ends or the process dies)."""
    database = _sqlite_file(engine)
    if database is not None:
        with open(f"{database}.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
        return
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": LOCK_ID})
        connection.commit()
        try:
            yield
        finally:
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": LOCK_ID})
            connection.commit()


def _touch(engine: Engine) -> None:
    """Create the SQLite database file (the engine itself never creates one)."""
    database = _sqlite_file(engine)
    if database is not None and not os.path.exists(database):
        with open(database, "ab"):
            pass


def _sqlite_file(engine: Engine) -> str | None:
    """The SQLite database's path (None for PostgreSQL)."""
    if engine.dialect.name != "sqlite":
        return None
    return unquote((engine.url.database or "").removeprefix("file:"))


def _engine(settings: Settings) -> Engine:
    url = make_url(settings.store_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    path = os.path.abspath(url.database or "")
    # mode=rw: a connection never creates a missing database (see `create_store`)
    engine = create_engine(
        f"sqlite:///file:{quote(path)}?mode=rw&uri=true",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000},
    )
    event.listen(engine, "connect", functools.partial(_sqlite_connect, path))
    event.listen(engine, "checkout", functools.partial(_same_file, path))
    event.listen(engine, "begin", _begin_immediate)
    return engine


def _sqlite_connect(path: str, connection: Any, record: Any) -> None:
    # SQLAlchemy's pysqlite recipe: the driver starts no transaction of its own, `begin` does
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.close()
    record.info["inode"] = _inode(path)


def _same_file(path: str, _connection: Any, record: Any, _proxy: Any) -> None:
    """A pooled connection to a database file since deleted or replaced is not reused
    (it would read and write a file nobody sees); a new one fails, as the file is missing."""
    now = _inode(path)
    if now is None or now != record.info.get("inode"):
        raise exc.DisconnectionError(f"{path} was deleted or replaced")


def _inode(path: str) -> int | None:
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def _begin_immediate(connection: Connection) -> None:
    reading = connection.get_execution_options().get(READING)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")
