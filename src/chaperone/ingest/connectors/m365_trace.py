"""``m365-trace``: Exchange Online message trace exports, loaded in bulk by DuckDB.

Two shapes are read, told apart by their header:

* ``Get-MessageTrace`` / ``Get-MessageTraceV2`` rows (``Received, SenderAddress,
  RecipientAddress, Subject, Status, Size, MessageId, …``): one row per recipient;
  rows sharing a MessageId are one message.
* the downloaded summary report (``origin_timestamp_utc, sender_address,
  recipient_status, message_subject, message_id, …``) with recipients packed as
  ``addr##Status;addr##Status``.

UTF-8 or UTF-16 with a BOM. Times are UTC. One item is one message (a MessageId)
or one line that cannot be read (no MessageId, sender or time; a malformed line).
Every position (a record's ``source_ref``, a quarantined line) is the physical line
of the file on which the row starts, the header being line 1.

The load is set-based: DuckDB reads the CSV in parallel into ``trace_rows`` (one row
per data row, in file order, checked, its recipients normalised); the lake writer
groups the usable rows by MessageId and copies the messages out in one statement.
Python sees only the rare address that is not ASCII, the rejected rows, and the
line count that places DuckDB's rows on the file's lines (``csv_lines``).
"""

from __future__ import annotations

import codecs
import csv
import io
import shutil
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import duckdb
import pyarrow as pa

from chaperone.common.addresses import normalize_addr_spec
from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import BulkConnector, Loaded
from chaperone.ingest.csv_lines import LineMap, blank_lines, count_lines
from chaperone.lake.schema import Rejected
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
FRACTION = r"'(\.\d{6})\d+', '\1'"
TIME_FORMATS = ["%m/%d/%Y %I:%M:%S %p", "%m/%d/%Y %H:%M:%S", "%Y-%m-%d %H:%M:%S"]
# What str.strip() removes from ASCII text (DuckDB's one-argument trim removes spaces only).
ASCII_SPACE = "".join(chr(c) for c in range(128) if chr(c).isspace())
TABLES = ("trace_rows", "trace_shifts", "reject_errors", "reject_scans")


class M365TraceConnector(BulkConnector):
    """Reads Exchange Online message traces with DuckDB, in bulk."""

    kind = "m365-trace"
    description = "Exchange Online message trace CSV (Get-MessageTrace rows or summary report)"

    def load(self, source: Path, writer: LakeWriter) -> Loaded:
        """Read, group by MessageId, and write; bad lines come back as Rejected."""
        path = _utf8(source, writer)
        columns = _header(path, source.name)
        trace = _Trace(writer.db, columns, _shape(columns, source.name))
        unreadable: list[tuple[int, str]] = []
        try:
            lines = trace.read(path)
        except duckdb.Error:  # a CSV DuckDB cannot read in parallel (quoted line breaks)
            lines = None
        if lines is None:  # or whose rows it cannot place on lines: read it with Python
            lines, unreadable = trace.read_slowly(path)
        _fold_odd(writer.db)
        messages = _count(
            writer.db, "SELECT count(DISTINCT message_id) FROM trace_rows WHERE reason IS NULL"
        )
        rejected = [
            Rejected(self.ref_line(source.name, line), reason)
            for line, reason in sorted(trace.rejected(lines) + unreadable)
        ]
        written = writer.write_query(
            self._records_query(source.name, trace.messages(lines)),
            total=messages,
            unique=True,
            sort=False,
        )
        trace.drop()
        return Loaded(written, rejected, messages + len(rejected))

    def ref_line(self, name: str, line: int) -> str:
        """A pointer to the physical line of the file on which a row starts."""
        return f"{self.kind}:{name}#line {line}"

    def _records_query(self, name: str, messages: str) -> str:
        platform = "NULL" if self.context.platform is None else _literal(self.context.platform)
        return f"""
        SELECT substr(sha256('email' || chr(31) || message_id), 1, 32) AS record_id,
               message_id, occurred_at, 'email' AS channel_type,
               {platform}::VARCHAR AS platform, sender, recipients, subject,
               false AS has_media, 0::INTEGER AS attachment_count,
               '{self.kind}' AS source_kind,
               {_literal(f"{self.kind}:{name}#line ")} || line AS source_ref,
               []::VARCHAR[] AS defects, first_row AS ordinal
        FROM {messages}"""


class _Trace:
    """The tables of one trace in a DuckDB connection, and the SQL that fills them."""

    def __init__(
        self, db: duckdb.DuckDBPyConnection, columns: list[str], names: dict[str, str]
    ) -> None:
        self.db = db
        self.header = _column_names(columns)
        self.names = names
        self.packed = names is SUMMARY
        present = {c.lower() for c in self.header}
        self.col: Callable[[str], str] = lambda key: (
            _ident(names[key]) if names[key].lower() in present else "NULL"
        )

    def read(self, path: Path) -> LineMap | None:
        """``trace_rows`` from DuckDB's parallel reader; None when its rows cannot be
        placed on the file's lines (then ``read_slowly``)."""
        with ThreadPoolExecutor(1) as pool:  # counted while DuckDB reads (it frees the GIL)
            counted = pool.submit(count_lines, path)
            self.db.execute(
                f"CREATE OR REPLACE TEMP TABLE trace_rows AS {self._rows(self._csv(path))}"
            )
            lines = counted.result()
        accepted = _count(self.db, "SELECT count(*) FROM trace_rows")
        skipped = [
            int(line)
            for (line,) in self.db.execute("SELECT DISTINCT line FROM reject_errors").fetchall()
        ]
        if lines == 1 + accepted + len(skipped):
            return self._shifts(LineMap.skipping(skipped))
        blank = blank_lines(path)
        if lines == 1 + accepted + len(skipped) + len(blank):
            return self._shifts(LineMap.skipping(skipped + blank))
        return None

    def read_slowly(self, path: Path) -> tuple[LineMap, list[tuple[int, str]]]:
        """``trace_rows`` by Python's csv module; the rest of a file it cannot read is
        one item."""
        table, starts, unreadable = _python_rows(path, self.header)
        self.db.register("trace_arrow", table)
        self.db.execute(f"CREATE OR REPLACE TEMP TABLE trace_rows AS {self._rows('trace_arrow')}")
        self.db.unregister("trace_arrow")
        self.db.execute(
            "CREATE OR REPLACE TEMP TABLE reject_errors (line BIGINT, error_message VARCHAR)"
        )
        return self._shifts(LineMap.starting(starts)), unreadable

    def _shifts(self, lines: LineMap) -> LineMap:
        rows = pa.table(
            {"first": [f for f, _s in lines.steps], "shift": [s for _f, s in lines.steps]},
            schema=pa.schema([("first", pa.int64()), ("shift", pa.int64())]),
        )
        self.db.register("trace_shift_steps", rows)
        self.db.execute("CREATE OR REPLACE TEMP TABLE trace_shifts AS FROM trace_shift_steps")
        self.db.unregister("trace_shift_steps")
        return lines

    def _csv(self, path: Path) -> str:
        """The data rows of the CSV with the columns a record needs.

        Only those columns are kept, so only they are decoded: a row with bytes that
        are not UTF-8 in a column no record uses is still read (as Python's reader,
        which replaces them, reads it). A row with too many or too few cells, or bad
        bytes in a column used, is rejected (``reject_errors``).
        """
        types = "{" + ", ".join(f"{_literal(n)}: 'VARCHAR'" for n in self.header) + "}"
        wanted = {c.lower() for c in self.names.values()}
        kept = ", ".join(_ident(n) for n in self.header if n.lower() in wanted)
        return f"""(SELECT {kept} FROM read_csv({_literal(str(path))}, header = true,
            auto_detect = false, columns = {types}, delim = ',', quote = '"', escape = '"',
            null_padding = true, ignore_errors = true, store_rejects = true,
            rejects_table = 'reject_errors', rejects_scan = 'reject_scans',
            max_line_size = 10000000))"""

    def _rows(self, rows: str) -> str:
        """Each data row checked, its recipients normalised, in file order (``rowid``).

        ASCII addresses are normalised exactly as ``normalize_addr_spec`` does; ``odd``
        marks a row whose recipients are not all ASCII, which ``_fold_odd`` normalises
        in Python before grouping. An ASCII sender is normalised per message, in
        ``messages``.
        """
        sender, recipients = self.col("sender"), self.col("recipients")
        received = self.col("received")
        if self.packed:
            address = _address("split_part(r, '##', 1)")
            recipient = (
                f"list_filter(list_transform(string_split(coalesce({recipients}, ''), ';'), "
                f"lambda r: {address}), lambda r: r IS NOT NULL)"
            )
        else:
            recipient = _address(recipients)
        return f"""
        SELECT message_id, {sender} AS sender, {recipient} AS recipient, subject,
               occurred_at, {_odd(recipients)} AS odd,
               CASE WHEN message_id IS NULL THEN 'no MessageId'
                    WHEN NOT contains(coalesce({sender}, ''), '@') THEN 'no sender address'
                    WHEN occurred_at IS NOT NULL THEN NULL
                    WHEN coalesce(trim({received}), '') = '' THEN 'no time (Received)'
                    ELSE 'unreadable time "' || trim({received}) || '"'
               END AS reason
        FROM (
            SELECT {_message_id(self.col("message_id"))} AS message_id, {sender}, {recipients},
                   {self.col("subject")} AS subject, {received},
                   {_occurred_at(received)} AS occurred_at
            FROM {rows})"""

    def rejected(self, lines: LineMap) -> list[tuple[int, str]]:
        """The lines DuckDB could not read and the rows that are unusable, with why."""
        unusable = self.db.execute(
            "SELECT rowid, reason FROM trace_rows WHERE reason IS NOT NULL"
        ).fetchall()
        unreadable = self.db.execute(
            "SELECT line, array_to_string(list_sort(list_distinct(list(error_message))), '; ') "
            "FROM reject_errors GROUP BY line"
        ).fetchall()
        return [(lines.line(int(row)), str(reason)) for row, reason in unusable] + [
            (int(line), str(reason)) for line, reason in unreadable
        ]

    def messages(self, lines: LineMap) -> str:
        """The usable rows of each MessageId as one message, as records need it.

        The earliest time, the first row's sender (normalised) and subject, the
        recipients distinct and sorted, and the ``line`` of the message's first row
        (``first_row``). Grouping feeds the lake writer straight, with no table between.
        """
        recipients = (
            "flatten(list(recipient))"
            if self.packed
            else "list(recipient) FILTER (WHERE recipient IS NOT NULL)"
        )
        grouped = f"""(SELECT message_id, min(rowid) AS first_row,
                   min(occurred_at)::TIMESTAMPTZ AS occurred_at,
                   arg_min(sender, rowid) AS sender,
                   nullif(trim(arg_min(subject, rowid)), '') AS subject,
                   coalesce({recipients}, []) AS recipients
            FROM trace_rows WHERE reason IS NULL GROUP BY message_id)"""
        columns = (
            f"m.message_id, m.first_row, m.occurred_at, {_address('m.sender')} AS sender, "
            f"m.subject, {_sorted_distinct('m.recipients')} AS recipients"
        )
        if not lines.steps:
            return f"(SELECT {columns}, m.first_row + 2 AS line FROM {grouped} m)"
        return (
            f"(SELECT {columns}, m.first_row + 2 + coalesce(s.shift, 0) AS line "
            f"FROM {grouped} m ASOF LEFT JOIN trace_shifts s ON m.first_row >= s.first)"
        )

    def drop(self) -> None:
        """Drop this trace's tables."""
        for table in TABLES:
            self.db.execute(f"DROP TABLE IF EXISTS {table}")


def _occurred_at(received: str) -> str:
    """SQL for the UTC time of a row (a TIMESTAMP: the zone is added per message, which
    costs less), tried the cheap way first: Get-MessageTrace's usual "9/14/2026 1:02:11
    PM", then ISO 8601 (with any offset), then the other formats.

    The first format never reads what the ISO cast reads, so the order changes no
    result; DuckDB evaluates each argument of coalesce only where those before it are
    NULL. Both readers skip spaces around the value.
    """
    return (
        f"coalesce(try_strptime({received}, '{TIME_FORMATS[0]}'), "
        f"try_cast(regexp_replace({received}, {FRACTION}) AS TIMESTAMPTZ)::TIMESTAMP, "
        f"try_strptime({received}, {TIME_FORMATS}))"
    )


def _message_id(raw: str) -> str:
    """SQL for a MessageId without its angle brackets (or spaces); NULL when empty.

    The common ``<id>`` (ASCII, nothing more to strip inside the brackets) is cut out
    directly, which gives what trimming does at a fraction of its cost.
    """
    inner_edges = " AND ".join(
        f"ascii(substring({raw}, {at}, 1)) NOT IN (32, 60, 62)"
        for at in ("2", f"strlen({raw}) - 1")
    )
    return (
        f"CASE WHEN {raw} LIKE '<%>' AND strlen({raw}) = length({raw}) AND {inner_edges} "
        f"THEN substring({raw}, 2, strlen({raw}) - 2) "
        f"ELSE nullif(trim({raw}, '<> '), '') END"
    )


def _address(raw: str) -> str:
    """SQL for an address as ``normalize_addr_spec`` gives it (stripped, case-folded)
    when it is ASCII, else as it is (``odd``: folded in Python); NULL without an @.

    A string is ASCII when its length in bytes equals its length in characters; an
    ASCII address that neither starts nor ends with a space or control character (the
    common case) only needs lower-casing.
    """
    return (
        f"CASE WHEN NOT contains({raw}, '@') THEN NULL "
        f"WHEN strlen({raw}) <> length({raw}) THEN {raw} "
        f"WHEN ascii({raw}) > 32 AND ascii(substring({raw}, strlen({raw}), 1)) > 32 "
        f"THEN lower({raw}) "
        f"ELSE lower(trim({raw}, {_literal(ASCII_SPACE)})) END"
    )


def _sorted_distinct(recipients: str) -> str:
    """SQL for a list's distinct values in order; most messages have one or two
    recipients, which need no call of DuckDB's costlier list functions."""
    first, second = f"{recipients}[1]", f"{recipients}[2]"
    return (
        f"CASE WHEN len({recipients}) < 2 THEN {recipients} "
        f"WHEN len({recipients}) = 2 THEN CASE WHEN {first} < {second} THEN {recipients} "
        f"WHEN {first} > {second} THEN [{second}, {first}] ELSE [{first}] END "
        f"ELSE list_sort(list_distinct({recipients})) END"
    )


def _odd(expression: str) -> str:
    """SQL: whether a cell holds anything that is not ASCII."""
    return f"coalesce(strlen({expression}) <> length({expression}), false)"


def _fold_odd(db: duckdb.DuckDBPyConnection) -> None:
    """Normalise the rare usable row with an address that is not ASCII with
    ``normalize_addr_spec``, as the directory does (``str.casefold`` and ``str.strip``),
    before the rows are grouped: a message's recipients are deduplicated and sorted
    after it."""
    rows = db.execute(
        f"SELECT rowid, sender, recipient FROM trace_rows WHERE reason IS NULL "
        f"AND (odd OR {_odd('sender')})"
    ).fetchall()
    if not rows:
        return
    packed = any(isinstance(address, list) for _r, _s, address in rows)
    recipient = pa.list_(pa.string()) if packed else pa.string()
    fixed = pa.table(
        {
            "row": [r for r, _s, _a in rows],
            "sender": [normalize_addr_spec(s) for _r, s, _a in rows],
            "recipient": [_folded(address) for _r, _s, address in rows],
        },
        schema=pa.schema([("row", pa.int64()), ("sender", pa.string()), ("recipient", recipient)]),
    )
    db.register("trace_folded", fixed)
    db.execute(
        "UPDATE trace_rows SET sender = f.sender, recipient = f.recipient "
        "FROM trace_folded f WHERE trace_rows.rowid = f.row"
    )
    db.unregister("trace_folded")


def _folded(address: str | list[str] | None) -> str | list[str] | None:
    """One row's recipient (or packed recipients) normalised."""
    if isinstance(address, list):
        return [normalize_addr_spec(a) for a in address]
    return None if address is None else normalize_addr_spec(address)


def _python_rows(path: Path, names: list[str]) -> tuple[pa.Table, list[int], list[tuple[int, str]]]:
    """The data rows as text columns, the line each starts on, and the line from which
    the file could not be read (if any); blank lines are no rows, as for DuckDB."""
    rows: list[list[str]] = []
    starts: list[int] = []
    unreadable: list[tuple[int, str]] = []
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        start = reader.line_num + 1
        try:
            for cells in reader:
                if cells:
                    rows.append((cells + [""] * len(names))[: len(names)])
                    starts.append(start)
                start = reader.line_num + 1
        except csv.Error as exc:
            unreadable.append((start, f"unreadable CSV from this line on ({exc})"))
    table = pa.table(
        {name: [row[i] for row in rows] for i, name in enumerate(names)},
        schema=pa.schema([(n, pa.string()) for n in names]),
    )
    return table, starts, unreadable


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


def _column_names(columns: list[str]) -> list[str]:
    return [c or f"column{i}" for i, c in enumerate(columns)]


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
