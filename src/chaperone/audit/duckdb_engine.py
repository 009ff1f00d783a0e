"""The DuckDB engine: the audit query in-process over the Parquet lake."""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import re
from collections.abc import Iterator
from typing import Any, cast

import duckdb
import pyarrow as pa

from chaperone.audit.query import audit_query
from chaperone.judge.facts_sql import BACKENDS, fields_needed
from chaperone.judge.rules import RuleWindow
from chaperone.judge.world import World, tables
from chaperone.lake.layout import LakeLayout
from chaperone.lake.query import current_records
from chaperone.lake.writer import connect

Row = dict[str, Any]
MARGIN = dt.timedelta(days=1)  # UTC partitions around local dates
ROWS_PER_FILE = 2**32  # record_key = file number * ROWS_PER_FILE + row number in the file
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
EPOCH_DAY = EPOCH.date()


def records_view(
    db: duckdb.DuckDBPyConnection, layout: LakeLayout, since: dt.date | None, until: dt.date | None
) -> None:
    """``records``: the lake, pruned to the month partitions a window can touch (the
    caller holds ``layout.reading()`` while it lists and reads the files).

    The files are listed once, so every read of the view in one query sees the same
    files (a writer may publish more meanwhile) and ``record_key`` (the file's place
    in that list and the row's place in the file) names the same record in each.
    """
    files = [
        str(file)
        for file in layout.record_files(
            None if since is None else since - MARGIN, None if until is None else until + MARGIN
        )
    ]
    if not files:
        db.execute(
            "CREATE OR REPLACE TEMP VIEW records AS SELECT NULL::VARCHAR AS record_id, "
            "NULL::VARCHAR AS message_id, NULL::TIMESTAMPTZ AS occurred_at, "
            "NULL::VARCHAR AS channel_type, NULL::VARCHAR AS platform, NULL::VARCHAR AS sender, "
            "NULL::VARCHAR[] AS recipients, NULL::VARCHAR AS source_ref, "
            "NULL::BOOLEAN AS has_media, NULL::BIGINT AS record_key WHERE false"
        )
        return
    # The current version of each record: a later copy that added a party is judged.
    key = f"file_index * {ROWS_PER_FILE} + file_row_number"
    db.execute(f"CREATE OR REPLACE TEMP VIEW records AS {current_records(db, files, key=key)}")


def run(
    layout: LakeLayout,
    inputs: World,
    windows: list[RuleWindow],
    since: dt.date | None = None,
    until: dt.date | None = None,
    *,
    memory_limit: str | None = None,
) -> list[Row]:
    """Facts rows that match a rule, as dictionaries (spilling to the lake past the limit)."""
    with layout.reading(), connect() as db:
        if memory_limit:
            db.execute(f"SET memory_limit = '{_size(memory_limit)}'")
            db.execute(f"SET temp_directory = '{layout.root / '_spill'}'")
        needed = fields_needed(windows, inputs)
        guardians, family = "record.guardian_copied" in needed, "subject.family" in needed
        for name, table in tables(inputs, guardians=guardians, family=family).items():
            db.register(name, table)
        records_view(db, layout, since, until)
        query = audit_query(BACKENDS["duckdb"], inputs.timezone, windows, since, until,
                            needed)
        table = db.sql(query.sql(dialect="duckdb")).to_arrow_table()
    return rows_of(table)


def rows_of(table: pa.Table) -> list[Row]:
    """An Arrow result as dictionaries, converted column by column.

    Dates and UTC timestamps are built from their integers here: pyarrow's and
    DuckDB's own conversions of them cost more than all the other columns together.
    """
    names = table.column_names
    with _collector_paused():  # many new containers, no cycles: nothing for it to find
        columns = [_values(table.column(name)) for name in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*columns, strict=True)]


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _values(column: pa.ChunkedArray) -> list[Any]:
    kind = column.type
    if pa.types.is_date32(kind):
        days: dict[int | None, dt.date | None] = {None: None}
        return [
            days[d] if d in days else days.setdefault(d, EPOCH_DAY + dt.timedelta(days=d))
            for d in column.cast(pa.int32()).to_pylist()
        ]
    if pa.types.is_timestamp(kind) and kind.unit == "us" and kind.tz in ("UTC", "Etc/UTC"):
        return [
            None if us is None else EPOCH + dt.timedelta(0, 0, us)  # positional: faster
            for us in column.cast(pa.int64()).to_pylist()
        ]
    return cast(list[Any], column.to_pylist())


def _size(text: str) -> str:
    """A DuckDB memory size such as ``3GB`` (refusing anything else before it reaches SQL)."""
    value = text.strip().upper().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KIB|MIB|GIB|TIB)", value):
        raise ValueError(f'not a memory size: "{text}"')
    return value
