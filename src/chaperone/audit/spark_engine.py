"""The Spark engine: the same compiled audit query on PySpark, over the same Parquet lake.

``local[*]`` by default; any master with the ``spark_master`` setting (a state or a
large district running across machines). Inputs travel as small Parquet files.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from chaperone.audit.query import audit_query
from chaperone.common.problems import ChaperoneError
from chaperone.judge.facts_sql import BACKENDS, fields_needed
from chaperone.judge.rules import RuleWindow
from chaperone.judge.world import World, tables
from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import VERSION

MARGIN = dt.timedelta(days=1)


def session(master: str) -> Any:
    """A Spark session in UTC (created once per process)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:  # pragma: no cover - depends on the installation
        raise ChaperoneError(
            "the spark engine needs PySpark: pip install 'chaperone[spark]'"
        ) from exc
    builder = (
        SparkSession.builder.master(master)
        .appName("chaperone-audit")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "8")
        .config("spark.ui.enabled", "false")
    )
    return builder.getOrCreate()


def run(
    layout: LakeLayout,
    inputs: World,
    windows: list[RuleWindow],
    since: dt.date | None = None,
    until: dt.date | None = None,
    *,
    master: str = "local[*]",
) -> list[dict[str, Any]]:
    """Facts rows that match a rule, as dictionaries (the DuckDB engine's shape)."""
    spark = session(master)
    # The files are listed here and read by the job: no compaction swaps them meanwhile.
    with layout.reading(), tempfile.TemporaryDirectory(prefix="chaperone-spark-") as folder:
        needed = fields_needed(windows, inputs)
        guardians, family = "record.guardian_copied" in needed, "subject.family" in needed
        for name, table in tables(inputs, guardians=guardians, family=family).items():
            path = Path(folder, f"{name}.parquet")
            pq.write_table(table, path)
            spark.read.parquet(str(path)).createOrReplaceTempView(name)
        _records(spark, layout, since, until)
        query = audit_query(BACKENDS["spark"], inputs.timezone, windows, since, until, needed)
        rows = spark.sql(query.sql(dialect="spark")).collect()
        return [_plain(row.asDict(recursive=True)) for row in rows]


def _records(spark: Any, layout: LakeLayout, since: dt.date | None, until: dt.date | None) -> None:
    """``records``: the files of the partitions a window can touch (as the DuckDB engine)."""
    files = layout.record_files(
        None if since is None else since - MARGIN, None if until is None else until + MARGIN
    )
    if not files:
        spark.sql(
            "SELECT CAST(NULL AS STRING) AS record_id, CAST(NULL AS STRING) AS message_id, "
            "CAST(NULL AS TIMESTAMP) AS occurred_at, CAST(NULL AS STRING) AS channel_type, "
            "CAST(NULL AS STRING) AS platform, CAST(NULL AS STRING) AS sender, "
            "CAST(NULL AS ARRAY<STRING>) AS recipients, CAST(NULL AS STRING) AS source_ref, "
            "CAST(NULL AS BOOLEAN) AS has_media, CAST(NULL AS STRING) AS record_key WHERE false"
        ).createOrReplaceTempView("records")
        return
    frame = spark.read.option("mergeSchema", "true").parquet(*(str(f) for f in files))
    if VERSION in frame.columns:  # the current version of each record (lake.query)
        version = f"coalesce({VERSION}, 1)"
        merged = (
            frame.where(f"{VERSION} > 1")
            .groupBy("record_id")
            .agg({VERSION: "max"})
            .withColumnRenamed(f"max({VERSION})", "newest")
        )
        frame = (
            frame.join(merged, "record_id", "left")
            .where(f"{version} = coalesce(newest, 1)")
            .drop("newest", VERSION)
        )
    frame.withColumn("record_key", frame.record_id).createOrReplaceTempView("records")


def _plain(row: dict[str, Any]) -> dict[str, Any]:
    """Spark's naive UTC timestamps as aware datetimes, like DuckDB's."""
    stamp = row.get("occurred_at")
    if isinstance(stamp, dt.datetime) and stamp.tzinfo is None:
        row["occurred_at"] = stamp.replace(tzinfo=dt.UTC)
    return row
