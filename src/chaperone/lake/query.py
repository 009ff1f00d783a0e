"""Reading the lake with DuckDB."""

from __future__ import annotations

from typing import Any

import duckdb

from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import VERSION
from chaperone.lake.writer import _literal, connect, copies_folder


def current_records(
    db: duckdb.DuckDBPyConnection, files: list[str], *, key: str | None = None
) -> str:
    """A query of the current record of every record_id in the files: its highest version.

    A record that no copy has merged into is one row (version 1, or no version in a file
    written before versions): it is kept unless a higher version of its record_id exists,
    which only merged records have, so the join's other side is small (a hash table of
    the merged ids) and the scan for it skips every row group whose versions are all 1;
    the records stream past it. ``key`` adds a ``record_key``
    column computed from the scan's own columns (``file_index``, ``file_row_number``).
    The columns are the record's, without the version. The files are read when the
    query is built; a view of it is for one reading (``layout.reading()``) of them.
    """
    listed = ", ".join(_literal(f) for f in files)
    scan = f"read_parquet([{listed}], hive_partitioning = false, union_by_name = true)"
    keyed = f", {key} AS record_key" if key else ""
    described = db.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()
    if VERSION not in {row[0] for row in described}:
        return f"SELECT *{keyed} FROM {scan}"
    merges = db.execute(f"SELECT 1 FROM {scan} WHERE {VERSION} > 1 LIMIT 1").fetchall()
    if not merges:  # the usual lake: a look at the row groups' statistics says so
        return f"SELECT * EXCLUDE ({VERSION}){keyed} FROM {scan}"
    return f"""SELECT r.* EXCLUDE ({VERSION}){keyed} FROM {scan} AS r
        LEFT JOIN (SELECT record_id, max({VERSION}) AS newest FROM {scan}
                   WHERE {VERSION} > 1 GROUP BY record_id) AS merged
        ON merged.record_id = r.record_id
        WHERE coalesce(r.{VERSION}, 1) = coalesce(merged.newest, 1)"""


def records_view(db: duckdb.DuckDBPyConnection, layout: LakeLayout, name: str = "records") -> None:
    """Define a view of the current records (read it while holding ``layout.reading()``)."""
    if layout.has_records():
        files = [str(f) for f in layout.record_files()]
        db.execute(f"CREATE OR REPLACE VIEW {name} AS {current_records(db, files)}")
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


def found_in(layout: LakeLayout, record_id: str) -> list[str]:
    """Every place a message was found (its first copy's ``source_ref``, then each later
    copy's, once each): the custodians of one record."""
    with layout.reading(), connect() as db:
        records_view(db, layout)
        first = db.execute(
            "SELECT source_ref FROM records WHERE record_id = ?", [record_id]
        ).fetchall()
        later: list[tuple[Any, ...]] = []
        folder = copies_folder(layout)
        if any(folder.glob("*.parquet")):
            later = db.execute(
                f"SELECT source_ref FROM read_parquet({_literal(str(folder / '*.parquet'))}) "
                "WHERE record_id = ? ORDER BY seen_at, source_ref",
                [record_id],
            ).fetchall()
    return list(dict.fromkeys(str(row[0]) for row in [*first, *later]))
