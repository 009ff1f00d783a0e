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
# The time, tried the cheap way first: Get-MessageTrace's usual "9/14/2026 1:02:11 PM"
# (which the ISO cast never reads, so the order changes no result), then ISO 8601, then
# the other formats.
OCCURRED_AT = (
    f"coalesce(try_strptime(received, '{TIME_FORMATS[0]}')::TIMESTAMPTZ, "
    f"try_cast({MICROSECONDS} AS TIMESTAMPTZ), "
    f"try_strptime(received, {TIME_FORMATS})::TIMESTAMPTZ)"
)


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
        packed = names is SUMMARY
        try:
            _messages(db, _csv(path, columns, names), names, columns, packed=packed)
            unreadable: list[tuple[int, str]] = []
        except duckdb.Error:  # a CSV DuckDB cannot recover from: read it row by row instead
            unreadable = _read_slowly(db, path, columns)
            _messages(db, "trace_raw", names, columns, packed=packed)
            db.execute("DROP TABLE trace_raw")
        _fold_non_ascii(db)
        rejected = self._rejected(db, source.name, unreadable)
        messages = _count(db, "SELECT count(*) FROM messages WHERE ordinal IS NOT NULL")
        written = writer.write_query(
            self._records_query(source.name), total=messages, unique=True, sort=False
        )
        db.execute("DROP TABLE messages")
        return Loaded(written, rejected, messages + len(rejected))

    def _rejected(
        self, db: duckdb.DuckDBPyConnection, name: str, unreadable: list[tuple[int, str]]
    ) -> list[Rejected]:
        bad = db.execute(
            "SELECT DISTINCT bad.row_no, bad.reason FROM "
            "(SELECT unnest(bad) AS bad FROM messages WHERE bad IS NOT NULL) "
            "UNION ALL SELECT line - 1, error_message FROM reject_errors ORDER BY 1, 2"
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
               message_id, occurred_at, 'email' AS channel_type,
               {platform}::VARCHAR AS platform, sender, recipients, subject,
               false AS has_media, 0::INTEGER AS attachment_count,
               '{self.kind}' AS source_kind,
               '{self.kind}:' || {_literal(name)} || '#row ' || ordinal AS source_ref,
               []::VARCHAR[] AS defects, ordinal
        FROM messages WHERE ordinal IS NOT NULL"""


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


def _csv(path: Path, columns: list[str], names: dict[str, str]) -> str:
    """The data rows of the CSV, numbered from 1, with the columns a record needs.

    Every column is still read, so a row is rejected (``reject_errors``) for the same
    faults as when all are kept, such as bytes that are not UTF-8 in a column unused here.
    """
    header = _column_names(columns)
    types = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in header) + "}"
    wanted = {c.lower() for c in names.values()}
    kept = ", ".join(_ident(n) for n in header if n.lower() in wanted)
    others = [n for n in header if n.lower() not in wanted]
    read = " AND ".join(f"strlen({_ident(n)}) IS DISTINCT FROM -1" for n in others) or "true"
    return f"""(SELECT row_number() OVER () AS row_no, {kept} FROM (
        SELECT * FROM read_csv({_literal(str(path))}, header = true,
            auto_detect = false, columns = {types}, delim = ',', quote = '"', escape = '"',
            null_padding = true, ignore_errors = true, store_rejects = true,
            rejects_table = 'reject_errors', rejects_scan = 'reject_scans',
            max_line_size = 10000000)
        WHERE {read}))"""


def _column_names(columns: list[str]) -> list[str]:
    return [c or f"column{i}" for i, c in enumerate(columns)]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _read_slowly(
    db: duckdb.DuckDBPyConnection, path: Path, columns: list[str]
) -> list[tuple[int, str]]:
    """``trace_raw`` by Python's csv module; the rest of a file it cannot read is one item."""
    names = _column_names(columns)
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


def _messages(
    db: duckdb.DuckDBPyConnection,
    rows: str,
    names: dict[str, str],
    columns: list[str],
    *,
    packed: bool,
) -> None:
    """``messages``: one row per MessageId, from the data rows in one pass.

    Each data row (each recipient of it, for the summary report) is normalised and
    given a reason when it is unusable. The usable rows of a MessageId make its
    record's columns — the earliest time, the first row's sender and subject, the
    distinct recipients — and ``ordinal`` (its first row, NULL when it has none);
    the unusable ones are listed in ``bad`` as (row_no, reason). ``non_ascii`` marks
    a message with an address left for ``_fold_non_ascii``. ``rows`` is a table or
    subquery of the data rows with their ``row_no``.
    """
    present = {c.lower() for c in _column_names(columns)}

    def col(key: str) -> str:
        return _ident(names[key]) if names[key].lower() in present else "NULL"

    recipient = col("recipients")
    if packed:
        recipient = f"unnest(string_split(coalesce({recipient}, ''), ';'))"
    usable = "FILTER (WHERE reason IS NULL)"
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE messages AS
        WITH cells AS (
            SELECT row_no, nullif(trim({col("message_id")}, '<> '), '') AS message_id,
                   {_address(col("sender"))} AS sender, {recipient} AS recipient_cell,
                   nullif(trim({col("subject")}), '') AS subject,
                   coalesce(trim({col("received")}), '') AS received
            FROM {rows}),
        parsed AS (
            SELECT *, {_address("split_part(recipient_cell, '##', 1)")} AS recipient,
                   {OCCURRED_AT} AS occurred_at
            FROM cells),
        checked AS (
            SELECT row_no, message_id, sender, recipient, subject, occurred_at,
                   CASE WHEN message_id IS NULL THEN 'no MessageId'
                        WHEN sender IS NULL OR sender NOT LIKE '%@%' THEN 'no sender address'
                        WHEN received = '' THEN 'no time (Received)'
                        WHEN occurred_at IS NULL THEN 'unreadable time "' || received || '"'
                   END AS reason
            FROM parsed)
        SELECT message_id, min(row_no) {usable} AS ordinal,
               min(occurred_at) {usable} AS occurred_at,
               arg_min(sender, row_no) {usable} AS sender,
               list_sort(list_distinct(
                   list(recipient) FILTER (WHERE reason IS NULL AND recipient LIKE '%@%')
               )) AS recipients,
               arg_min(subject, row_no) {usable} AS subject,
               bool_or(strlen(sender) <> length(sender)
                       OR strlen(recipient) <> length(recipient)) {usable} AS non_ascii,
               list({{'row_no': row_no, 'reason': reason}}) FILTER (WHERE reason IS NOT NULL)
                   AS bad
        FROM checked GROUP BY message_id"""
    )


def _fold_non_ascii(db: duckdb.DuckDBPyConnection) -> None:
    """Case-fold the rare non-ASCII address with Python's str.casefold, as the directory does.

    As if folded before grouping: the sender is replaced, the recipients folded, then
    deduplicated and sorted again.
    """
    raw = db.execute(
        "SELECT DISTINCT a FROM (SELECT sender AS a FROM messages WHERE non_ascii "
        "UNION ALL SELECT unnest(recipients) FROM messages WHERE non_ascii) "
        "WHERE strlen(a) <> length(a)"
    ).fetchall()
    if not raw:
        return
    pairs = pa.table({"raw": [a for (a,) in raw], "folded": [str(a).casefold() for (a,) in raw]})
    db.register("folded_pairs", pairs)
    db.execute("CREATE OR REPLACE TEMP TABLE folded AS SELECT * FROM folded_pairs")
    db.unregister("folded_pairs")
    db.execute(
        "UPDATE messages SET sender = folded.folded FROM folded "
        "WHERE messages.non_ascii AND messages.sender = folded.raw"
    )
    db.execute(
        """UPDATE messages SET recipients = refolded.recipients FROM (
            SELECT message_id, list_sort(list_distinct(list(coalesce(folded.folded, r))))
                AS recipients
            FROM (SELECT message_id, unnest(recipients) AS r FROM messages WHERE non_ascii)
            LEFT JOIN folded ON folded.raw = r
            GROUP BY message_id) AS refolded
        WHERE messages.message_id = refolded.message_id"""
    )
    db.execute("DROP TABLE folded")


def _address(expression: str) -> str:
    """SQL that normalises an ASCII address as normalize_addr_spec does (strip, lower-case);
    non-ASCII ones are trimmed here and case-folded by ``_fold_non_ascii``. A string is
    ASCII when its length in bytes equals its length in characters."""
    return (
        f"CASE WHEN strlen(trim({expression})) = length(trim({expression})) "
        f"THEN nullif(lower(trim({expression})), '') ELSE nullif(trim({expression}), '') END"
    )
