"""Ingest runs end to end: accounting, deduplication, re-runs, quarantine, the lake's files."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb

from chaperone.settings import Settings
from tests.conftest import Cli
from tests.ingest.messages import mbox, message


def totals(result_out: str) -> dict[str, int]:
    return dict(json.loads(result_out)["totals"])


def ingest(cli: Cli, kind: str, *paths: Path) -> dict[str, object]:
    return dict(json.loads(cli.ok("ingest", kind, *paths, "--format", "json").out))


def lake_rows(settings: Settings) -> list[tuple[object, ...]]:
    glob = settings.home / "lake" / "records" / "*" / "*.parquet"
    return duckdb.sql(
        f"SELECT * EXCLUDE (source_ref) FROM read_parquet('{glob}', hive_partitioning=true) "
        "ORDER BY record_id"
    ).fetchall()


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_accounting_reconciles_and_duplicates_are_stored_once(cli: Cli, tmp_path: Path) -> None:
    box = write(
        tmp_path / "inbox.mbox",
        mbox(
            message(message_id="<1@x>"),
            message(message_id="<2@x>"),
            message(message_id="<1@x>"),
            message(sender="", message_id="<3@x>"),
        ),
    )
    report = ingest(cli, "mbox", box)
    (source,) = report["sources"]  # type: ignore[misc]
    assert {k: source[k] for k in ("read", "stored", "duplicates", "quarantined")} == {
        "read": 4,
        "stored": 2,
        "duplicates": 1,
        "quarantined": 1,
    }


def test_reingesting_an_unchanged_source_is_a_no_op(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    box = write(
        tmp_path / "inbox.mbox", mbox(message(message_id="<1@x>"), message(message_id="<2@x>"))
    )
    ingest(cli, "mbox", box)
    before = lake_rows(settings)
    again = ingest(cli, "mbox", box)
    assert again["sources"][0]["status"] == "unchanged"  # type: ignore[index]
    assert totals(cli.ok("ingest", "mbox", box, "--force", "--format", "json").out) == {
        "read": 2,
        "stored": 0,
        "merged": 0,
        "duplicates": 2,
        "quarantined": 0,
    }
    assert lake_rows(settings) == before


def test_the_same_message_in_two_silos_is_stored_once(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    write(tmp_path / "one.eml", message(message_id="<shared@x>"))
    box = write(tmp_path / "box.mbox", mbox(message(message_id="<shared@x>")))
    ingest(cli, "eml", tmp_path / "one.eml")
    assert totals(cli.ok("ingest", "mbox", box, "--format", "json").out)["duplicates"] == 1
    assert len(lake_rows(settings)) == 1


def test_records_are_partitioned_by_utc_month_and_no_staging_file_remains(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    box = write(
        tmp_path / "box.mbox",
        mbox(
            message(message_id="<a@x>", date="Mon, 14 Sep 2026 09:00:00 -0400"),
            message(message_id="<b@x>", date="Wed, 30 Sep 2026 23:30:00 -0400"),
        ),
    )
    ingest(cli, "mbox", box)
    lake = settings.home / "lake"
    months = sorted(p.name for p in (lake / "records").iterdir())
    assert months == ["month=2026-09", "month=2026-10"]  # 30 Sep 23:30 -04:00 is 1 Oct UTC
    assert list((lake / "_staging").rglob("*.parquet")) == []


def test_a_lake_with_day_partitions_is_upgraded_to_months_on_the_next_write(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    first = write(tmp_path / "one.mbox", mbox(message(message_id="<a@x>"), message(
        message_id="<b@x>", date="Tue, 15 Sep 2026 23:30:00 -0400")))
    ingest(cli, "mbox", first)
    records = settings.home / "lake" / "records"
    month = records / "month=2026-09"
    duckdb.sql(  # as an older version laid them out
        f"COPY (SELECT *, strftime(occurred_at, '%Y-%m-%d') AS day FROM '{month}/*.parquet') "
        f"TO '{records}' (FORMAT parquet, PARTITION_BY (day), FILENAME_PATTERN 'part-old-{{i}}', "
        "OVERWRITE_OR_IGNORE)"
    )
    shutil.rmtree(month)
    assert sorted(p.name for p in records.iterdir()) == ["day=2026-09-14", "day=2026-09-16"]
    again = write(tmp_path / "two.mbox", mbox(message(message_id="<a@x>"), message(
        message_id="<c@x>")))
    assert totals(cli.ok("ingest", "mbox", again, "--format", "json").out)["duplicates"] == 1
    assert sorted(p.name for p in records.iterdir()) == ["month=2026-09"]
    assert len(lake_rows(settings)) == 3


def test_quarantine_lists_source_position_and_reason(cli: Cli, tmp_path: Path) -> None:
    box = write(tmp_path / "box.mbox", mbox(message(message_id="<a@x>"), message(sender="")))
    ingest(cli, "mbox", box)
    rows = json.loads(cli.ok("ingest", "quarantine", "--format", "json").out)
    assert [(r["position"], r["reason"]) for r in rows] == [("mbox:box.mbox#2", "no sender (From)")]
    assert "no sender (From)" in cli.ok("ingest", "quarantine").out


def test_a_folder_of_eml_files_and_a_maildir(cli: Cli, tmp_path: Path, settings: Settings) -> None:
    folder = tmp_path / "mail"
    (folder / "sub").mkdir(parents=True)
    write(folder / "a.eml", message(message_id="<a@x>"))
    write(folder / "sub" / "b.eml", message(message_id="<b@x>"))
    assert totals(cli.ok("ingest", "eml", folder, "--format", "json").out)["stored"] == 2
    maildir = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (maildir / sub).mkdir(parents=True)
    write(
        maildir / "cur" / "1.host:2,S",
        message(message_id="<c@x>", extra={"Delivered-To": "me@example.org"}),
    )
    write(maildir / "new" / "2.host", message(message_id="<d@x>"))
    write(maildir / "tmp" / "3.host", message(message_id="<e@x>"))
    assert totals(cli.ok("ingest", "maildir", maildir, "--format", "json").out)["stored"] == 2
    recipients = {
        row[0]: row[1]
        for row in duckdb.sql(
            f"SELECT message_id, recipients FROM read_parquet('{settings.home}/lake/records/*/*.parquet')"
        ).fetchall()
    }
    assert "me@example.org" in recipients["c@x"]


def test_unknown_kinds_and_missing_paths_exit_non_zero(cli: Cli, tmp_path: Path) -> None:
    missing = cli("ingest", "mbox", tmp_path / "nope.mbox")
    assert missing.code == 1 and "no such file or folder" in missing.err
    unknown = cli("ingest", "fax", tmp_path)
    assert unknown.code != 0


def test_not_a_maildir_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    result = cli("ingest", "maildir", write(tmp_path / "x.txt", b"x"))
    assert result.code == 1 and result.err.splitlines()[0].endswith("x.txt: not a Maildir folder")
