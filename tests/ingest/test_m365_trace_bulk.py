"""Exchange Online message traces read in one pass: the edge cases of the bulk load."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.common.addresses import normalize_addr_spec
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


def test_bytes_that_are_not_utf8_in_a_column_no_record_uses_lose_nothing(tmp_path: Path) -> None:
    data = (HEADER + "9/14/2026 1:02:11 PM,a@x.org,b@x.org,ok,Delivered,1,<m1@x>,1,,\n").encode()
    data += b"9/14/2026 1:02:11 PM,a@x.org,b@x.org,ok,Deliv\xff\xfeered,1,<m2@x>,1,,\n"
    report, found, rejects = load(tmp_path, data)
    assert sorted(found) == ["m1@x", "m2@x"]
    assert (report.stored, rejects) == (2, [])


def test_bytes_that_are_not_utf8_in_a_column_a_record_uses_reject_the_row(tmp_path: Path) -> None:
    data = (HEADER + "9/14/2026 1:02:11 PM,a@x.org,b@x.org,ok,Delivered,1,<m1@x>,1,,\n").encode()
    data += b"9/14/2026 1:02:11 PM,a@x.org,b\xff@x.org,ok,Delivered,1,<m2@x>,1,,\n"
    _report, found, rejects = load(tmp_path, data)
    assert list(found) == ["m1@x"]
    assert [position for position, _reason in rejects] == ["m365-trace:trace.csv#line 3"]


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


def test_a_line_duckdb_rejects_and_the_row_after_it_keep_their_own_lines(tmp_path: Path) -> None:
    # Once both were "row 1": DuckDB numbered the line it rejected, and the row after
    # it was the first it read.
    data = HEADER + "9/14/2026 1:02:11 PM,a@x.org,b@x.org,x,Delivered,1,<m1@x>,1,,,extra\n"
    data += "9/14/2026 1:02:11 PM,a@x.org,b@x.org,x,Delivered,1,,1,,\n"
    found = []
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        found.append(load(tmp_path / name, data.encode())[2])
    assert (
        found[0]
        == found[1]
        == [
            ("m365-trace:trace.csv#line 2", "Expected Number of Columns: 10 Found: 11"),
            ("m365-trace:trace.csv#line 3", "no MessageId"),
        ]
    )


def refs(tmp_path: Path) -> dict[str, str]:
    lake = tmp_path / "home" / "lake"
    if not any(lake.glob("records/*/*.parquet")):
        return {}
    rows = duckdb.sql(
        f"SELECT message_id, source_ref FROM read_parquet('{lake}/records/*/*.parquet')"
    ).fetchall()
    return {str(m): str(r) for m, r in rows}


ROW = "9/14/2026 1:02:11 PM,a@x.org,{to},{subject},Delivered,1,{mid},1,,"

# Each case: the data lines after the header, then where each message and each
# quarantined line must be said to start (the header is line 1).
LINE_CASES = {
    "one record a line": (
        [
            ROW.format(to="b@x.org", subject="x", mid="<m1@x>"),
            ROW.format(to="b@x.org", subject="x", mid="<m2@x>") + ",extra",
            "",
            ROW.format(to="b@x.org", subject="x", mid=""),
            ROW.format(to="c@x.org", subject="x", mid="<m3@x>"),
            ROW.format(to="d@x.org", subject="x", mid="<m3@x>"),
            "",
            "",
            ROW.format(to="b@x.org", subject="x", mid="<m4@x>"),
            "",
        ],
        {"m1@x": 2, "m3@x": 6, "m4@x": 10},
        [(3, "Expected Number of Columns: 10 Found: 11"), (5, "no MessageId")],
    ),
    "a subject over two lines": (
        [
            ROW.format(to="b@x.org", subject='"first\nsecond"', mid="<m1@x>"),
            ROW.format(to="b@x.org", subject="x", mid=""),
            "",
            ROW.format(to="b@x.org", subject="x", mid="<m2@x>"),
        ],
        {"m1@x": 2, "m2@x": 6},
        [(4, "no MessageId")],
    ),
}


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
@pytest.mark.parametrize("case", list(LINE_CASES))
def test_records_and_quarantine_name_the_physical_line_a_row_starts_on(
    tmp_path: Path, case: str, newline: str, encoding: str
) -> None:
    lines, messages, bad = LINE_CASES[case]
    text = "\n".join([HEADER.rstrip("\n"), *lines]) + "\n"
    report, _found, rejects = load(tmp_path, text.replace("\n", newline).encode(encoding))
    assert refs(tmp_path) == {m: f"m365-trace:trace.csv#line {n}" for m, n in messages.items()}
    assert rejects == [(f"m365-trace:trace.csv#line {n}", reason) for n, reason in bad]
    assert report.read == len(messages) + len(bad)  # blank lines are no items


@pytest.mark.parametrize(
    "raw",
    [
        "Kid@X.org",
        "kid@x.org",
        " \tKid@X.org \x0b",
        "kid@x.org\x1f",
        "\u00a0Kid@X.org",
        "KID@x.org\u3000",
        "\u00c4RGER@Stra\u00dfe.de",
        "\u00e9mile@x.de ",
    ],
)
def test_addresses_are_normalised_exactly_as_the_directory_does(tmp_path: Path, raw: str) -> None:
    quoted = '"' + raw + '"'
    data = HEADER + ROW.replace("a@x.org", quoted).format(to=quoted, subject="x", mid="<m1@x>")
    _report, found, rejects = load(tmp_path, (data + "\n").encode())
    assert rejects == []
    assert found["m1@x"][:2] == (normalize_addr_spec(raw), [normalize_addr_spec(raw)])


def test_packed_recipients_are_normalised_exactly_as_the_directory_does(tmp_path: Path) -> None:
    raw = ["Kid@X.org", " Mom@Gmail.com\t", "\u00c4RGER@x.de", "kid@x.org", "\u00e4rger@x.de"]
    data = (
        "origin_timestamp_utc,sender_address,recipient_status,message_subject,message_id\n"
        '2026-09-14T13:02:11Z,\u00a0Dana@X.org,"'
        + ";".join(f"{r}##Receive, Deliver" for r in raw)
        + '",x,<m1@x>\n'
    )
    _report, found, _rejects = load(tmp_path, data.encode())
    assert found["m1@x"][:2] == (
        "dana@x.org",
        sorted({normalize_addr_spec(r) for r in raw}),
    )


@pytest.mark.parametrize(
    "raw", ["<m1@x>", "m1@x", " <m1@x> ", "<<m1@x>>", "< m1@x >", "<m1@x", '"<m1@x>"']
)
def test_message_ids_lose_their_brackets_and_spaces(tmp_path: Path, raw: str) -> None:
    data = HEADER + ROW.format(to="b@x.org", subject="x", mid=raw) + "\n"
    data += ROW.format(to="c@x.org", subject="x", mid="<m1@x>") + "\n"
    report, found, _rejects = load(tmp_path, data.encode())
    assert (report.read, list(found), found["m1@x"][1]) == (1, ["m1@x"], ["b@x.org", "c@x.org"])


def test_an_empty_message_id_in_brackets_is_none(tmp_path: Path) -> None:
    data = HEADER + ROW.format(to="b@x.org", subject="x", mid="<>") + "\n"
    _report, found, rejects = load(tmp_path, data.encode())
    assert (found, rejects) == ({}, [("m365-trace:trace.csv#line 2", "no MessageId")])


def test_a_rerun_stores_nothing_twice_and_still_balances(tmp_path: Path) -> None:
    rows = [ROW.format(to="b@x.org", subject="x", mid=f"<m{i}@x>") for i in range(5)]
    rows.append(ROW.format(to="b@x.org", subject="x", mid=""))
    path = tmp_path / "trace.csv"
    path.write_text(HEADER + "\n".join(rows) + "\n", "utf-8")
    layout = lake_path(tmp_path / "home")
    first = ingest("m365-trace", [path], layout=layout, context=IngestContext())
    again = ingest("m365-trace", [path], layout=layout, context=IngestContext(), force=True)
    other = tmp_path / "more.csv"
    other.write_text(HEADER + rows[0] + "\n" + rows[0].replace("<m0@x>", "<m9@x>") + "\n")
    more = ingest("m365-trace", [other], layout=layout, context=IngestContext())
    assert [(r.read, r.stored, r.duplicates, r.quarantined) for r in first + again + more] == [
        (6, 5, 0, 1),
        (6, 0, 5, 1),
        (2, 1, 1, 0),
    ]


line_cells = st.sampled_from(
    ["", "a@x.org", "B@X.org", "<m1@x>", "<m2@x>", "9/14/2026 1:02:11 PM", "x\ny", 'q"t', "a,b"]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(st.one_of(st.none(), st.lists(line_cells, max_size=12)), max_size=12))
def test_every_position_is_a_line_on_which_a_row_starts(rows: list[list[str] | None]) -> None:
    text = io.StringIO()
    out = csv.writer(text, lineterminator="\n")
    out.writerow(HEADER.rstrip("\n").split(","))
    for row in rows:
        if row is None:
            text.write("\n")  # a blank line
        else:
            out.writerow(row)
    reader = csv.reader(io.StringIO(text.getvalue(), newline=""))
    starts, line = set(), 1
    for cells in reader:
        if cells and line > 1:
            starts.add(line)
        line = reader.line_num + 1
    with tempfile.TemporaryDirectory() as folder:
        report, _found, rejects = load(Path(folder), text.getvalue().encode())
        positions = [int(p.rpartition(" ")[2]) for p in refs(Path(folder)).values()]
    positions += [int(position.rpartition(" ")[2]) for position, _reason in rejects]
    assert set(positions) <= starts
    assert len(set(positions)) == len(positions) == report.read
