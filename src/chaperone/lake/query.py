"""Reading the lake with DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb

from chaperone.lake.layout import LakeLayout
from chaperone.lake.writer import connect


def records_view(db: duckdb.DuckDBPyConnection, layout: LakeLayout, name: str = "records") -> None:
    """Define a view over every record file (read it while holding ``layout.reading()``)."""
    if layout.has_records():
        db.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet("
            f"'{layout.record_glob()}', hive_partitioning = false, union_by_name = true)"
        )
    else:
        db.execute(
            f"CREATE OR REPLACE VIEW {name} AS SELECT NULL::VARCHAR AS record_id WHERE false"
        )


def quarantine_rows(layout: LakeLayout, *, limit: int) -> list[dict[str, Any]]:
    """The newest quarantined items."""
    with layout.reading():
        if not layout.has_quarantine():
            return []
        with connect() as db:
            result = db.execute(
                f"SELECT * FROM read_parquet('{layout.quarantine}/*.parquet', "
                "union_by_name = true) ORDER BY quarantined_at DESC, source, position LIMIT ?",
                [limit],
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def count_records(layout: LakeLayout) -> int:
    """How many records the lake holds."""
    with layout.reading(), connect() as db:
        records_view(db, layout)
        row = next(iter(db.execute("SELECT count(*) FROM records").fetchall()), None)
        return int(row[0]) if row else 0
