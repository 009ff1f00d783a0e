"""The gateway's decisions in the lake: every message it judged, and the mail it stopped.

``decisions/day=YYYY-MM-DD/part-*.parquet`` holds one row per message decision: the
normalized record's columns and what the gateway did. Mail the gateway *stopped*
(REJECT or HOLD while enforcing) is also written to ``records/`` as a communication
record (``source_kind`` ``gateway``, the same ``record_id``), so the audit judges it.
Mail it let through stays in ``decisions/`` only: it reaches the lake again, once, from
the archive or the message trace, and counting it here as well would count it twice.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import COLUMNS, SCHEMA
from chaperone.lake.writer import LakeWriter, Written, _literal, _publish_all, connect

SOURCE_KIND = "gateway"
STOPPING = ("REJECT", "HOLD")
DECISION_SCHEMA = pa.schema(
    [
        *SCHEMA,
        ("action", pa.string()),  # what the rules called for: REJECT, HOLD, PREPEND, WARN, DUNNO
        ("monitor", pa.bool_()),  # monitor mode: Postfix was answered DUNNO whatever the action
        ("stopped", pa.bool_()),  # refused or held before delivery (REJECT/HOLD, enforcing)
        ("stopped_recipients", pa.list_(pa.string())),
        ("rule_ids", pa.list_(pa.string())),
        ("reason", pa.string()),  # the text Postfix was given (or would have been)
        ("instance", pa.string()),  # Postfix's instance: one SMTP transaction
        ("queue_id", pa.string()),
        ("protocol_state", pa.string()),  # RCPT, or END-OF-MESSAGE when the message was judged
        ("client_address", pa.string()),
        ("client_name", pa.string()),
        ("sasl_username", pa.string()),
    ]
)
NOTES = {
    "REJECT": "The district's mail gateway refused it before delivery (REJECT).",
    "HOLD": "The district's mail gateway held it for review before delivery (HOLD).",
}


def stopped_note(action: str) -> str:
    """The sentence a finding on stopped mail ends with."""
    return NOTES[action]


def write(layout: LakeLayout, decisions: pa.Table, run_id: str) -> Written:
    """Store a batch once: its stopped mail in ``records/``, every decision in ``decisions/``.

    The caller holds the lake's lock. Rows whose record_id the day's files already hold
    are skipped, so writing a batch again (a retried flush) adds nothing.
    """
    if decisions.num_rows == 0:
        return Written(0, 0)
    days = pc.unique(pc.strftime(decisions["occurred_at"], format="%Y-%m-%d")).to_pylist()
    writer = LakeWriter(layout, run_id, days=days)
    try:
        writer.write_records(_stopped_records(decisions))  # first: a stopped row has its record
        return _write_decisions(writer.db, layout, decisions, days, run_id)
    finally:
        writer.close()


def _stopped_records(decisions: pa.Table) -> pa.Table:
    """The stopped decisions as communication records of the recipients they stopped."""
    stopped = decisions.filter(pc.fill_null(decisions["stopped"], False))
    records = stopped.select(list(COLUMNS))
    index = records.schema.get_field_index("recipients")
    return records.set_column(index, SCHEMA.field("recipients"), stopped["stopped_recipients"])


def _write_decisions(
    db: duckdb.DuckDBPyConnection, layout: LakeLayout, batch: pa.Table, days: list[str], run_id: str
) -> Written:
    db.register("decision_batch", batch.append_column("ordinal", pa.array(range(batch.num_rows))))
    files = decision_files(layout, days=days, spool=False)
    known = (
        f"SELECT record_id FROM read_parquet([{', '.join(_literal(str(f)) for f in files)}])"
        if files
        else "SELECT NULL::VARCHAR AS record_id WHERE false"
    )
    staging = layout.new_staging()
    row = db.execute(
        f"""COPY (SELECT * EXCLUDE (ordinal), strftime(occurred_at, '%Y-%m-%d') AS day
        FROM decision_batch WHERE record_id NOT IN ({known})
        QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY ordinal) = 1
        ORDER BY occurred_at, record_id)
        TO '{staging}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part-{run_id}-{{i}}',
        COMPRESSION zstd)"""
    ).fetchone()
    db.unregister("decision_batch")
    stored = int(row[0]) if row else 0
    staged = sorted(staging.rglob("*.parquet"))
    _publish_all(staged, [layout.decisions / f.parent.name / f.name for f in staged])
    return Written(stored, batch.num_rows - stored)


def decision_files(
    layout: LakeLayout,
    *,
    days: list[str] | None = None,
    since: dt.date | None = None,
    spool: bool = True,
) -> list[Path]:
    """The decision files of some days (or since one), and the spooled, unpublished batches.

    A reader holds ``layout.reading()`` while it lists them and while it reads them.
    """
    folders = sorted(layout.decisions.glob("day=*")) if layout.decisions.exists() else []
    if days is not None:
        folders = [f for f in folders if f.name.removeprefix("day=") in days]
    if since is not None:
        folders = [f for f in folders if f.name.removeprefix("day=") >= since.isoformat()]
    files = [p for folder in folders for p in sorted(folder.glob("*.parquet"))]
    if spool and layout.decision_spool.exists():
        files += sorted(layout.decision_spool.glob("*.parquet"))
    return files


def _relation(files: list[Path]) -> str:
    """One row per decision over published and spooled files (a batch may be in both)."""
    listed = ", ".join(_literal(str(f)) for f in files)
    columns = ", ".join(DECISION_SCHEMA.names)
    return (
        f"(SELECT {columns} FROM read_parquet([{listed}], union_by_name = true) "
        "QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY occurred_at) = 1)"
    )


def recent(
    layout: LakeLayout, *, limit: int, since: dt.date | None = None, stopped_only: bool = False
) -> list[dict[str, Any]]:
    """The newest decisions, newest first (spooled ones included)."""
    where = "WHERE stopped" if stopped_only else ""
    with layout.reading():
        files = decision_files(layout, since=since)
        if not files:
            return []
        with connect() as db:
            result = db.execute(
                f"SELECT * FROM {_relation(files)} {where} "
                "ORDER BY occurred_at DESC, record_id LIMIT ?",
                [limit],
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def weekly(layout: LakeLayout, *, since: dt.date | None = None) -> list[dict[str, Any]]:
    """Decisions per week (starting Monday, UTC), action and mode, stopped mail first."""
    with layout.reading():
        files = decision_files(layout, since=since)
        if not files:
            return []
        with connect() as db:
            result = db.execute(
                f"""SELECT CAST(date_trunc('week', occurred_at) AS DATE) AS week, action, monitor,
                bool_or(stopped) AS stopped, count(*) AS decisions FROM {_relation(files)}
                GROUP BY ALL ORDER BY week, stopped DESC, action, monitor"""
            )
            names = [d[0] for d in result.description]
            return [dict(zip(names, row, strict=True)) for row in result.fetchall()]


def stopped_actions(layout: LakeLayout, days: Mapping[str, dt.date]) -> dict[str, str]:
    """The action that stopped each of some records (record_id → UTC day), for those stopped."""
    wanted = sorted({d.isoformat() for d in days.values()})
    with layout.reading():
        files = decision_files(layout, days=wanted)
        if not days or not files:
            return {}
        with connect() as db:
            db.register("wanted", pa.table({"record_id": pa.array(list(days), pa.string())}))
            rows = db.execute(
                f"SELECT d.record_id, d.action FROM {_relation(files)} AS d "
                "JOIN wanted USING (record_id) WHERE d.stopped"
            ).fetchall()
    return {str(record_id): str(action) for record_id, action in rows}
