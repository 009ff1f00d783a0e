"""Adding records to the lake: deduplicated by record_id, in files that appear whole."""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Collection
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from chaperone.lake.layout import LakeLayout, publish, upgrade
from chaperone.lake.schema import COLUMNS, Rejected

QUARANTINE_SCHEMA = pa.schema(
    [
        ("quarantine_id", pa.string()),
        ("run_id", pa.string()),
        ("quarantined_at", pa.timestamp("us", tz="UTC")),
        ("source_kind", pa.string()),
        ("source", pa.string()),
        ("position", pa.string()),
        ("reason", pa.string()),
        ("size", pa.int64()),
        ("sha256", pa.string()),
    ]
)


@dataclass(frozen=True)
class Written:
    """How many rows a write stored and how many it found already present."""

    stored: int
    duplicates: int


def connect() -> duckdb.DuckDBPyConnection:
    """An in-process DuckDB connection that works in UTC."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    return connection


PUBLISH_THREADS = 16  # files published at once: the file system commits their fsyncs together


class LakeWriter:
    """Writes batches into a lake; the caller holds the lake's lock."""

    def __init__(
        self, layout: LakeLayout, run_id: str, *, days: Collection[str] | None = None
    ) -> None:
        """``days`` (``YYYY-MM-DD``) limits the duplicate check to their months.

        For a writer whose record ids cannot occur on another day (the gateway's are
        derived from the time of the decision), this spares reading the whole lake.
        A lake with day partitions (older versions) is upgraded to months first.
        """
        self.layout = layout
        self.run_id = run_id
        upgrade(layout)
        self._months = sorted({d[:7] for d in days}) if days is not None else None
        self.db = connect()
        self._parts = 0
        self._known = False  # whether the temp table ``known`` holds the lake's record ids
        self._unfolded: list[Path] = []  # record files published since, not yet in ``known``

    def close(self) -> None:
        """Release the DuckDB connection."""
        self.db.close()

    def write_records(self, table: pa.Table) -> Written:
        """Store the records whose record_id the lake (and this batch) does not hold yet."""
        if table.num_rows == 0:
            return Written(0, 0)
        self.db.register("batch", table.append_column("ordinal", pa.array(range(table.num_rows))))
        try:
            return self.write_query("SELECT * FROM batch")
        finally:
            self.db.unregister("batch")

    def write_query(
        self, query: str, *, total: int | None = None, unique: bool = False, sort: bool = True
    ) -> Written:
        """Store the new records a query over this writer's DuckDB returns.

        The query yields the record columns plus an ``ordinal`` that decides which
        of two rows with one record_id is kept (the lower). A caller that knows how
        many rows the query yields passes ``total``, and ``unique`` when no two of them
        share a record_id (one row per message id): the query then runs once, straight
        into the files, instead of being materialised, counted and deduplicated first.
        ``sort=False`` leaves each month file's rows in no particular order, sparing a
        bulk load the sort of every row (readers never rely on the order).
        """
        known = self._known_ids()
        source = f"({query})"
        if total is None:
            self.db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {query}")
            total, source = self._count("incoming"), "incoming"
        first = (
            ""
            if unique
            else "QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY ordinal) = 1"
        )
        stored = self._publish_partitioned(
            f"""SELECT {", ".join(COLUMNS)}, strftime(occurred_at, '%Y-%m') AS month
            FROM {source} WHERE record_id NOT IN ({known}) {first}
            {"ORDER BY occurred_at, record_id" if sort else ""}"""
        )
        if source == "incoming":
            if stored:
                self.db.execute("INSERT INTO known SELECT record_id FROM incoming")
                self._unfolded.clear()
            self.db.execute("DROP TABLE incoming")
        return Written(stored, total - stored)

    def _known_ids(self) -> str:
        """A query of every record_id in the lake (the lock keeps other writers out)."""
        if not self._known:
            files = self._record_files()
            existing = (
                f"SELECT record_id FROM read_parquet({files})"
                if files
                else "SELECT NULL::VARCHAR AS record_id WHERE false"
            )
            self.db.execute(f"CREATE OR REPLACE TEMP TABLE known AS {existing}")
            self._known = True
            self._unfolded.clear()
        elif self._unfolded:
            files = ", ".join(_literal(str(p)) for p in self._unfolded)
            self.db.execute(f"INSERT INTO known SELECT record_id FROM read_parquet([{files}])")
            self._unfolded.clear()
        return "SELECT record_id FROM known"

    def _record_files(self) -> str | None:
        """The record files the duplicate check reads (a DuckDB literal); None when none."""
        if self._months is None:
            return _literal(self.layout.record_glob()) if self.layout.has_records() else None
        folders = (self.layout.record_month(month) for month in self._months)
        files = [_literal(str(p)) for folder in folders for p in sorted(folder.glob("*.parquet"))]
        return f"[{', '.join(files)}]" if files else None

    def _count(self, name: str) -> int:
        row = next(iter(self.db.execute(f"SELECT count(*) FROM {name}").fetchall()), None)
        return int(row[0]) if row else 0

    def _publish_partitioned(self, query: str) -> int:
        """Write the rows of a query (with a ``month``) as month files, publish them: how
        many."""
        staging = self.layout.new_staging()
        self._parts += 1
        pattern = f"part-{self.run_id}-{self._parts:05d}-{{i}}"
        # Rows need no order but the query's own: the partitions are written in parallel.
        self.db.execute("SET preserve_insertion_order = false")
        try:
            row = self.db.execute(
                f"COPY ({query}) TO '{staging}' "
                f"(FORMAT parquet, PARTITION_BY (month), FILENAME_PATTERN '{pattern}', "
                "COMPRESSION zstd, COMPRESSION_LEVEL 1)"  # level 1: as small here, and faster
            ).fetchone()
        finally:
            self.db.execute("RESET preserve_insertion_order")
        written = int(row[0]) if row else 0
        staged = sorted(staging.rglob("*.parquet"))
        finals = [self.layout.records / file.parent.name / file.name for file in staged]
        _publish_all(staged, finals)
        self._unfolded.extend(finals)
        return written

    def write_rejected(
        self, kind: str, source: str, source_digest: str, rejected: list[Rejected]
    ) -> int:
        """Quarantine rejected items once each (by source checksum and position)."""
        if not rejected:
            return 0
        now = dt.datetime.now(dt.UTC)
        prefix = f"{kind}:{Path(source).name}#"
        positions = [r.position for r in rejected]
        count = len(rejected)
        columns = {
            "quarantine_id": [uuid5_hex(f"{source_digest}#{p}") for p in positions],
            "run_id": [self.run_id] * count,
            "quarantined_at": [now] * count,
            "source_kind": [kind] * count,
            "source": [source] * count,
            "position": [_located(p, prefix) for p in positions],
            "reason": [r.reason for r in rejected],
            "size": [r.size for r in rejected],
            "sha256": [r.digest for r in rejected],
        }
        table = pa.Table.from_pydict(columns, schema=QUARANTINE_SCHEMA)
        return self._write_quarantine(table)

    def _write_quarantine(self, table: pa.Table) -> int:
        self.db.register("rejects", table.append_column("ordinal", pa.array(range(len(table)))))
        existing = (
            f"SELECT quarantine_id FROM read_parquet('{self.layout.quarantine}/*.parquet')"
            if self.layout.has_quarantine()
            else "SELECT NULL::VARCHAR AS quarantine_id WHERE false"
        )
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE fresh_rejects AS SELECT * EXCLUDE (ordinal)
            FROM rejects WHERE quarantine_id NOT IN ({existing})
            QUALIFY row_number() OVER (PARTITION BY quarantine_id ORDER BY ordinal) = 1"""
        )
        self.db.unregister("rejects")
        count = self._count("fresh_rejects")
        if count:
            self._parts += 1
            staged = self.layout.new_staging() / f"part-{self.run_id}-{self._parts:05d}.parquet"
            self.db.execute(f"COPY fresh_rejects TO '{staged}' (FORMAT parquet)")
            publish(staged, self.layout.quarantine / staged.name)
        return len(table)


def uuid5_hex(name: str) -> str:
    """``uuid.uuid5(uuid.NAMESPACE_URL, name).hex``, without building a UUID object (a
    quarter of the time; a source can quarantine a million rows)."""
    digest = bytearray(hashlib.sha1(_URL_NAMESPACE + name.encode()).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50  # version 5
    digest[8] = (digest[8] & 0x3F) | 0x80  # RFC 4122 variant
    return digest.hex()


_URL_NAMESPACE = uuid.NAMESPACE_URL.bytes


def _publish_all(staged: list[Path], finals: list[Path]) -> None:
    """Publish whole files, many at once: their fsyncs are committed together.

    Each file is synced before its rename, as ``publish`` does; the files of one
    write appear in no particular order, each complete.
    """
    if staged:
        with ThreadPoolExecutor(min(PUBLISH_THREADS, len(staged))) as pool:
            list(pool.map(publish, staged, finals))


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _located(position: str, prefix: str) -> str:
    """Every quarantined position reads ``kind:file#where``, whoever wrote it."""
    return position if position.startswith(prefix.split(":", 1)[0] + ":") else prefix + position


def lake_path(home: Path) -> LakeLayout:
    """The lake of a data folder."""
    return LakeLayout(home / "lake")
