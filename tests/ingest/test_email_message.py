"""One RFC 5322 message to a record: parties, date, identity, attachments, and refusals."""

from __future__ import annotations

import datetime as dt
from email.utils import format_datetime, parsedate_to_datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chaperone.ingest.context import IngestContext
from chaperone.ingest.email_message import parse_date, read_message
from chaperone.lake.schema import Record, Rejected
from tests.ingest.messages import message

CONTEXT = IngestContext(region="US", timezone="America/New_York")


def read(data: bytes, **kwargs: object) -> Record | Rejected:
    return read_message(data, context=CONTEXT, kind="eml", ref="eml:t.eml#1", **kwargs)  # type: ignore[arg-type]


def record(data: bytes, **kwargs: object) -> Record:
    item = read(data, **kwargs)
    assert isinstance(item, Record), item
    return item


def test_a_plain_message() -> None:
    r = record(message(cc='"Parent" <Mom@Gmail.com>, kid@students.example.k12.ny.us'))
    assert r.sender == "dana.ito@example.k12.ny.us"
    assert r.recipients == ("kid@students.example.k12.ny.us", "mom@gmail.com")
    assert r.occurred_at == dt.datetime(2026, 9, 14, 13, 2, 11, tzinfo=dt.UTC)
    assert (r.message_id, r.subject, r.channel_type) == (
        "abc123@example.k12.ny.us",
        "Field trip",
        "email",
    )
    assert (r.attachment_count, r.has_media, r.platform) == (0, False, None)


@pytest.mark.parametrize(
    ("kwargs", "attachments", "media"),
    [
        ({"image": True}, 1, True),
        ({"pdf": True}, 1, False),
        ({"image": True, "pdf": True}, 2, True),
    ],
)
def test_attachments_and_images(kwargs: dict[str, bool], attachments: int, media: bool) -> None:
    r = record(message(**kwargs))
    assert (r.attachment_count, r.has_media) == (attachments, media)


def test_an_image_inside_a_forwarded_message_counts() -> None:
    inner = message(image=True, message_id="<inner@x>")
    outer = (
        b"From: a@example.k12.ny.us\r\nTo: b@example.k12.ny.us\r\nDate: Mon, 14 Sep 2026 09:00:00 -0400\r\n"
        b'Content-Type: multipart/mixed; boundary="XX"\r\n\r\n'
        b"--XX\r\nContent-Type: text/plain\r\n\r\nsee below\r\n"
        b"--XX\r\nContent-Type: message/rfc822\r\n\r\n" + inner + b"\r\n--XX--\r\n"
    )
    assert record(outer).has_media is True


def test_encoded_subjects_are_decoded() -> None:
    r = record(message(subject="Caf\u00e9 \u2615 night"))
    assert r.subject == "Caf\u00e9 \u2615 night"


def test_the_same_message_id_is_the_same_record() -> None:
    a = record(message(extra={"Received": "from x; Mon, 14 Sep 2026 13:02:12 +0000"}))
    b = record(message(to="other@example.k12.ny.us"))
    assert a.record_id == b.record_id


def test_without_message_id_the_body_keeps_messages_apart() -> None:
    plain = message(message_id=None)
    other = plain.replace(b"The bus leaves at 8.", b"The bus leaves at 9.")
    assert record(plain).record_id != record(other).record_id
    assert record(plain).record_id == record(plain).record_id


def test_delivered_to_counts_only_for_mailbox_exports() -> None:
    data = message(extra={"Delivered-To": "Coach@Gmail.com"})
    assert "coach@gmail.com" not in record(data).recipients
    assert "coach@gmail.com" in record(data, mailbox=True).recipients


def test_a_missing_date_falls_back_to_the_envelope_then_received() -> None:
    envelope = dt.datetime(2026, 9, 1, 12, 0, tzinfo=dt.UTC)
    assert record(message(date=None), envelope_date=envelope).occurred_at == envelope
    received = message(date=None, extra={"Received": "by mx; Tue, 15 Sep 2026 10:00:00 +0000"})
    assert record(received).occurred_at == dt.datetime(2026, 9, 15, 10, tzinfo=dt.UTC)
    someday = message().replace(b"Date: Mon, 14 Sep 2026 09:02:11 -0400", b"Date: someday")
    broken = record(someday, envelope_date=envelope)
    assert broken.occurred_at == envelope
    assert "UnreadableDate" in broken.defects
    line = b"From MAILER-DAEMON Tue Sep  1 12:00:00 2026\n"
    assert record(message(date=None), envelope_line=line).occurred_at == envelope
    assert record(message(), envelope_line=line).occurred_at.day == 14


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (message(sender=""), "no sender (From)"),
        (message(date=None), "no usable date (Date, envelope or Received)"),
        (b"", "empty"),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100,
            "an Outlook .msg (OLE compound file), not an RFC 5322 message",
        ),
        (b"just some text\nwith lines\n", "not an e-mail message (no headers)"),
    ],
    ids=["no sender", "no date", "empty", "outlook msg", "not email"],
)
def test_refusals_say_why(data: bytes, reason: str) -> None:
    item = read(data)
    assert isinstance(item, Rejected)
    assert item.reason == reason


def test_size_nesting_and_part_limits() -> None:
    small = IngestContext(max_message_bytes=100)
    big = read_message(message(), context=small, kind="eml", ref="x")
    assert isinstance(big, Rejected) and big.reason == "larger than 100 bytes"
    nested = message(image=True)
    for level in range(5):
        nested = (
            f"From: a{level}@x.org\r\nTo: b@x.org\r\nDate: Mon, 14 Sep 2026 09:00:00 -0400\r\n"
            "Content-Type: message/rfc822\r\n\r\n"
        ).encode() + nested
    shallow = read_message(nested, context=IngestContext(max_nesting=3), kind="eml", ref="x")
    assert isinstance(shallow, Rejected) and shallow.reason == "MIME nesting deeper than 3 levels"
    assert isinstance(read_message(nested, context=IngestContext(), kind="eml", ref="x"), Record)
    parts = b"".join(b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n" for _ in range(30))
    many = (
        b"From: a@x.org\r\nDate: Mon, 14 Sep 2026 09:00:00 -0400\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n' + parts + b"--B--\r\n"
    )
    bomb = read_message(many, context=IngestContext(max_parts=10), kind="eml", ref="x")
    assert isinstance(bomb, Rejected) and bomb.reason == "more than 10 MIME parts"


def test_broken_structure_is_recorded_not_fatal() -> None:
    data = (
        b"From: a@x.org\r\nTo: b@x.org\r\nDate: Mon, 14 Sep 2026 09:00:00 -0400\r\n"
        b'Content-Type: multipart/mixed; boundary="B"\r\n\r\n--B\r\n'
        b'Content-Type: image/jpeg; name="a.jpg"\r\n\r\nxx\r\n'
    )
    r = record(data)
    assert r.has_media and "CloseBoundaryNotFound" in r.defects
    no_boundary = record(data.replace(b'; boundary="B"', b""))
    assert "NoBoundaryInMultipart" in no_boundary.defects


def reference_date(raw: str) -> dt.datetime | None:
    """What ``parsedate_to_datetime`` reads, in UTC (no zone: UTC); None when it cannot."""
    try:
        parsed = parsedate_to_datetime(raw.strip())
        return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None


@pytest.mark.parametrize(
    "raw",
    [
        "Mon, 14 Sep 2026 09:02:11 -0400",
        "14 Sep 2026 09:02:11 +0000",
        "Mon, 14 Sep 2026 09:02:11 -0000",
        " Tue, 1 Sep 2026 23:59:59 +0530 ",
        "Mon, 14 Sep 2026 09:02:11 -0400 (EDT)",
        "Mon, 14 Sep 0099 09:02:11 -0400",
        "Mon, 14 Sep 26 09:02:11 -0400",
        "Mon, 30 Feb 2026 09:02:11 -0400",
        "Mon, 14 Sep 2026 24:02:11 -0400",
        "Mon, 14 Sep 2026 09:02:60 -0400",
        "Mon, 14 Sep 2026 09:02:11 +2400",
        "Mon, 14 Sep 2026 09:02:11 +0099",
        "Mon, 14 Sep 9999 23:59:59 -1200",
        "Mon, 14 Sep 1000 00:00:00 +1200",
        "Mon, \u0661\u0664 Sep 2026 09:02:11 -0400",
        "Mon, 14 Sep 2026 09:02 -0400",
        "yesterday",
    ],
)
def test_dates_read_as_parsedate_to_datetime_reads_them(raw: str) -> None:
    assert parse_date(raw) == reference_date(raw)


@settings(max_examples=500, deadline=None)
@given(
    when=st.datetimes(
        min_value=dt.datetime(1000, 1, 2),
        max_value=dt.datetime(9999, 12, 30),
        timezones=st.builds(lambda m: dt.timezone(dt.timedelta(minutes=m)), st.integers(-1439, 1439)),
    )
)
def test_formatted_dates_read_back(when: dt.datetime) -> None:
    raw = format_datetime(when.replace(microsecond=0))
    assert parse_date(raw) == reference_date(raw) == when.replace(microsecond=0)
