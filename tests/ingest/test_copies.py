"""Every copy of a message counted: one record with the union of what every copy shows,
the places it was found in, and an audit that judges the union whichever copy came first."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from chaperone.lake.compact import compact
from chaperone.lake.query import count_records, found_in, records_view
from chaperone.lake.schema import Record, to_table
from chaperone.lake.writer import LakeWriter, connect, lake_path
from chaperone.settings import Settings
from tests.audit.world import write_world
from tests.conftest import Cli
from tests.ingest.messages import mbox, message

TEACHER, STUDENT, PERSONAL = "t1@district.k12.us", "s1@students.district.k12.us", "s1@gmail.com"
# The teacher's Sent copy shows the Bcc to the student's personal address; the copy in the
# student's district mailbox shows only To (and its own Delivered-To).
SENT = message(sender=TEACHER, to=STUDENT, message_id="<trip@district.k12.us>",
               extra={"Bcc": PERSONAL})  # fmt: skip
RECEIVED = message(sender=TEACHER, to=STUDENT, message_id="<trip@district.k12.us>",
                   extra={"Delivered-To": STUDENT})  # fmt: skip
ORDERS = {"sent copy first": ("sent", "inbox"), "recipient copy first": ("inbox", "sent")}


def current(settings: Settings) -> list[tuple[object, ...]]:
    layout = lake_path(settings.home)
    with layout.reading(), connect() as db:
        records_view(db, layout)
        return db.execute(
            "SELECT message_id, sender, recipients, source_ref FROM records ORDER BY record_id"
        ).fetchall()


def ingest(cli: Cli, *paths: Path) -> dict[str, int]:
    report = json.loads(cli.ok("ingest", "mbox", *paths, "--format", "json").out)
    return {k: v for k, v in report["totals"].items() if k != "read"}


def mailboxes(folder: Path) -> dict[str, Path]:
    folder.mkdir(exist_ok=True)
    (folder / "sent.mbox").write_bytes(mbox(SENT))
    (folder / "inbox.mbox").write_bytes(mbox(RECEIVED))
    return {"sent": folder / "sent.mbox", "inbox": folder / "inbox.mbox"}


@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_one_record_holds_the_bcc_whichever_copy_came_first(
    cli: Cli, tmp_path: Path, settings: Settings, order: tuple[str, str]
) -> None:
    boxes = mailboxes(tmp_path / "boxes")
    first, second = (boxes[name] for name in order)
    assert ingest(cli, first) == {"stored": 1, "merged": 0, "duplicates": 0, "quarantined": 0}
    later = ingest(cli, second)
    adds_bcc = order[1] == "sent"  # only the Sent copy shows a party the other lacks
    assert later == {"stored": 0, "merged": int(adds_bcc), "duplicates": int(not adds_bcc),
                     "quarantined": 0}  # fmt: skip
    ((message_id, sender, recipients, source_ref),) = current(settings)
    assert (message_id, sender) == ("trip@district.k12.us", TEACHER)
    assert recipients == [STUDENT, PERSONAL]
    assert source_ref == f"mbox:{first.name}#1"  # the first copy's place stays the record's
    assert found_in(lake_path(settings.home), _record_id(settings)) == [
        f"mbox:{first.name}#1",
        f"mbox:{second.name}#1",
    ]


def _record_id(settings: Settings) -> str:
    layout = lake_path(settings.home)
    with layout.reading(), connect() as db:
        records_view(db, layout)
        row = db.execute("SELECT record_id FROM records").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_both_copies_in_one_mailbox_are_one_record_in_either_order(
    cli: Cli, tmp_path: Path, settings: Settings, order: tuple[str, str]
) -> None:
    copies = {"sent": SENT, "inbox": RECEIVED}
    box = tmp_path / "export.mbox"
    box.write_bytes(mbox(*(copies[name] for name in order)))
    adds_bcc = order[1] == "sent"
    assert ingest(cli, box) == {"stored": 1, "merged": int(adds_bcc),
                                "duplicates": int(not adds_bcc), "quarantined": 0}  # fmt: skip
    assert [row[2] for row in current(settings)] == [[STUDENT, PERSONAL]]


def record(number: int, recipients: tuple[str, ...], ref: str) -> Record:
    return Record(
        record_id=f"r{number}", message_id=f"m{number}",
        occurred_at=dt.datetime(2026, 9, 14, 13, tzinfo=dt.UTC), channel_type="email",
        platform=None, sender="a@x.org", recipients=recipients, subject=None, has_media=False,
        attachment_count=0, source_kind="jsonl", source_ref=ref,
    )  # fmt: skip


def test_the_accounting_counts_copies_and_the_union_keeps_first_seen_order(
    tmp_path: Path,
) -> None:
    layout = lake_path(tmp_path)
    layout.ensure()
    writer = LakeWriter(layout, "one")
    batch = [
        record(1, ("b@x.org",), "jsonl:a#1"),
        record(1, ("b@x.org", "c@x.org"), "jsonl:a#2"),  # adds c: merged
        record(1, ("c@x.org",), "jsonl:a#3"),  # nothing new: a duplicate
        record(2, ("d@x.org",), "jsonl:a#4"),
    ]
    written = writer.write_records(to_table(batch))
    assert (written.stored, written.merged, written.duplicates) == (2, 1, 1)
    later = [record(1, ("e@x.org", "b@x.org"), "jsonl:b#1"), record(2, ("d@x.org",), "jsonl:b#2")]
    written = writer.write_records(to_table(later))
    assert (written.stored, written.merged, written.duplicates) == (0, 1, 1)
    writer.close()
    with layout.reading(), connect() as db:
        records_view(db, layout)
        rows = db.execute("SELECT record_id, recipients FROM records ORDER BY 1").fetchall()
    assert rows == [("r1", ["b@x.org", "c@x.org", "e@x.org"]), ("r2", ["d@x.org"])]
    assert found_in(layout, "r1") == ["jsonl:a#1", "jsonl:a#2", "jsonl:a#3", "jsonl:b#1"]
    assert count_records(layout) == 2


def test_compaction_keeps_only_each_records_newest_version(tmp_path: Path) -> None:
    layout = lake_path(tmp_path)
    layout.ensure()
    for run, recipients in enumerate((("b@x.org",), ("b@x.org", "c@x.org"), ("e@x.org",))):
        writer = LakeWriter(layout, f"run{run}")
        writer.write_records(to_table([record(1, recipients, f"jsonl:{run}#1")]))
        writer.close()
    glob = layout.record_glob()
    assert duckdb.sql(f"SELECT count(*) FROM read_parquet('{glob}')").fetchall() == [(3,)]
    compact(layout, target_mb=64)
    rows = duckdb.sql(
        f"SELECT recipients, version FROM read_parquet('{glob}', hive_partitioning = false)"
    ).fetchall()
    assert rows == [(["b@x.org", "c@x.org", "e@x.org"], 3)]


def test_a_lake_written_before_versions_is_read_and_merged_into(tmp_path: Path) -> None:
    layout = lake_path(tmp_path)
    layout.ensure()
    old = layout.record_month("2026-09")
    old.mkdir(parents=True)
    pq.write_table(to_table([record(1, ("b@x.org",), "jsonl:old#1")]), old / "part-old.parquet")
    writer = LakeWriter(layout, "new")
    written = writer.write_records(to_table([record(1, ("c@x.org",), "jsonl:new#1")]))
    writer.close()
    assert (written.stored, written.merged) == (0, 1)
    with layout.reading(), connect() as db:
        records_view(db, layout)
        assert db.execute("SELECT recipients FROM records").fetchall() == [
            (["b@x.org", "c@x.org"],)
        ]


# ---- the audit judges the union ----


def district(cli: Cli, folder: Path) -> None:
    files = write_world(folder)
    cli.ok("registry", "import", files["registry"])
    cli.ok("directory", "import", "oneroster", files["roster"])
    cli.ok("directory", "import", "people", files["people"])
    cli.ok("directory", "import", "contacts", files["contacts"])


def findings(cli: Cli, folder: Path) -> set[tuple[str, str, str]]:
    out = folder / "findings.json"
    cli.ok("findings", "export", "--format", "json", "--out", out)
    return {
        (row["message_id"], row["rule_id"], row["subject_person_id"])
        for row in json.loads(out.read_text("utf-8"))
    }


BCC_TO_PERSONAL = {("trip@district.k12.us", "9052-A-direct", "T1")}


@pytest.mark.store
@pytest.mark.parametrize("order", list(ORDERS.values()), ids=list(ORDERS))
def test_the_audit_finds_the_bcc_to_a_students_personal_address_either_way(
    cli: Cli, tmp_path: Path, order: tuple[str, str]
) -> None:
    district(cli, tmp_path / "district")
    boxes = mailboxes(tmp_path / "boxes")
    ingest(cli, *(boxes[name] for name in order))
    cli.ok("audit")
    assert findings(cli, tmp_path) == BCC_TO_PERSONAL


@pytest.mark.store
@pytest.mark.parametrize("engine", ["duckdb", "spark"])
def test_a_reingest_after_an_audit_rejudges_the_merged_message(
    cli: Cli, tmp_path: Path, engine: str
) -> None:
    district(cli, tmp_path / "district")
    boxes = mailboxes(tmp_path / "boxes")
    ingest(cli, boxes["inbox"])
    cli.ok("audit", "--engine", engine)
    assert findings(cli, tmp_path) == set()  # the student's copy: district to district
    assert ingest(cli, boxes["sent"])["merged"] == 1
    cli.ok("audit", "--engine", engine)
    assert findings(cli, tmp_path) == BCC_TO_PERSONAL


# ---- every connector: the writer folds any copies with one record_id ----


def gmail_event(kind: int, *recipients: str) -> str:
    return json.dumps({
        "event_info": {"timestamp_usec": "1789390931000000", "mail_event_type": kind},
        "message_info": {
            "rfc2822_message_id": "<trip@district.k12.us>",
            "source": {"address": TEACHER},
            "destination": [{"address": address} for address in recipients],
        },
    })  # fmt: skip


def test_gmail_received_events_then_a_vault_sent_copy_are_one_record_with_every_party(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    log = tmp_path / "gmail.json"  # each received event shows only its own recipient
    log.write_text(gmail_event(2, STUDENT) + "\n" + gmail_event(2, "p1@gmail.com") + "\n")
    report = json.loads(cli.ok("ingest", "gmail-log", log, "--format", "json").out)["totals"]
    assert (report["stored"], report["merged"], report["duplicates"]) == (1, 1, 0)
    vault = tmp_path / "vault.mbox"  # the sender's copy from a Vault export, with the Bcc
    vault.write_bytes(mbox(SENT))
    assert ingest(cli, vault)["merged"] == 1
    assert [row[2] for row in current(settings)] == [[STUDENT, "p1@gmail.com", PERSONAL]]
