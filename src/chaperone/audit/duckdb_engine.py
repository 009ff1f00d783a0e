"""The DuckDB engine: the audit query in-process over the Parquet lake."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import duckdb

from chaperone.audit.facts import BACKENDS
from chaperone.audit.inputs import AuditInputs, tables
from chaperone.audit.query import RuleWindow, audit_query
from chaperone.lake.layout import LakeLayout
from chaperone.lake.writer import connect

Row = dict[str, Any]
MARGIN = dt.timedelta(days=1)  # UTC day partitions around local dates


def records_view(
    db: duckdb.DuckDBPyConnection, layout: LakeLayout, since: dt.date | None, until: dt.date | None
) -> None:
    """``records``: the lake, pruned to the day partitions a window can touch."""
    if not layout.has_records():
        db.execute(
            "CREATE OR REPLACE TEMP VIEW records AS SELECT NULL::VARCHAR AS record_id, "
            "NULL::VARCHAR AS message_id, NULL::TIMESTAMPTZ AS occurred_at, "
            "NULL::VARCHAR AS channel_type, NULL::VARCHAR AS platform, NULL::VARCHAR AS sender, "
            "NULL::VARCHAR[] AS recipients, NULL::VARCHAR AS source_ref, "
            "NULL::BOOLEAN AS has_media WHERE false"
        )
        return
    bounds = []
    if since is not None:
        bounds.append(f"day >= DATE '{since - MARGIN}'")
    if until is not None:
        bounds.append(f"day <= DATE '{until + MARGIN}'")
    where = f"WHERE {' AND '.join(bounds)}" if bounds else ""
    db.execute(
        f"CREATE OR REPLACE TEMP VIEW records AS SELECT * FROM read_parquet("
        f"'{layout.record_glob()}', hive_partitioning = true, union_by_name = true) {where}"
    )


def run(
    layout: LakeLayout,
    inputs: AuditInputs,
    windows: list[RuleWindow],
    since: dt.date | None = None,
    until: dt.date | None = None,
    *,
    memory_limit: str | None = None,
) -> list[Row]:
    """Facts rows that match a rule, as dictionaries (spilling to the lake past the limit)."""
    with connect() as db:
        if memory_limit:
            db.execute(f"SET memory_limit = '{_size(memory_limit)}'")
            db.execute(f"SET temp_directory = '{layout.root / '_spill'}'")
        for name, table in tables(inputs).items():
            db.register(name, table)
        records_view(db, layout, since, until)
        query = audit_query(BACKENDS["duckdb"], inputs.timezone, windows, since, until)
        result = db.execute(query.sql(dialect="duckdb"))
        names = [d[0] for d in result.description]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def _size(text: str) -> str:
    """A DuckDB memory size such as ``3GB`` (refusing anything else before it reaches SQL)."""
    value = text.strip().upper().replace(" ", "")
    if not re.fullmatch(r"\d+(\.\d+)?(KB|MB|GB|TB|KIB|MIB|GIB|TIB)", value):
        raise ValueError(f'not a memory size: "{text}"')
    return value
