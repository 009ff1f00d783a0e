"""Exchange Online message traces read in one pass: the edge cases of the bulk load."""

from __future__ import annotations

from pathlib import Path

import duckdb

from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import SourceReport, ingest
from chaperone.lake.writer import lake_path

HEADER = "Received,SenderAddress,RecipientAddress,Subject,Status,Size,MessageId,MessageTraceId,FromIP,ToIP\n"


def load(
    tmp_path: Path, data: bytes
) -> tuple[SourceReport, dict[str, tuple[object, ...]], list[tuple[str, str]]]:
    path = tmp_path / "trace.csv"
    path.write_bytes(data)
    home = tmp_path / "home"
    (report,) = ingest("m365-trace", [path], layout=lake_path(home), context=IngestContext())
    lake = home / "lake"
    rows = (
        duckdb.sql(
            f"SELECT message_id, sender, recipients, subject FROM read_parquet('{lake}/records/*/*.parquet')"
        ).fetchall()
        if any(lake.glob("records/*/*.parquet"))
        else []
    )
    rejects = (
        duckdb.sql(
            f"SELECT position, reason FROM read_parquet('{lake}/quarantine/*.parquet') ORDER BY 1"
        ).fetchall()
        if any(lake.glob("quarantine/*.parquet"))
        else []
    )
    assert report.read == report.stored + report.duplicates + report.quarantined
    return report, {str(r[0]): r[1:] for r in rows}, rejects


def test_bytes_that_are_not_utf8_in_an_unused_column_still_reject_the_row(tmp_path: Path) -> None:
    data = (HEADER + "9/14/2026 1:02:11 PM,a@x.org,b@x.org,ok,Delivered,1,<m1@x>,1,,\n").encode()
    data += b"9/14/2026 1:02:11 PM,a@x.org,b@x.org,ok,Deliv\xff\xfeered,1,<m2@x>,1,,\n"
    _report, found, rejects = load(tmp_path, data)
    assert list(found) == ["m1@x"]
    assert [position for position, _reason in rejects] == ["m365-trace:trace.csv#row 2"]


def test_non_ascii_addresses_are_case_folded_before_recipients_are_merged(tmp_path: Path) -> None:
    rows = [
        "9/14/2026 1:02:11 PM,\u00c4RGER@Stra\u00dfe.de,\u00df@x.de,x,Delivered,1,<m1@x>,1,,",
        "9/14/2026 1:02:11 PM,\u00c4RGER@Stra\u00dfe.de,SS@x.de,x,Delivered,1,<m1@x>,1,,",
        "9/14/2026 1:02:11 PM,\u00c4RGER@Stra\u00dfe.de,\u00c9mile@x.de,x,Delivered,1,<m1@x>,1,,",
        "9/14/2026 1:02:11 PM,\u00c4RGER@Stra\u00dfe.de,Zed@x.de,x,Delivered,1,<m1@x>,1,,",
        "9/14/2026 1:02:11 PM,Plain@X.org,Kid@x.org,x,Delivered,1,<m2@x>,1,,",
    ]
    _report, found, _rejects = load(tmp_path, (HEADER + "\n".join(rows) + "\n").encode())
    assert found["m1@x"][:2] == (
        "\u00e4rger@strasse.de",
        ["ss@x.de", "zed@x.de", "\u00e9mile@x.de"],
    )
    assert found["m2@x"][:2] == ("plain@x.org", ["kid@x.org"])


def test_a_trace_without_the_optional_subject_column(tmp_path: Path) -> None:
    data = "Received,SenderAddress,RecipientAddress,MessageId\n9/14/2026 1:02:11 PM,a@x.org,b@x.org,<m1@x>\n"
    report, found, _rejects = load(tmp_path, data.encode())
    assert (report.stored, found["m1@x"]) == (1, ("a@x.org", ["b@x.org"], None))


def test_two_reasons_for_one_row_are_quarantined_in_a_fixed_order(tmp_path: Path) -> None:
    # The line DuckDB rejects and the first row it reads are both "row 1".
    data = HEADER + "9/14/2026 1:02:11 PM,a@x.org,b@x.org,x,Delivered,1,<m1@x>,1,,,extra\n"
    data += "9/14/2026 1:02:11 PM,a@x.org,b@x.org,x,Delivered,1,,1,,\n"
    found = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        found.append(load(tmp_path / name, data.encode())[2])
    assert (
        found[0]
        == found[1]
        == [("m365-trace:trace.csv#row 1", "Expected Number of Columns: 10 Found: 11")]
    )
