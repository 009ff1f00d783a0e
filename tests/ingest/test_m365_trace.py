"""Exchange Online message traces: both export shapes, encodings, grouping, bad rows."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from chaperone.lake.query import records_view
from chaperone.lake.schema import stable_id
from chaperone.lake.writer import connect, lake_path
from chaperone.settings import Settings
from tests.conftest import Cli

ROWS = '''\
Received,SenderAddress,RecipientAddress,Subject,Status,Size,MessageId,MessageTraceId,FromIP,ToIP
9/14/2026 1:02:11 PM,Dana.Ito@example.k12.ny.us,kid@students.example.k12.ny.us,Field trip,Delivered,1234,<abc@x>,1,1.2.3.4,
9/14/2026 1:02:12 PM,Dana.Ito@example.k12.ny.us,Mom@Gmail.com,Field trip,Delivered,1234,<abc@x>,1,1.2.3.4,
2026-09-15T10:00:00.1234567Z,coach@gmail.com,KID@students.example.k12.ny.us,"Hi, ""there""",Delivered,1,<def@x>,2,,
notadate,coach@gmail.com,kid@students.example.k12.ny.us,x,Delivered,1,<ghi@x>,3,,
9/14/2026 1:02:11 PM,,kid@students.example.k12.ny.us,x,Delivered,1,<jkl@x>,3,,
9/14/2026 1:02:11 PM,a@x.org,kid@students.example.k12.ny.us,x,Delivered,1,,3,,
9/14/2026 1:02:11 PM,\u00c4RGER@Stra\u00dfe.de,kid@students.example.k12.ny.us,x,Delivered,1,<mno@x>,3,,
'''

SUMMARY = """\
origin_timestamp_utc,sender_address,recipient_status,message_subject,total_bytes,message_id,network_message_id
2026-09-14T13:02:11.0000000Z,Dana.Ito@example.k12.ny.us,"kid@students.example.k12.ny.us##Receive, Deliver;Mom@Gmail.com##Receive, Deliver",Field trip,1234,<abc@x>,n1
"""


def records(settings: Settings) -> dict[str, tuple[object, ...]]:
    glob = settings.home / "lake" / "records" / "*" / "*.parquet"
    rows = duckdb.sql(
        f"SELECT message_id, record_id, sender, recipients, occurred_at, subject "
        f"FROM read_parquet('{glob}')"
    ).fetchall()
    return {str(r[0]): r[1:] for r in rows}


def ingest(cli: Cli, path: Path) -> dict[str, int]:
    return dict(json.loads(cli.ok("ingest", "m365-trace", path, "--format", "json").out)["totals"])


def test_rows_of_one_message_id_are_one_message(cli: Cli, tmp_path: Path, settings: Settings) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(ROWS, encoding="utf-8")
    assert ingest(cli, path) == {
        "read": 6,
        "stored": 3,
        "merged": 0,
        "duplicates": 0,
        "quarantined": 3,
    }
    found = records(settings)
    record_id, sender, recipients, occurred_at, subject = found["abc@x"]
    assert record_id == stable_id("email", "abc@x")  # the same id an archived copy gets
    assert subject == "Field trip"
    assert sender == "dana.ito@example.k12.ny.us"
    assert recipients == ["kid@students.example.k12.ny.us", "mom@gmail.com"]
    assert occurred_at == dt.datetime(2026, 9, 14, 13, 2, 11, tzinfo=dt.UTC)
    assert found["def@x"][3] == dt.datetime(2026, 9, 15, 10, 0, 0, 123456, tzinfo=dt.UTC)
    assert found["def@x"][4] == 'Hi, "there"'
    assert found["mno@x"][1] == "\u00e4rger@strasse.de"  # case-folded like the directory


def test_bad_rows_are_quarantined_with_their_line_and_reason(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(ROWS, encoding="utf-8")
    ingest(cli, path)
    rows = json.loads(cli.ok("ingest", "quarantine", "--format", "json").out)
    assert sorted((r["position"], r["reason"]) for r in rows) == [
        ("m365-trace:trace.csv#line 5", 'unreadable time "notadate"'),
        ("m365-trace:trace.csv#line 6", "no sender address"),
        ("m365-trace:trace.csv#line 7", "no MessageId"),
    ]


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16"])
def test_summary_report_in_microsoft_encodings(
    cli: Cli, tmp_path: Path, settings: Settings, encoding: str
) -> None:
    path = tmp_path / "summary.csv"
    path.write_bytes(SUMMARY.encode(encoding))
    if encoding == "utf-16":
        assert path.read_bytes().startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    assert ingest(cli, path) == {
        "read": 1,
        "stored": 1,
        "merged": 0,
        "duplicates": 0,
        "quarantined": 0,
    }
    assert records(settings)["abc@x"][2] == ["kid@students.example.k12.ny.us", "mom@gmail.com"]


def test_the_trace_and_the_archive_of_one_message_are_stored_once(
    cli: Cli, tmp_path: Path, settings: Settings
) -> None:
    from tests.ingest.messages import message

    (tmp_path / "a.eml").write_bytes(message(message_id="<abc@x>"))
    cli.ok("ingest", "eml", tmp_path / "a.eml")
    path = tmp_path / "trace.csv"
    path.write_text(ROWS, encoding="utf-8")
    # The archived copy shows the student; the trace also the parent it was sent to.
    totals = ingest(cli, path)
    assert (totals["merged"], totals["duplicates"]) == (1, 0)
    with lake_path(settings.home).reading(), connect() as db:
        records_view(db, lake_path(settings.home))
        found = db.execute("SELECT recipients FROM records WHERE message_id = 'abc@x'").fetchall()
    assert found == [(["kid@students.example.k12.ny.us", "mom@gmail.com"],)]
    again = tmp_path / "again.eml"  # a copy that shows no one new is a duplicate
    again.write_bytes(message(message_id="<abc@x>", to="Mom@Gmail.com"))
    copy = json.loads(cli.ok("ingest", "eml", again, "--format", "json").out)["totals"]
    assert (copy["stored"], copy["merged"], copy["duplicates"]) == (0, 0, 1)


def test_a_file_that_is_neither_shape_names_the_missing_columns(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "trace.csv"
    path.write_text("Received,SenderAddress,Subject\n1/1/2026 1:00:00 PM,a@x.org,x\n", "utf-8")
    result = cli("ingest", "m365-trace", path)
    assert result.code == 1
    assert 'trace.csv:1: missing column "RecipientAddress"' in result.err
    assert 'trace.csv:1: missing column "MessageId"' in result.err
