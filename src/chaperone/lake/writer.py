"""Adding records to the lake: deduplicated by record_id, in files that appear whole."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa

from chaperone.ingest.record import COLUMNS, Rejected
from chaperone.lake.layout import LakeLayout, publish

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


class LakeWriter:
    """Writes batches into a lake; the caller holds the lake's lock."""

    def __init__(self, layout: LakeLayout, run_id: str) -> None:
        self.layout = layout
        self.run_id = run_id
        self.db = connect()
        self._parts = 0

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

    def write_query(self, query: str) -> Written:
        """Store the new records a query over this writer's DuckDB returns.

        The query yields the record columns plus an ``ordinal`` that decides which
        of two rows with one record_id is kept (the lower).
        """
        existing = (
            f"SELECT record_id FROM read_parquet('{self.layout.record_glob()}')"
            if self.layout.has_records()
            else "SELECT NULL::VARCHAR AS record_id WHERE false"
        )
        columns = ", ".join(COLUMNS)
        self.db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {query}")
        total = self._count("incoming")
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE fresh AS
            SELECT {columns}, strftime(occurred_at, '%Y-%m-%d') AS day FROM incoming
            WHERE record_id NOT IN ({existing})
            QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY ordinal) = 1"""
        )
        self.db.execute("DROP TABLE incoming")
        stored = self._count("fresh")
        if stored:
            self._publish_partitioned()
        return Written(stored, total - stored)

    def _count(self, name: str) -> int:
        row = next(iter(self.db.execute(f"SELECT count(*) FROM {name}").fetchall()), None)
        return int(row[0]) if row else 0

    def _publish_partitioned(self) -> None:
        staging = self.layout.new_staging()
        self._parts += 1
        pattern = f"part-{self.run_id}-{self._parts:05d}-{{i}}"
        self.db.execute(
            f"COPY (SELECT * FROM fresh ORDER BY occurred_at, record_id) TO '{staging}' "
            f"(FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN '{pattern}', "
            "COMPRESSION zstd)"
        )
        for staged in sorted(staging.rglob("*.parquet")):
            publish(staged, self.layout.records / staged.parent.name / staged.name)

    def write_rejected(
        self, kind: str, source: str, source_digest: str, rejected: list[Rejected]
    ) -> int:
        """Quarantine rejected items once each (by source checksum and position)."""
        if not rejected:
            return 0
        now = dt.datetime.now(dt.UTC)
        prefix = f"{kind}:{Path(source).name}#"
        table = pa.Table.from_pylist(
            [
                {
                    "quarantine_id": uuid.uuid5(
                        uuid.NAMESPACE_URL, f"{source_digest}#{r.position}"
                    ).hex,
                    "run_id": self.run_id,
                    "quarantined_at": now,
                    "source_kind": kind,
                    "source": source,
                    "position": _located(r.position, prefix),
                    "reason": r.reason,
                    "size": r.size,
                    "sha256": r.digest,
                }
                for r in rejected
            ],
            schema=QUARANTINE_SCHEMA,
        )
        return self._write_quarantine(table)

    def _write_quarantine(self, table: pa.Table) -> int:
        self.db.register("rejects", table)
        existing = (
            f"SELECT quarantine_id FROM read_parquet('{self.layout.quarantine}/*.parquet')"
            if self.layout.has_quarantine()
            else "SELECT NULL::VARCHAR AS quarantine_id WHERE false"
        )
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE fresh_rejects AS SELECT * FROM rejects
            WHERE quarantine_id NOT IN ({existing})
            QUALIFY row_number() OVER (PARTITION BY quarantine_id) = 1"""
        )
        self.db.unregister("rejects")
        count = self._count("fresh_rejects")
        if count:
            self._parts += 1
            staged = self.layout.new_staging() / f"part-{self.run_id}-{self._parts:05d}.parquet"
            self.db.execute(f"COPY fresh_rejects TO '{staged}' (FORMAT parquet)")
            publish(staged, self.layout.quarantine / staged.name)
        return len(table)


def _located(position: str, prefix: str) -> str:
    """Every quarantined position reads ``kind:file#where``, whoever wrote it."""
    return position if position.startswith(prefix.split(":", 1)[0] + ":") else prefix + position


def lake_path(home: Path) -> LakeLayout:
    """The lake of a data folder."""
    return LakeLayout(home / "lake")
