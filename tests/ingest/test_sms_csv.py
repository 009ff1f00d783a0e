"""sms-csv: a carrier's or phone system's text, voicemail and call log becomes records."""

from __future__ import annotations

import codecs
import csv
import datetime as dt
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.common.csvfile import CsvTable
from chaperone.common.problems import InputError
from chaperone.ingest.connectors.sms_csv import REQUIRED, SmsCsvConnector
from chaperone.ingest.context import IngestContext
from chaperone.lake.schema import Item, Record, Rejected, stable_id

COLUMNS = ("occurred_at", "from", "to", "type", "platform", "message_id", "has_media")
HEADER = ",".join(COLUMNS) + "\n"
GOOD = "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,,,false\n"
CONTEXT = IngestContext(region="US", timezone="America/New_York")


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def read(path: Path, data: str | bytes, context: IngestContext = CONTEXT) -> list[Item]:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return list(SmsCsvConnector(context).read(path))


def records(items: list[Item]) -> list[Record]:
    assert all(isinstance(i, Record) for i in items), items
    return [i for i in items if isinstance(i, Record)]


def fields(record: Record, expected: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in expected}


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "2026-09-14T13:02:11Z,(914) 555-0142,914.555.0199,text_message,,,false",
            {
                "occurred_at": utc(2026, 9, 14, 13, 2, 11),
                "sender": "+19145550142",
                "recipients": ("+19145550199",),
                "channel_type": "text_message",
                "platform": None,
                "message_id": None,
                "subject": None,
                "has_media": False,
                "attachment_count": 0,
            },
        ),
        (  # several recipients, any notation, a trailing ; and a repeat
            "2026-09-14T13:02:11Z,+1 914 555 0142,+1 914 555 0199; 914-555-0100 ;9145550199;,text_message,,,",
            {"recipients": ("+19145550199", "+19145550100")},
        ),
        (  # a text with media is image sharing
            "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,,,TRUE",
            {"channel_type": "image_sharing", "has_media": True, "attachment_count": 1},
        ),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,voicemail,,,no",
            {"channel_type": "voicemail", "has_media": False},
        ),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,Call,,,0",
            {"channel_type": "call"},
        ),
        (  # a platform's own log: platform id and message id kept
            "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,ParentSquare,SM123,",
            {
                "platform": "parentsquare",
                "message_id": "SM123",
                "record_id": stable_id("sms", "parentsquare", "SM123"),
            },
        ),
        (  # a number from another country keeps its country code
            "2026-09-14T13:02:11Z,+44 20 7946 0958,9145550199,call,,,",
            {"sender": "+442079460958"},
        ),
    ],
    ids=["text", "recipients", "media", "voicemail", "call", "platform", "foreign"],
)
def test_rows_become_records(tmp_path: Path, row: str, expected: dict[str, Any]) -> None:
    [record] = records(read(tmp_path / "texts.csv", HEADER + row + "\n"))
    assert fields(record, expected) == expected
    assert record.source_kind == "sms-csv"
    assert record.source_ref == "sms-csv:texts.csv#line 2"


@pytest.mark.parametrize(
    ("occurred_at", "expected"),
    [
        ("2026-01-15T08:00:00", utc(2026, 1, 15, 13, 0)),  # EST, UTC-5
        ("2026-07-15T08:00:00", utc(2026, 7, 15, 12, 0)),  # EDT, UTC-4
        ("2026-03-08T01:30:00", utc(2026, 3, 8, 6, 30)),  # the night clocks go forward
        ("2026-03-08T03:30:00", utc(2026, 3, 8, 7, 30)),
        ("2026-11-01T01:30:00", utc(2026, 11, 1, 5, 30)),  # happens twice: the first (EDT)
        ("2026-11-01T02:30:00", utc(2026, 11, 1, 7, 30)),
        ("2026-09-14 13:02:11", utc(2026, 9, 14, 17, 2, 11)),
        ("2026-09-14T13:02:11+02:00", utc(2026, 9, 14, 11, 2, 11)),  # an offset is respected
        ("2026-09-14T13:02:11.250Z", utc(2026, 9, 14, 13, 2, 11) + dt.timedelta(milliseconds=250)),
    ],
)
def test_time_without_offset_is_district_local(
    tmp_path: Path, occurred_at: str, expected: dt.datetime
) -> None:
    row = f"{occurred_at},9145550142,9145550199,call,,,\n"
    [record] = records(read(tmp_path / "calls.csv", HEADER + row))
    assert record.occurred_at == expected


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        (
            "yesterday,9145550142,9145550199,call,,,",
            'occurred_at: "yesterday" is not an ISO 8601 date and time',
        ),
        (
            "09/14/2026 1:02 PM,9145550142,9145550199,call,,,",
            'occurred_at: "09/14/2026 1:02 PM" is not an ISO 8601 date and time',
        ),
        (
            "2026-09-14,9145550142,9145550199,call,,,",
            'occurred_at: "2026-09-14" has a date but no time of day',
        ),
        (",9145550142,9145550199,call,,,", "occurred_at: empty"),
        ("2026-09-14T13:02:11Z,abc,9145550199,call,,,", 'from: invalid phone number "abc"'),
        (
            "2026-09-14T13:02:11Z,72975,9145550199,text_message,,,",
            'from: invalid phone number "72975"',
        ),  # short codes too
        ("2026-09-14T13:02:11Z,,9145550199,call,,,", "from: empty"),
        ("2026-09-14T13:02:11Z,9145550142,,call,,,", "to: empty"),
        ("2026-09-14T13:02:11Z,9145550142, ; ,call,,,", "to: empty"),
        ("2026-09-14T13:02:11Z,9145550142,9145550199;12,call,,,", 'to: invalid phone number "12"'),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,sms,,,",
            'type: unknown type "sms" (text_message, voicemail, call)',
        ),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,,,,",
            'type: unknown type "" (text_message, voicemail, call)',
        ),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,,,maybe",
            'has_media: "maybe" is not true or false',
        ),
        (
            "2026-09-14T13:02:11Z,9145550142,9145550199,call,Parent Square,,",
            'platform: "Parent Square" is not a platform id (a-z, 0-9 and -)',
        ),
        ("2026-09-14T13:02:11Z,9145550142", "to: empty"),  # a short row
    ],
)
def test_bad_rows_are_rejected_with_line_and_reason(tmp_path: Path, row: str, reason: str) -> None:
    text = HEADER + GOOD + "\n" + row + "\n" + GOOD  # the blank line 3 still counts
    items = read(tmp_path / "texts.csv", text)
    assert [type(i).__name__ for i in items] == ["Record", "Rejected", "Record"]
    assert items[1] == Rejected("line 4", reason)


def test_a_row_is_located_by_the_line_it_starts_on(tmp_path: Path) -> None:
    text = (
        HEADER
        + '2026-09-14T13:02:11Z,9145550142,"9145550199;\n9145550100",call,,,\nnot a date,1,2,call,,,\n'
    )
    items = read(tmp_path / "texts.csv", text)
    assert isinstance(items[0], Record)
    assert items[0].recipients == ("+19145550199", "+19145550100")
    assert isinstance(items[1], Rejected)
    assert items[1].position == "line 4"


def test_an_unclosed_quote_running_past_the_field_limit_rejects_the_rest(tmp_path: Path) -> None:
    text = HEADER + GOOD + '2026-09-14T13:02:11Z,"9145550142\n' + "x" * 200_000 + "\n" + GOOD
    items = read(tmp_path / "texts.csv", text)
    assert isinstance(items[0], Record)
    assert isinstance(items[1], Rejected)
    assert items[1].position == "line 3"
    assert items[1].reason.startswith("unreadable CSV from here to the end (field larger than")
    assert len(items) == 2


TEXT = HEADER + GOOD + "2026-09-14T09:00:00,9145550142,9145550199;9145550100,text_message,,,true\n"


@pytest.mark.parametrize(
    "encoded",
    [
        TEXT.encode("utf-8"),
        codecs.BOM_UTF8 + TEXT.encode("utf-8"),
        codecs.BOM_UTF16_LE + TEXT.encode("utf-16-le"),
        codecs.BOM_UTF16_BE + TEXT.replace("\n", "\r\n").encode("utf-16-be"),
        TEXT.replace("\n", "\r\n").encode("utf-8"),
    ],
    ids=["utf-8", "utf-8 bom", "utf-16 le bom", "utf-16 be bom crlf", "crlf"],
)
def test_encodings_read_alike(tmp_path: Path, encoded: bytes) -> None:
    found = records(read(tmp_path / "texts.csv", encoded))
    assert [(r.occurred_at, r.channel_type, r.recipients) for r in found] == [
        (utc(2026, 9, 14, 13, 2, 11), "text_message", ("+19145550199",)),
        (utc(2026, 9, 14, 13, 0), "image_sharing", ("+19145550199", "+19145550100")),
    ]


def test_columns_by_name_in_any_order_optional_ones_may_be_absent(tmp_path: Path) -> None:
    text = (
        "note,type,to,from,occurred_at\nhi,voicemail,9145550199,9145550142,2026-09-14T13:02:11Z\n"
    )
    [record] = records(read(tmp_path / "texts.csv", text))
    assert (record.channel_type, record.sender, record.has_media) == (
        "voicemail",
        "+19145550142",
        False,
    )


def test_missing_required_column_fails_the_file_naming_it(tmp_path: Path) -> None:
    with pytest.raises(InputError) as raised:
        read(tmp_path / "texts.csv", "occurred_at,sender,to,kind\n" + GOOD)
    assert [str(p) for p in raised.value.problems] == [
        'texts.csv:1: missing column "from"',
        'texts.csv:1: missing column "type"',
    ]


def test_empty_file_fails_naming_every_column(tmp_path: Path) -> None:
    with pytest.raises(InputError, match='missing column "occurred_at"'):
        read(tmp_path / "texts.csv", b"")


def test_broken_utf16_fails_the_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not UTF-16"):
        read(tmp_path / "texts.csv", codecs.BOM_UTF16_LE + b"\x00\xd8a\x00")


def test_same_message_twice_gets_one_record_id(tmp_path: Path) -> None:
    base = "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,parentsquare,SM1,\n"
    again = "2026-09-14T13:02:12Z,(914) 555-0142,9145550199,text_message,parentsquare,SM1,\n"
    other = "2026-09-14T13:02:11Z,9145550142,9145550199,text_message,remind,SM1,\n"
    first, second, third = records(read(tmp_path / "texts.csv", HEADER + base + again + other))
    assert first.record_id == second.record_id
    assert third.record_id != first.record_id  # another platform's SM1 is another message


def test_without_message_id_the_content_is_the_identity(tmp_path: Path) -> None:
    rows = [
        "2026-09-14T09:02:11,9145550142,9145550199;9145550100,text_message,,,\n",
        "2026-09-14T13:02:11Z,914-555-0142,9145550100;9145550199,text_message,,,\n",  # same
        "2026-09-14T13:02:11Z,9145550142,9145550199;9145550100,call,,,\n",  # a call, not a text
    ]
    first, second, third = records(read(tmp_path / "texts.csv", HEADER + "".join(rows)))
    assert first.record_id == second.record_id
    assert third.record_id != first.record_id


def test_district_platform_applies_when_the_row_has_none(tmp_path: Path) -> None:
    context = IngestContext(region="US", timezone="America/New_York", platform="district-pbx")
    [record] = records(read(tmp_path / "calls.csv", HEADER + GOOD, context))
    assert record.platform == "district-pbx"


FUZZ = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@FUZZ
@given(rows=st.lists(st.lists(st.text(max_size=20), max_size=9), max_size=8))
def test_arbitrary_rows_are_each_a_record_or_rejected(
    tmp_path: Path, rows: list[list[str]]
) -> None:
    path = tmp_path / "fuzz.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        writer.writerows(rows)
    items = list(SmsCsvConnector(CONTEXT).read(path))
    assert all(isinstance(i, Record | Rejected) for i in items)
    assert len(items) == sum(1 for row in rows if any(cell.strip() for cell in row))
    positions = [i.position for i in items if isinstance(i, Rejected)]
    assert len(positions) == len(set(positions))  # the quarantine keys on position


@FUZZ
@given(header=st.one_of(st.just(HEADER), st.text(max_size=60)), body=st.text(max_size=200))
def test_arbitrary_text_fails_only_for_a_wrong_header(
    tmp_path: Path, header: str, body: str
) -> None:
    path = tmp_path / "fuzz.csv"
    path.write_text(header + body, encoding="utf-8")
    header_ok = set(REQUIRED) <= set(CsvTable.read(path).columns)
    try:
        items = list(SmsCsvConnector(CONTEXT).read(path))
    except InputError:
        assert not header_ok
    else:
        assert header_ok
        assert all(isinstance(i, Record | Rejected) for i in items)
