"""The DuckDB engine's plumbing: the lake it reads, the query's filter, the rows it returns."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot

from chaperone.audit import duckdb_engine
from chaperone.audit.query import _factored
from chaperone.judge.world import Party, World, tables
from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import Record, stable_id, to_table
from chaperone.lake.writer import LakeWriter, connect, lake_path


def record(n: int, when: dt.datetime) -> Record:
    return Record(
        record_id=stable_id("t", str(n)), message_id=str(n), occurred_at=when,
        channel_type="email", platform=None, sender="t@d.us", recipients=("s@gmail.com",),
        subject=None, has_media=False, attachment_count=0, source_kind="jsonl",
        source_ref=f"t#{n}",
    )


def lake(folder: Path, batches: list[list[Record]]) -> LakeLayout:
    layout = lake_path(folder)
    for index, batch in enumerate(batches):  # one writer per batch: files of their own
        with layout.lock():
            writer = LakeWriter(layout, f"run{index}")
            writer.write_records(to_table(batch))
            writer.close()
    return layout


def keys(layout: LakeLayout, since: dt.date | None = None,
         until: dt.date | None = None) -> list[tuple[str, int]]:
    with connect() as db:
        duckdb_engine.records_view(db, layout, since, until)
        return db.execute("SELECT record_id, record_key FROM records ORDER BY 1").fetchall()


def test_every_record_has_its_own_key_the_same_in_every_read(tmp_path: Path) -> None:
    day = dt.datetime(2026, 9, 14, 13, tzinfo=dt.UTC)
    layout = lake(tmp_path, [[record(n, day + dt.timedelta(days=31 * (n % 3))) for n in range(6)],
                             [record(n, day) for n in range(6, 9)]])
    assert len(list(layout.records.glob("*/*.parquet"))) >= 4
    first, again = keys(layout), keys(layout)
    assert len(first) == 9 and first == again
    assert len({key for _id, key in first}) == 9


def test_the_view_reads_only_the_months_a_window_can_touch(tmp_path: Path) -> None:
    layout = lake(tmp_path, [[record(n, dt.datetime(2026, 1 + n, 15, 13, tzinfo=dt.UTC))
                              for n in range(10)]])
    # local dates 05-31..06-01, with a day's margin either side: the May and June files
    assert len(keys(layout, dt.date(2026, 5, 31), dt.date(2026, 6, 1))) == 2
    assert len(keys(layout, dt.date(2026, 3, 10), dt.date(2026, 3, 20))) == 1
    assert len(keys(layout, dt.date(2026, 9, 1))) == 3  # August (from the 31st) to October
    assert keys(lake_path(tmp_path / "empty")) == []


def test_person_keys_number_persons_not_addresses() -> None:
    inputs = World(timezone="UTC", accounts={
        "a@x.org": [Party("T1", "staff", True), Party("P1", "parent", False)],
        "b@x.org": [Party("T1", "staff", False)],
    })
    accounts = tables(inputs)["accounts"].to_pylist()
    key = {(a["address"], a["person_id"]): a["person_key"] for a in accounts}
    assert key["a@x.org", "T1"] == key["b@x.org", "T1"] != key["a@x.org", "P1"]


def test_terms_every_rule_requires_are_stated_once_more_on_their_own() -> None:
    matches = [sqlglot.parse_one(m) for m in ("a = 1 AND (b OR c) AND d", "(a = 1 AND e) AND d")]
    assert _factored(matches).sql() == (
        "a = 1 AND d AND ((a = 1 AND (b OR c) AND d) OR ((a = 1 AND e) AND d))"
    )
    assert _factored(matches[:1]).sql().startswith("a = 1 AND (b OR c) AND d AND (")
    assert _factored([sqlglot.parse_one("x"), sqlglot.parse_one("y")]).sql() == "(x) OR (y)"


@pytest.mark.parametrize("chunks", [1, 3])
def test_result_rows_are_the_values_arrow_itself_would_give(chunks: int) -> None:
    values = {
        "day": pa.array([dt.date(2026, 9, 14), None, dt.date(1969, 12, 31)], pa.date32()),
        "at": pa.array([dt.datetime(2026, 9, 14, 13, 2, 11, 5, tzinfo=dt.UTC), None,
                        dt.datetime(1969, 12, 31, 23, 59, tzinfo=dt.UTC)],
                       pa.timestamp("us", tz="UTC")),
        "to": pa.array([["a", "b"], [], None], pa.list_(pa.string())),
        "n": pa.array([1, None, 3], pa.int64()),
    }
    table = pa.table(values)
    table = pa.concat_tables([table.slice(i, 1) for i in range(3)]) if chunks == 3 else table
    rows = duckdb_engine.rows_of(table)
    assert rows == table.to_pylist()
    assert rows[0]["at"].tzinfo is not None and rows[0]["at"].utcoffset() == dt.timedelta(0)
