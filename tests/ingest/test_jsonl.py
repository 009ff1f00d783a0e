"""jsonl: records in Chaperone's normalized shape, from any other system."""

from __future__ import annotations

import codecs
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chaperone.ingest.connectors.jsonl import JsonlConnector
from chaperone.ingest.context import IngestContext
from chaperone.ingest.email_message import read_message
from chaperone.lake.schema import CHANNEL_TYPES, Item, Record, Rejected, stable_id

CONTEXT = IngestContext(region="US", timezone="America/New_York")
EMAIL: dict[str, Any] = {
    "message_id": "<abc123@example.k12.ny.us>",
    "occurred_at": "2026-09-14T13:02:11Z",
    "channel_type": "email",
    "platform": None,
    "sender": "Dana.Ito@Example.k12.ny.us",
    "recipients": ["kid@students.example.k12.ny.us"],
    "subject": "Field trip",
    "has_media": False,
    "source_ref": "mbox:inbox.mbox#412",
}


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


def line(**changes: Any) -> str:
    """The e-mail record above with fields changed (None removes a field)."""
    obj = {**EMAIL, **changes}
    return json.dumps({k: v for k, v in obj.items() if v is not None or k not in changes})


def read(path: Path, data: str | bytes, context: IngestContext = CONTEXT) -> list[Item]:
    path.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return list(JsonlConnector(context).read(path))


def records(items: list[Item]) -> list[Record]:
    assert all(isinstance(i, Record) for i in items), items
    return [i for i in items if isinstance(i, Record)]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            {},
            {
                "record_id": stable_id("email", "abc123@example.k12.ny.us"),
                "message_id": "abc123@example.k12.ny.us",
                "occurred_at": utc(2026, 9, 14, 13, 2, 11),
                "channel_type": "email",
                "platform": None,
                "sender": "dana.ito@example.k12.ny.us",
                "recipients": ("kid@students.example.k12.ny.us",),
                "subject": "Field trip",
                "has_media": False,
                "attachment_count": 0,
                "source_ref": "mbox:inbox.mbox#412",
            },
        ),
        (  # a text from a platform: phone numbers in any notation, platform id in lower case
            {
                "channel_type": "text_message",
                "platform": "ParentSquare",
                "message_id": "SM9",
                "sender": "(914) 555-0142",
                "recipients": ["+1 914 555 0199", "914.555.0199"],
            },
            {
                "sender": "+19145550142",
                "recipients": ("+19145550199",),
                "platform": "parentsquare",
                "message_id": "SM9",
                "record_id": stable_id("jsonl", "text_message", "parentsquare", "SM9"),
            },
        ),
        (  # social handles are platform:handle in lower case, without the @
            {
                "channel_type": "social_message",
                "sender": "Instagram:@CoachSmith",
                "recipients": ["instagram:Kid_2030", " "],
                "has_media": True,
                "subject": None,
            },
            {
                "sender": "instagram:coachsmith",
                "recipients": ("instagram:kid_2030",),
                "has_media": True,
                "attachment_count": 1,
                "subject": None,
            },
        ),
        (  # a public post has no recipients
            {"channel_type": "social_post", "recipients": []},
            {"recipients": ()},
        ),
        (  # no offset: the district's local time (EDT in September)
            {"occurred_at": "2026-09-14T09:02:11"},
            {"occurred_at": utc(2026, 9, 14, 13, 2, 11)},
        ),
        (
            {"occurred_at": "2026-01-14T09:02:11"},
            {"occurred_at": utc(2026, 1, 14, 14, 2, 11)},
        ),
        (
            {
                "sender": '"Ito, Dana" <Dana.Ito@example.k12.ny.us>',
                "recipients": ["tel:+19145550199"],
            },
            {"sender": "dana.ito@example.k12.ny.us", "recipients": ("+19145550199",)},
        ),
        (  # without a source_ref the line is the reference; extra fields are ignored
            {"source_ref": None, "vendor_field": {"x": 1}},
            {"source_ref": "jsonl:records.jsonl#line 1"},
        ),
        (  # a lone surrogate escape cannot be stored: it becomes U+FFFD
            {"subject": "\ud800 trip \ud83d\ude00", "message_id": "<\udcff@x>"},
            {"subject": "\ufffd trip \U0001f600", "message_id": "\ufffd@x"},
        ),
        (
            {"has_media": True, "attachment_count": 3},
            {"has_media": True, "attachment_count": 3},
        ),
    ],
    ids=[
        "email",
        "text",
        "social",
        "post",
        "local-summer",
        "local-winter",
        "display-name",
        "ref",
        "surrogates",
        "count",
    ],
)
def test_lines_become_records(
    tmp_path: Path, changes: dict[str, Any], expected: dict[str, Any]
) -> None:
    [record] = records(read(tmp_path / "records.jsonl", line(**changes) + "\n"))
    assert {name: getattr(record, name) for name in expected} == expected
    assert record.source_kind == "jsonl"


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("not json", "not JSON (Expecting value at column 1)"),
        (
            '{"message_id": "x",',
            "not JSON (Expecting property name enclosed in double quotes at column 20)",
        ),
        ("[1, 2]", "not a JSON object but a list"),
        ('"text"', 'not a JSON object but "text"'),
        ("[" * 100_000, "not JSON (nested too deeply)"),
        (line(channel_type="fax"), 'channel_type: unknown channel type "fax"'),
        (
            line(channel_type=None),
            "channel_type: must be a non-empty string, not null (or missing)",
        ),
        (line(occurred_at=None), "occurred_at: must be a non-empty string, not null (or missing)"),
        (
            line(occurred_at="yesterday"),
            'occurred_at: "yesterday" is not an ISO 8601 date and time',
        ),
        (line(occurred_at=1789000000), "occurred_at: must be a non-empty string, not a number"),
        (line(sender=""), 'sender: must be a non-empty string, not ""'),
        (
            line(sender="nobody"),
            'sender: "nobody" is not an e-mail address, phone number or platform:handle',
        ),
        (
            line(recipients="kid@example.org"),
            'recipients: must be a list of strings, not "kid@example.org"',
        ),
        (
            line(recipients=["kid@example.org", 7]),
            "recipients: must be a list of strings, not a list",
        ),
        (line(recipients=None), "recipients: must be a list of strings, not null (or missing)"),
        (
            line(recipients=["12"]),
            'recipients: "12" is not an e-mail address, phone number or platform:handle',
        ),
        (line(has_media="yes"), 'has_media: must be true or false, not "yes"'),
        (line(message_id=42), "message_id: must be a string or null, not a number"),
        (line(subject=["a"]), "subject: must be a string or null, not a list"),
        (
            line(platform="Parent Square"),
            'platform: "Parent Square" is not a platform id (a-z, 0-9 and -)',
        ),
        (line(attachment_count=-1), "attachment_count: must be a whole number, not a number"),
    ],
)
def test_bad_lines_are_rejected_with_line_and_reason(
    tmp_path: Path, text: str, reason: str
) -> None:
    good = line()
    items = read(
        tmp_path / "records.jsonl", f"{good}\n\n   \n{text}\n{good}\n"
    )  # blank lines count
    assert [type(i).__name__ for i in items] == ["Record", "Rejected", "Record"]
    rejected = items[1]
    assert isinstance(rejected, Rejected)
    assert (rejected.position, rejected.reason) == ("line 4", reason)
    assert rejected.size == len(text.encode()) + 1


def test_a_line_that_is_not_utf8_is_rejected(tmp_path: Path) -> None:
    items = read(tmp_path / "records.jsonl", line().encode() + b'\n{"subject": "Jos\xe9"}\n')
    assert isinstance(items[1], Rejected)
    assert items[1].reason == "not UTF-8 text (invalid continuation byte at byte 17)"


def test_a_line_too_long_is_rejected_unread_and_reading_goes_on(tmp_path: Path) -> None:
    context = IngestContext(region="US", timezone="America/New_York", max_message_bytes=400)
    long = line(subject="x" * 1000)
    items = read(tmp_path / "records.jsonl", f"{long}\n{line()}\n", context)
    assert isinstance(items[0], Rejected)
    assert (items[0].position, items[0].reason, items[0].size) == (
        "line 1",
        "longer than 400 bytes",
        len(long) + 1,
    )
    assert isinstance(items[1], Record)


@pytest.mark.parametrize(
    "encoded",
    [
        codecs.BOM_UTF8 + f"{line()}\n{line(message_id='<m2@x>')}".encode(),
        codecs.BOM_UTF16_LE + f"{line()}\r\n{line(message_id='<m2@x>')}\r\n".encode("utf-16-le"),
    ],
    ids=["utf-8 bom, no final newline", "utf-16 bom crlf"],
)
def test_bom_and_utf16(tmp_path: Path, encoded: bytes) -> None:
    found = records(read(tmp_path / "records.jsonl", encoded))
    assert [r.message_id for r in found] == ["abc123@example.k12.ny.us", "m2@x"]


def test_an_email_has_the_id_the_mail_archive_gives_it(tmp_path: Path) -> None:
    eml = (
        b"From: Dana Ito <Dana.Ito@Example.k12.ny.us>\r\nTo: kid@students.example.k12.ny.us\r\n"
        b"Date: Mon, 14 Sep 2026 09:02:11 -0400\r\nMessage-ID: <abc123@example.k12.ny.us>\r\n"
        b"Subject: Field trip\r\n\r\nThe bus leaves at 8.\r\n"
    )
    archived = read_message(eml, context=CONTEXT, kind="eml", ref="eml:trip.eml#1")
    [record] = records(read(tmp_path / "records.jsonl", line() + "\n"))
    assert isinstance(archived, Record)
    assert record.record_id == archived.record_id


def test_same_message_id_twice_is_one_record_id(tmp_path: Path) -> None:
    texts = [
        line(channel_type="chat", platform="remind", message_id="R1"),
        line(channel_type="chat", platform="remind", message_id="R1", subject="edited"),
        line(channel_type="chat", platform="parentsquare", message_id="R1"),
        line(channel_type="chat", platform="remind", message_id=None),
        line(channel_type="chat", platform="remind", message_id=None),
        line(
            channel_type="chat",
            platform="remind",
            message_id=None,
            occurred_at="2026-09-15T00:00:00Z",
        ),
    ]
    a, b, other_platform, c, d, later = records(read(tmp_path / "records.jsonl", "\n".join(texts)))
    assert a.record_id == b.record_id != other_platform.record_id
    assert c.record_id == d.record_id != later.record_id  # no id: the content is the identity


def test_district_platform_applies_when_the_line_has_none(tmp_path: Path) -> None:
    context = IngestContext(region="US", timezone="America/New_York", platform="google-workspace")
    [record] = records(read(tmp_path / "records.jsonl", line() + "\n", context))
    assert record.platform == "google-workspace"


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=6,
)
ADDRESSES = st.sampled_from(
    ["dana@example.org", "(914) 555-0142", "instagram:@coach", "nobody", ""]
)
OBJECTS = st.fixed_dictionaries(
    {},
    optional={
        "message_id": st.text(max_size=10) | JSON_VALUES,
        "occurred_at": st.sampled_from(
            ["2026-09-14T13:02:11Z", "2026-09-14 09:00", "9999-12-31T23:59:59"]
        )
        | JSON_VALUES,
        "channel_type": st.sampled_from(CHANNEL_TYPES) | JSON_VALUES,
        "platform": st.sampled_from(["remind", "Bad Id", None]) | JSON_VALUES,
        "sender": ADDRESSES | JSON_VALUES,
        "recipients": st.lists(ADDRESSES | st.text(max_size=10), max_size=3) | JSON_VALUES,
        "subject": JSON_VALUES,
        "has_media": JSON_VALUES,
        "attachment_count": JSON_VALUES,
        "source_ref": JSON_VALUES,
    },
)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(lines=st.lists(st.text(max_size=40) | OBJECTS.map(json.dumps), max_size=8))
def test_arbitrary_lines_are_each_a_record_or_rejected(tmp_path: Path, lines: list[str]) -> None:
    path = tmp_path / "fuzz.jsonl"
    path.write_text("\n".join(lines), encoding="utf-8")
    items = list(JsonlConnector(CONTEXT).read(path))
    assert all(isinstance(i, Record | Rejected) for i in items)
    positions = [i.position for i in items if isinstance(i, Rejected)]
    assert len(positions) == len(set(positions))  # the quarantine keys on position
