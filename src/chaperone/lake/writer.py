"""Adding records to the lake: one record per record_id, in files that appear whole.

Every copy of a message (a record_id the lake or the batch holds already) is folded into
the one record: a copy that shows no party the record lacks is a *duplicate*; one that
shows a new party (the Bcc only the sender's Sent copy has, a mailbox's Delivered-To) is
*merged*: the record is stored again as a new version (``schema.VERSION``), its
recipients the union of every copy's, in the order they were first seen, everything
else as first stored. Files stay append-only; readers take the highest version of each
record_id (``current_records``), and compaction drops the versions it supersedes. Where
every later copy was found (its ``source_ref``: the custodians of eDiscovery) is logged
in ``copies/``, one small row a copy, so a copy that adds no party costs no new version.
"""

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
from chaperone.lake.schema import COLUMNS, VERSION, Rejected

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


COPIES_SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("source_kind", pa.string()),
        ("source_ref", pa.string()),
        ("run_id", pa.string()),
        ("seen_at", pa.timestamp("us", tz="UTC")),
    ]
)


@dataclass(frozen=True)
class Written:
    """Of the rows a write was given: how many were new records, how many copies of a
    record already present (or earlier in the batch) that added nothing, and how many
    copies that added a party to it (``stored + duplicates + merged`` = rows)."""

    stored: int
    duplicates: int
    merged: int = 0


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
        """Store the records a query over this writer's DuckDB returns, folding copies.

        The query yields the record columns plus an ``ordinal``: of two rows with one
        record_id the lower is the first copy (its fields are kept, the parties of both
        are). A caller that knows how many rows the query yields passes ``total``, and
        ``unique`` when no two of them share a record_id (one row per message id): the
        new records then go straight into the files, the query run again only when some
        rows are copies of records the lake holds. ``sort=False`` leaves each month
        file's rows in no particular order (readers never rely on the order).
        """
        known = self._known_ids()
        order = "ORDER BY occurred_at, record_id" if sort else ""
        if total is not None and unique:
            stored = self._publish_partitioned(
                f"""SELECT {", ".join(COLUMNS)}, 1::INTEGER AS {VERSION},
                strftime(occurred_at, '%Y-%m') AS month
                FROM ({query}) WHERE record_id NOT IN ({known}) {order}"""
            )
            if stored == total:
                return Written(stored, 0)
            self.db.execute(
                f"CREATE OR REPLACE TEMP TABLE incoming AS SELECT * FROM ({query}) "
                f"WHERE record_id IN ({known})"
            )
            folded = self._fold("incoming", sort)
            return Written(stored, total - stored - folded.merged, folded.merged)
        self.db.execute(f"CREATE OR REPLACE TEMP TABLE incoming AS {query}")
        total = self._count("incoming")
        plain = self._count(
            f"(SELECT record_id FROM incoming WHERE record_id NOT IN ({known}) "
            "GROUP BY record_id HAVING count(*) = 1)"
        )
        if plain == total:  # no copies: the usual batch, stored as it comes
            stored = self._publish_partitioned(
                f"""SELECT {", ".join(COLUMNS)}, 1::INTEGER AS {VERSION},
                strftime(occurred_at, '%Y-%m') AS month FROM incoming {order}"""
            )
            self.db.execute("INSERT INTO known SELECT record_id FROM incoming")
            self._unfolded.clear()
            self.db.execute("DROP TABLE incoming")
            return Written(stored, 0)
        folded = self._fold("incoming", sort)
        return Written(folded.stored, total - folded.stored - folded.merged, folded.merged)

    def _fold(self, incoming: str, sort: bool) -> Written:
        """Store the new records of ``incoming`` and fold its copies into theirs.

        Each party's first sighting decides: the stored record's parties come first,
        then those no stored record shows, in the order the copies show them. A copy
        that is the first sighting of some party, other than a new record's first
        copy, is merged.
        """
        db = self.db
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE groups AS
            SELECT record_id, first, record_id IN (SELECT record_id FROM known) AS known
            FROM (SELECT record_id, min(ordinal) AS first FROM {incoming} GROUP BY record_id)"""
        )
        self._current()
        # The first sighting of each party no stored record shows (most copies: none).
        db.execute(
            f"""CREATE OR REPLACE TEMP TABLE firsts AS
            SELECT record_id, party, ordinal, pos FROM (
                SELECT record_id, ordinal, generate_subscripts(recipients, 1) AS pos,
                       unnest(recipients) AS party FROM {incoming}) AS seen
            WHERE NOT EXISTS (SELECT 1 FROM current_rows c
                              WHERE c.record_id = seen.record_id
                              AND list_contains(c.recipients, seen.party))
            QUALIFY row_number() OVER (PARTITION BY record_id, party ORDER BY ordinal, pos) = 1"""
        )
        db.execute(
            """CREATE OR REPLACE TEMP TABLE adding AS
            SELECT DISTINCT f.record_id, f.ordinal FROM firsts f JOIN groups g USING (record_id)
            WHERE g.known OR f.ordinal <> g.first"""
        )
        db.execute(
            """CREATE OR REPLACE TEMP TABLE unions AS
            SELECT record_id, list(party ORDER BY ordinal, pos) AS parties FROM firsts
            WHERE record_id IN (SELECT record_id FROM adding
                                UNION ALL SELECT record_id FROM groups WHERE NOT known)
            GROUP BY record_id"""
        )
        merged = self._count("adding")
        new = ", ".join(
            "coalesce(u.parties, []::VARCHAR[]) AS recipients" if c == "recipients" else f"i.{c}"
            for c in COLUMNS
        )
        again = ", ".join(
            "list_concat(c.recipients, u.parties) AS recipients" if c == "recipients" else f"c.{c}"
            for c in COLUMNS
        )
        # New records and new versions; the accounting counts copies, not rows written.
        self._publish_partitioned(
            f"""SELECT *, strftime(occurred_at, '%Y-%m') AS month FROM (
                SELECT {new}, 1::INTEGER AS {VERSION} FROM {incoming} i
                JOIN groups g ON g.record_id = i.record_id AND g.first = i.ordinal AND NOT g.known
                LEFT JOIN unions u ON u.record_id = i.record_id
                UNION ALL
                SELECT {again}, c.{VERSION} + 1 AS {VERSION} FROM current_rows c
                JOIN unions u ON u.record_id = c.record_id)
            {"ORDER BY occurred_at, record_id" if sort else ""}"""
        )
        self._log_copies(incoming)
        fresh = self._count("(SELECT 1 FROM groups WHERE NOT known)")
        for table in (incoming, "groups", "current_rows", "firsts", "adding", "unions"):
            db.execute(f"DROP TABLE {table}")
        return Written(fresh, 0, merged)

    def _current(self) -> None:
        """``current_rows``: the highest stored version of each record ``groups`` knows."""
        files = self._record_files()
        wanted = "SELECT record_id FROM groups WHERE known"
        if files is None or not self._count(f"({wanted})"):
            self.db.execute(
                f"""CREATE OR REPLACE TEMP TABLE current_rows AS
                SELECT {", ".join(COLUMNS)}, 1::INTEGER AS {VERSION} FROM incoming WHERE false"""
            )
            return
        scan = f"read_parquet({files}, hive_partitioning = false, union_by_name = true)"
        described = self.db.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
        version = f"coalesce({VERSION}, 1)" if VERSION in {d[0] for d in described} else "1"
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE current_rows AS
            SELECT {", ".join(COLUMNS)}, {version}::INTEGER AS {VERSION} FROM {scan}
            WHERE record_id IN ({wanted})
            QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY {version} DESC) = 1"""
        )

    def _log_copies(self, incoming: str) -> None:
        """Where each later copy was found: a row in ``copies/`` (record_id, source_ref)."""
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE later_copies AS
            SELECT i.record_id, i.source_kind, i.source_ref, {_literal(self.run_id)} AS run_id,
                   now() AS seen_at
            FROM {incoming} i JOIN groups g ON g.record_id = i.record_id
            WHERE g.known OR i.ordinal <> g.first"""
        )
        if self._count("later_copies"):
            self._parts += 1
            staged = self.layout.new_staging() / f"part-{self.run_id}-{self._parts:05d}.parquet"
            self.db.execute(f"COPY later_copies TO {_literal(str(staged))} (FORMAT parquet)")
            folder = copies_folder(self.layout)
            folder.mkdir(parents=True, exist_ok=True)
            publish(staged, folder / staged.name)
        self.db.execute("DROP TABLE later_copies")

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


def copies_folder(layout: LakeLayout) -> Path:
    """``copies/part-*.parquet``: where every copy of a record after the first was found."""
    return layout.root / "copies"


def lake_path(home: Path) -> LakeLayout:
    """The lake of a data folder."""
    return LakeLayout(home / "lake")
