"""One RFC 5322 message (bytes) to a normalized record, or to quarantine with the reason.

Headers are read as the standard library's header-only parse with its modern policy
(``email.policy.default``) reads them (``headers.read_headers``); the MIME structure is
scanned by ``mime.scan`` for attachments and images without decoding any body.
Address lists are read by ``addresses.normalized_addresses``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from email.header import decode_header, make_header
from email.utils import parsedate_to_datetime

from chaperone.ingest.addresses import address_defects, normalized_addresses
from chaperone.ingest.context import IngestContext
from chaperone.ingest.headers import read_headers
from chaperone.ingest.mime import Limits, Structure, TooComplex, header_block, scan
from chaperone.ingest.record import clean_message_id, email_id, utf8
from chaperone.lake.schema import Item, Record, Rejected

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_WEEKDAYS = frozenset(("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"))
_MONTHS = {
    name: number
    for number, name in enumerate(
        ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), 1
    )
}
# The usual RFC 5322 date (a four-digit year from 1000: parsedate_tz moves 0-99 a century).
_USUAL_DATE = re.compile(
    r"(?:(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), )?(\d{1,2}) "
    r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([1-9]\d{3}) "
    r"(\d\d):(\d\d):(\d\d) ([+-])(\d\d)(\d\d)",
    re.ASCII,
)
RECIPIENT_HEADERS = ("to", "cc", "bcc")
MAILBOX_HEADERS = ("delivered-to", "x-original-to")


def read_message(
    data: bytes,
    *,
    context: IngestContext,
    kind: str,
    ref: str,
    mailbox: bool = False,
    envelope_date: dt.datetime | None = None,
    envelope_line: bytes = b"",
) -> Item:
    """A record of the message, or a Rejected saying why it cannot be one.

    The envelope's date (``envelope_date``, or the date of the mbox ``From `` line
    ``envelope_line``, read only then) stands in when the Date header does not.
    Whatever the message's shape, this returns: a message the reader itself fails on
    (a bug, a limit of the standard library) is quarantined with what went wrong, so
    one message never stops a mailbox.
    """
    try:
        return _read_message(
            data,
            context=context,
            kind=kind,
            ref=ref,
            mailbox=mailbox,
            envelope_date=envelope_date,
            envelope_line=envelope_line,
        )
    except (RecursionError, MemoryError) as exc:
        return _rejected(ref, f"too complex to read ({type(exc).__name__})", data)
    except Exception as exc:  # any failure of one message is that message's alone
        return _rejected(ref, f"could not be read ({type(exc).__name__}: {exc})"[:500], data)


def _read_message(
    data: bytes,
    *,
    context: IngestContext,
    kind: str,
    ref: str,
    mailbox: bool,
    envelope_date: dt.datetime | None,
    envelope_line: bytes,
) -> Item:
    refusal = _refusal(data, context)
    if refusal is not None:
        return _rejected(ref, refusal, data)
    _head_end, body_start = header_block(data)
    fields, defects = read_headers(data[:body_start])  # the header block and its blank line
    headers: dict[str, list[str]] = {}
    for name, value in fields:
        headers.setdefault(name.lower(), []).append(value)
    sender = _sender(headers, defects)
    if sender is None:
        reason = "not an e-mail message (no headers)" if not headers else "no sender (From)"
        return _rejected(ref, reason, data)
    occurred_at = _date(headers, envelope_date, envelope_line, defects)
    if occurred_at is None:
        return _rejected(ref, "no usable date (Date, envelope or Received)", data)
    try:
        structure = _structure(data, body_start, headers, context)
    except TooComplex as exc:
        return _rejected(ref, str(exc), data)
    names = RECIPIENT_HEADERS + (MAILBOX_HEADERS if mailbox else ())
    recipients = _addresses(headers, names, defects)
    message_id = clean_message_id(utf8(_first(headers, "message-id") or ""))
    subject = _subject(_first(headers, "subject"))
    body_digest = "" if message_id else hashlib.sha256(data[body_start:]).hexdigest()
    return Record(
        record_id=email_id(message_id, sender, recipients, occurred_at, subject, body_digest),
        message_id=message_id,
        occurred_at=occurred_at,
        channel_type="email",
        platform=context.platform,
        sender=sender,
        recipients=recipients,
        subject=subject,
        has_media=structure.has_image,
        attachment_count=structure.attachments,
        source_kind=kind,
        source_ref=ref,
        defects=tuple(dict.fromkeys(defects + structure.defects)),
    )


def _refusal(data: bytes, context: IngestContext) -> str | None:
    """Why the data is refused before its headers are read, if it is."""
    if len(data) > context.max_message_bytes:
        return f"larger than {context.max_message_bytes} bytes"
    if data.startswith(OLE_MAGIC):
        return "an Outlook .msg (OLE compound file), not an RFC 5322 message"
    if not data or data.isspace():  # what strip() leaves empty, without copying the data
        return "empty"
    return None


def _rejected(ref: str, reason: str, data: bytes) -> Rejected:
    """Quarantine, with the size and checksum (only a refused message needs them)."""
    return Rejected(ref, reason, len(data), hashlib.sha256(data).hexdigest())


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _addresses(
    headers: dict[str, list[str]], names: tuple[str, ...], defects: list[str]
) -> tuple[str, ...]:
    values: list[str] = []
    for name in names:
        found = headers.get(name)
        if found:
            values += found
    if not values:
        return ()
    defects += address_defects(tuple(values))
    return normalized_addresses(tuple(values))


def _sender(headers: dict[str, list[str]], defects: list[str]) -> str | None:
    for name in ("from", "sender", "return-path"):
        found = _addresses(headers, (name,), defects)
        if found:
            return found[0]
    return None


def _date(
    headers: dict[str, list[str]],
    envelope: dt.datetime | None,
    envelope_line: bytes,
    defects: list[str],
) -> dt.datetime | None:
    header = _first(headers, "date")
    parsed = parse_date(header)
    if parsed is not None:
        return parsed
    if header:
        defects.append("UnreadableDate")
    if envelope is None and envelope_line:
        envelope = from_line_date(envelope_line)
    if envelope is not None:
        return envelope
    for received in headers.get("received", []):
        parsed = parse_date(received.rpartition(";")[2])
        if parsed is not None:
            return parsed
    return None


def parse_date(raw: str | None) -> dt.datetime | None:
    """A Date header value in UTC, as ``parsedate_to_datetime`` reads it; None if unreadable."""
    if not raw or not raw.strip():
        return None
    text = raw.strip()
    usual = _usual_date(text)
    if usual is not None:
        return usual
    try:
        parsed = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": UTC, origin's zone unknown
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
        return None


def _usual_date(text: str) -> dt.datetime | None:
    """``Mon, 14 Sep 2026 09:02:11 -0400`` as ``parsedate_to_datetime`` reads it, in UTC."""
    match = _USUAL_DATE.fullmatch(text)
    if match is None:
        return None
    day, month, year, hour, minute, second, sign, zone_hours, zone_minutes = match.groups()
    offset = int(zone_hours) * 3600 + int(zone_minutes) * 60
    if offset >= 86_400:  # no such zone: the general path decides
        return None
    try:
        local = dt.datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=dt.UTC
        )
        return local - dt.timedelta(seconds=-offset if sign == "-" else offset)
    except (ValueError, OverflowError):  # out of range: the general path decides
        return None


def _subject(raw: str | None) -> str | None:
    if raw is None:
        return None
    if "=?" not in raw:
        return utf8(raw.strip())
    try:
        return utf8(str(make_header(decode_header(raw))).strip())
    except (LookupError, UnicodeError, ValueError, AssertionError):
        return utf8(raw.strip())


def _structure(
    data: bytes, body_start: int, headers: dict[str, list[str]], context: IngestContext
) -> Structure:
    content_type = _first(headers, "content-type") or "text/plain"
    if "multipart" not in content_type.lower() and "rfc822" not in content_type.lower():
        return Structure()
    limits = Limits(depth=context.max_nesting, parts=context.max_parts)
    return scan(content_type, data[body_start:], limits=limits)


def from_line_date(line: bytes) -> dt.datetime | None:
    """The date of an mbox ``From sender Tue Sep 14 13:02:11 2026`` line, taken as UTC."""
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 3:
        return None
    words = parts[2].split()[-5:]
    value = _asctime(words)
    if value is None:
        try:
            value = dt.datetime.strptime(" ".join(words), "%a %b %d %H:%M:%S %Y")
        except ValueError:
            try:
                return parsedate_to_datetime(parts[2]).astimezone(dt.UTC)
            except (TypeError, ValueError, IndexError):
                return None
    return value.replace(tzinfo=dt.UTC)


def _asctime(words: list[str]) -> dt.datetime | None:
    """``Tue Sep 14 13:02:11 2026`` as strptime reads it, for that usual spelling only."""
    if len(words) != 5 or words[0] not in _WEEKDAYS:
        return None
    _weekday, month, day, time, year = words
    if (
        month not in _MONTHS
        or not (day.isdigit() and len(day) <= 2)
        or not (len(time) == 8 and time[2] == time[5] == ":")
        or not (time[:2] + time[3:5] + time[6:]).isdigit()
        or not (year.isdigit() and len(year) == 4)
    ):
        return None
    try:
        return dt.datetime(
            int(year), _MONTHS[month], int(day), int(time[:2]), int(time[3:5]), int(time[6:])
        )
    except ValueError:
        return None
