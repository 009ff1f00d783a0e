"""``m365-trace``: Exchange Online message trace exports, loaded in bulk by DuckDB.

Two shapes are read, told apart by their header:

* ``Get-MessageTrace`` / ``Get-MessageTraceV2`` rows (``Received, SenderAddress,
  RecipientAddress, Subject, Status, Size, MessageId, …``): one row per recipient;
  rows sharing a MessageId are one message.
* the downloaded summary report (``origin_timestamp_utc, sender_address,
  recipient_status, message_subject, message_id, …``) with recipients packed as
  ``addr##Status;addr##Status``.

UTF-8 or UTF-16 with a BOM. Times are UTC. One item is one message (a MessageId)
or one row that cannot be read (no MessageId, sender or time; a malformed line).
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
from pathlib import Path

import duckdb
import pyarrow as pa

from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import BulkConnector, Loaded
from chaperone.ingest.record import Rejected
from chaperone.lake.writer import LakeWriter

ROWS = {
    "received": "Received",
    "sender": "SenderAddress",
    "recipients": "RecipientAddress",
    "subject": "Subject",
    "message_id": "MessageId",
}
SUMMARY = {
    "received": "origin_timestamp_utc",
    "sender": "sender_address",
    "recipients": "recipient_status",
    "subject": "message_subject",
    "message_id": "message_id",
}
OPTIONAL = ("subject",)
# .NET writes 7 fractional digits; DuckDB reads at most 6.
MICROSECONDS = r"regexp_replace(received, '(\.\d{6})\d+', '\1')"
TIME_FORMATS = ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"]


class M365TraceConnector(BulkConnector):
    """Reads Exchange Online message traces in one DuckDB pass."""

    kind = "m365-trace"
    description = "Exchange Online message trace CSV (Get-MessageTrace rows or summary report)"

    def load(self, source: Path, writer: LakeWriter) -> Loaded:
        """Read, group by MessageId, and write; bad rows come back as Rejected."""
        path = _utf8(source, writer)
        columns = _header(path, source.name)
        names = _shape(columns, source.name)
        db = writer.db
        try:
            _read(db, path, columns)
            unreadable: list[tuple[int, str]] = []
        except duckdb.Error:  # a CSV DuckDB cannot recover from: read it row by row instead
            unreadable = _read_slowly(db, path, columns)
        _normalise(db, names, packed=names is SUMMARY)
        rejected = self._rejected(db, source.name, unreadable)
        messages = _count(db, "SELECT count(DISTINCT message_id) FROM trace WHERE reason IS NULL")
        written = writer.write_query(self._records_query(source.name))
        db.execute("DROP TABLE trace")
        return Loaded(written, rejected, messages + len(rejected))

    def _rejected(
        self, db: duckdb.DuckDBPyConnection, name: str, unreadable: list[tuple[int, str]]
    ) -> list[Rejected]:
        bad = db.execute(
            "SELECT DISTINCT row_no, reason FROM trace WHERE reason IS NOT NULL "
            "UNION ALL SELECT line - 1, error_message FROM reject_errors ORDER BY 1"
        ).fetchall()
        return [
            Rejected(self.ref_row(name, int(row)), str(reason)) for row, reason in bad + unreadable
        ]

    def ref_row(self, name: str, row: int) -> str:
        """A pointer to a data row (row 1 is the first line after the header)."""
        return f"{self.kind}:{name}#row {row}"

    def _records_query(self, name: str) -> str:
        platform = "NULL" if self.context.platform is None else f"'{self.context.platform}'"
        return f"""
        SELECT substr(sha256('email' || chr(31) || message_id), 1, 32) AS record_id,
               message_id, min(occurred_at) AS occurred_at, 'email' AS channel_type,
               {platform}::VARCHAR AS platform, arg_min(sender, row_no) AS sender,
               list_sort(list_distinct(list(recipient) FILTER (WHERE recipient LIKE '%@%')))
                   AS recipients,
               arg_min(subject, row_no) AS subject, false AS has_media,
               0::INTEGER AS attachment_count, '{self.kind}' AS source_kind,
               '{self.kind}:' || {_literal(name)} || '#row ' || min(row_no) AS source_ref,
               []::VARCHAR[] AS defects, min(row_no) AS ordinal
        FROM trace WHERE reason IS NULL GROUP BY message_id"""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _count(db: duckdb.DuckDBPyConnection, query: str) -> int:
    row = next(iter(db.execute(query).fetchall()), None)
    return int(row[0]) if row else 0


def _utf8(source: Path, writer: LakeWriter) -> Path:
    """The source, or a UTF-8 copy of it in staging when it is UTF-16."""
    with source.open("rb") as handle:
        start = handle.read(2)
    if start not in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        return source
    copy = writer.layout.new_staging() / "trace-utf8.csv"
    with source.open(encoding="utf-16", newline="") as inp, copy.open("w", encoding="utf-8") as out:
        shutil.copyfileobj(inp, out, 1024 * 1024)
    return copy


def _header(path: Path, name: str) -> list[str]:
    with path.open("rb") as handle:
        first = handle.readline().decode("utf-8-sig", errors="replace")
    columns = [c.strip() for c in next(csv.reader(io.StringIO(first)), [])]
    if not columns:
        raise InputError([Problem(name, 1, "empty file (no header)")])
    return columns


def _shape(columns: list[str], name: str) -> dict[str, str]:
    """The export shape whose required columns the header has, or every missing column."""
    present = {c.lower() for c in columns}
    missing = {
        id(shape): [
            c for key, c in shape.items() if key not in OPTIONAL and c.lower() not in present
        ]
        for shape in (ROWS, SUMMARY)
    }
    for shape in (ROWS, SUMMARY):
        if not missing[id(shape)]:
            return shape
    closest = min((ROWS, SUMMARY), key=lambda shape: len(missing[id(shape)]))
    raise InputError([Problem(name, 1, f'missing column "{c}"') for c in missing[id(closest)]])


def _read(db: duckdb.DuckDBPyConnection, path: Path, columns: list[str]) -> None:
    names = [c or f"column{i}" for i, c in enumerate(columns)]
    types = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in names) + "}"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE trace_raw AS
        SELECT row_number() OVER () AS row_no, * FROM read_csv(?, header = true,
            auto_detect = false, columns = {types}, delim = ',', quote = '"', escape = '"',
            null_padding = true, ignore_errors = true, store_rejects = true,
            rejects_table = 'reject_errors', rejects_scan = 'reject_scans',
            max_line_size = 10000000)""",
        [str(path)],
    )


def _read_slowly(
    db: duckdb.DuckDBPyConnection, path: Path, columns: list[str]
) -> list[tuple[int, str]]:
    """``trace_raw`` by Python's csv module; the rest of a file it cannot read is one item."""
    names = [c or f"column{i}" for i, c in enumerate(columns)]
    rows: list[list[str]] = []
    unreadable: list[tuple[int, str]] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        try:
            rows.extend((cells + [""] * len(names))[: len(names)] for cells in reader)
        except csv.Error as exc:
            unreadable.append((len(rows) + 1, f"unreadable CSV from this row on ({exc})"))
    table = pa.table(
        {"row_no": list(range(1, len(rows) + 1)),
         **{name: [row[i] for row in rows] for i, name in enumerate(names)}},
        schema=pa.schema([("row_no", pa.int64()), *((n, pa.string()) for n in names)]),
    )
    db.register("trace_rows_arrow", table)
    db.execute("CREATE OR REPLACE TEMP TABLE trace_raw AS SELECT * FROM trace_rows_arrow")
    db.unregister("trace_rows_arrow")
    db.execute("CREATE OR REPLACE TEMP TABLE reject_errors (line BIGINT, error_message VARCHAR)")
    return unreadable


def _normalise(db: duckdb.DuckDBPyConnection, names: dict[str, str], *, packed: bool) -> None:
    """``trace``: one row per (data row, recipient), normalised, with a reason if unusable."""

    def col(key: str) -> str:
        return f'"{names[key]}"' if key in names else "NULL"

    recipient = col("recipients")
    if packed:
        recipient = f"unnest(string_split(coalesce({recipient}, ''), ';'))"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE trace AS
        WITH cells AS (
            SELECT row_no, nullif(trim({col("message_id")}, '<> '), '') AS message_id,
                   {_address(col("sender"))} AS sender, {recipient} AS recipient_cell,
                   nullif(trim({col("subject")}), '') AS subject,
                   coalesce(trim({col("received")}), '') AS received
            FROM trace_raw),
        parsed AS (
            SELECT *, {_address("split_part(recipient_cell, '##', 1)")} AS recipient,
                   coalesce(try_cast({MICROSECONDS} AS TIMESTAMPTZ),
                            try_strptime(received, {TIME_FORMATS})::TIMESTAMPTZ) AS occurred_at
            FROM cells)
        SELECT row_no, message_id, sender, recipient, subject, occurred_at,
               CASE WHEN message_id IS NULL THEN 'no MessageId'
                    WHEN sender IS NULL OR sender NOT LIKE '%@%' THEN 'no sender address'
                    WHEN received = '' THEN 'no time (Received)'
                    WHEN occurred_at IS NULL THEN 'unreadable time "' || received || '"'
               END AS reason
        FROM parsed"""
    )
    db.execute("DROP TABLE trace_raw")
    _fold_non_ascii(db)


def _fold_non_ascii(db: duckdb.DuckDBPyConnection) -> None:
    """Case-fold the rare non-ASCII address with Python's str.casefold, as the directory does."""
    raw = db.execute(
        "SELECT DISTINCT a FROM (SELECT sender AS a FROM trace UNION SELECT recipient FROM trace) "
        "WHERE a IS NOT NULL AND NOT regexp_full_match(a, '[\\x00-\\x7F]*')"
    ).fetchall()
    if not raw:
        return
    db.execute("CREATE OR REPLACE TEMP TABLE folded (raw VARCHAR, folded VARCHAR)")
    db.executemany("INSERT INTO folded VALUES (?, ?)", [(a, a.casefold()) for (a,) in raw])
    for column in ("sender", "recipient"):
        db.execute(
            f"UPDATE trace SET {column} = folded.folded FROM folded "
            f"WHERE trace.{column} = folded.raw"
        )


def _address(expression: str) -> str:
    """SQL that normalises an ASCII address as normalize_addr_spec does (strip, lower-case);
    non-ASCII ones are trimmed here and case-folded by ``_fold_non_ascii``."""
    return (
        f"CASE WHEN regexp_full_match(trim({expression}), '[\\x00-\\x7F]*') "
        f"THEN nullif(lower(trim({expression})), '') ELSE nullif(trim({expression}), '') END"
    )
