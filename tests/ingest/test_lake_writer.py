"""Writing records: deduplication across batches and writers, and the bulk write options."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb
import pyarrow as pa

from chaperone.ingest.context import IngestContext
from chaperone.ingest.email_message import read_message
from chaperone.ingest.flow import records_table
from chaperone.lake.schema import STORED_COLUMNS, Record, to_table
from chaperone.lake.writer import LakeWriter, lake_path
from tests.ingest.messages import message


def records(count: int, start: int = 0) -> list[Record]:
    found = []
    for i in range(start, start + count):
        item = read_message(
            message(
                message_id=f"<m{i}@x>",
                date=f"Mon, {1 + i % 28} {('Sep', 'Oct', 'Nov')[i % 3]} 2026 09:02:11 -0400",
                cc="Parent <P@x.org>" if i % 2 else None,
                image=i % 3 == 0,
            ),
            context=IngestContext(),
            kind="eml",
            ref=f"eml:m.eml#{i}",
        )
        assert isinstance(item, Record)
        found.append(item)
    return found


def lake(root: Path) -> list[tuple[object, ...]]:
    return duckdb.sql(
        f"SELECT * FROM read_parquet('{root}/lake/records/*/*.parquet') ORDER BY record_id"
    ).fetchall()


def test_records_table_is_to_table() -> None:
    batch = records(40)
    assert records_table(batch).equals(to_table(batch))
    assert records_table([]).equals(to_table([]))


def test_duplicates_are_found_in_the_batch_in_earlier_batches_and_in_the_lake(
    tmp_path: Path,
) -> None:
    layout = lake_path(tmp_path / "lake")
    layout.ensure()
    first, second = records(30), records(30, start=20)  # 10 of the second are in the first
    again = [dataclasses.replace(r, source_ref="eml:other.eml#1") for r in first[:5]]
    writer = LakeWriter(layout, "one")
    written = writer.write_records(to_table(first + again))
    assert (written.stored, written.duplicates) == (30, 5)
    written = writer.write_records(to_table(second))
    assert (written.stored, written.duplicates) == (20, 10)
    writer.close()
    writer = LakeWriter(layout, "two")  # a new writer reads what the lake holds
    written = writer.write_records(to_table(records(50)))
    assert (written.stored, written.duplicates) == (0, 50)
    writer.close()
    rows = duckdb.sql(
        f"SELECT source_ref FROM read_parquet('{layout.record_glob()}') WHERE record_id = "
        f"'{first[0].record_id}'"
    ).fetchall()
    assert rows == [("eml:m.eml#0",)]  # the first of two rows with one record_id is kept
    assert not list(layout.staging.rglob("*.parquet"))


def test_the_bulk_write_options_store_the_same_records(tmp_path: Path) -> None:
    batch = to_table(records(60))
    batch = batch.append_column("ordinal", pa.array(range(batch.num_rows)))
    for name, options in (
        ("plain", {}),
        ("bulk", {"total": batch.num_rows, "unique": True, "sort": False}),
    ):
        layout = lake_path(tmp_path / name)
        layout.ensure()
        writer = LakeWriter(layout, name)
        writer.db.register("batch_arrow", batch)
        written = writer.write_query("SELECT * FROM batch_arrow", **options)  # type: ignore[arg-type]
        assert (written.stored, written.duplicates) == (60, 0)
        again = writer.write_query("SELECT * FROM batch_arrow", **options)  # type: ignore[arg-type]
        assert (again.stored, again.duplicates) == (0, 60)
        writer.close()
    assert lake(tmp_path / "plain") == lake(tmp_path / "bulk")
    assert len(lake(tmp_path / "bulk")) == 60
    months = {p.name for p in (tmp_path / "bulk" / "lake" / "records").iterdir()}
    assert months == {"month=2026-09", "month=2026-10", "month=2026-11"}
    assert list(STORED_COLUMNS) == [
        d[0]
        for d in duckdb.sql(
            f"DESCRIBE SELECT * FROM read_parquet('{tmp_path}/bulk/lake/records/*/*.parquet', "
            "hive_partitioning = false)"
        ).fetchall()
    ]
