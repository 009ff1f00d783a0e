"""One RFC 5322 message (bytes) to a normalized record, or to quarantine with the reason.

Headers are parsed by the standard library with its modern policy
(``email.policy.default``), given the header block only; the MIME structure is
scanned by ``mime.scan`` for attachments and images without decoding any body.
Plain address lists are read by a strict fast path that gives what
``email.utils.getaddresses`` gives; anything else goes to ``getaddresses``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections.abc import Sequence
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.parser import BytesHeaderParser
from email.policy import default
from email.utils import getaddresses, parsedate_to_datetime

from chaperone.directory.normalize import normalize_addr_spec
from chaperone.ingest.context import IngestContext
from chaperone.ingest.mime import Limits, Structure, TooComplex, header_block, scan
from chaperone.ingest.record import (
    Item,
    Record,
    Rejected,
    clean_message_id,
    email_id,
    utf8,
)

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
RECIPIENT_HEADERS = ("to", "cc", "bcc")
MAILBOX_HEADERS = ("delivered-to", "x-original-to")
# A plain address list: comma-separated ``addr-spec`` or ``phrase <addr-spec>`` items,
# every word RFC 5322 atext (the phrase may hold dots), with folding white space around
# words and items. No quotes, comments, groups, routes, backslashes or non-ASCII.
_ATEXT = "A-Za-z0-9!#$%&'*+/=?^_`{|}~-"
_DOT_ATOM = rf"[{_ATEXT}]+(?:\.[{_ATEXT}]+)*"
_ADDR_SPEC = rf"{_DOT_ATOM}@{_DOT_ATOM}"
_FWS = r"[ \t\r\n]"
_WORD = rf"[.{_ATEXT}]+"
_PLAIN_ITEM = re.compile(
    rf"{_FWS}*(?:(?:(?:{_WORD}(?:{_FWS}+{_WORD})*{_FWS}*)?<({_ADDR_SPEC})>|({_ADDR_SPEC})){_FWS}*)?"
)


class _HeaderBlock(EmailMessage):
    """A message as ``BytesHeaderParser(policy=default)`` reads it: headers, defects.

    ``FeedParser.close()`` asks for the content type only to flag a multipart
    message without parts, a check a headers-only parse never makes. Answering from
    the raw value spares building the modern Content-Type header object — several
    times the cost of the whole header parse, for a value nothing here reads.
    """

    def get_content_type(self) -> str:
        """The content type from the raw first Content-Type (RFC 2045 §5.2 default)."""
        raw = next((str(v) for k, v in self.raw_items() if k.lower() == "content-type"), None)
        if raw is None:
            return self.get_default_type()
        content_type = raw.partition(";")[0].strip().lower()
        return content_type if content_type.count("/") == 1 else "text/plain"


_PARSER = BytesHeaderParser(_HeaderBlock, policy=default)


def read_message(
    data: bytes,
    *,
    context: IngestContext,
    kind: str,
    ref: str,
    mailbox: bool = False,
    envelope_date: dt.datetime | None = None,
) -> Item:
    """A record of the message, or a Rejected saying why it cannot be one."""
    digest = hashlib.sha256(data).hexdigest()
    rejected = _refuse(data, context, ref, digest)
    if rejected is not None:
        return rejected
    _head_end, body_start = header_block(data)
    message = _PARSER.parsebytes(data[:body_start])  # the header block and its blank line
    headers: dict[str, list[str]] = {}
    for name, value in message.raw_items():
        headers.setdefault(name.lower(), []).append(str(value))
    defects = [type(d).__name__ for d in message.defects]
    sender = _sender(headers)
    if sender is None:
        reason = "not an e-mail message (no headers)" if not headers else "no sender (From)"
        return Rejected(ref, reason, len(data), digest)
    occurred_at = _date(headers, envelope_date, defects)
    if occurred_at is None:
        return Rejected(ref, "no usable date (Date, envelope or Received)", len(data), digest)
    try:
        structure = _structure(data, body_start, headers, context)
    except TooComplex as exc:
        return Rejected(ref, str(exc), len(data), digest)
    names = RECIPIENT_HEADERS + (MAILBOX_HEADERS if mailbox else ())
    recipients = _addresses(headers, names, exclude=())
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


def _refuse(data: bytes, context: IngestContext, ref: str, digest: str) -> Rejected | None:
    if len(data) > context.max_message_bytes:
        return Rejected(ref, f"larger than {context.max_message_bytes} bytes", len(data), digest)
    if data.startswith(OLE_MAGIC):
        return Rejected(
            ref, "an Outlook .msg (OLE compound file), not an RFC 5322 message", len(data), digest
        )
    if not data.strip():
        return Rejected(ref, "empty", len(data), digest)
    return None


def _first(headers: dict[str, list[str]], name: str) -> str | None:
    values = headers.get(name)
    return values[0] if values else None


def _addresses(
    headers: dict[str, list[str]], names: tuple[str, ...], exclude: tuple[str, ...]
) -> tuple[str, ...]:
    values = [v for name in names for v in headers.get(name, [])]
    if not values:
        return ()
    specs = plain_addr_specs(values)
    if specs is None:
        specs = [address for _display, address in getaddresses(values)]
    found: dict[str, None] = {}
    for address in specs:
        normalized = utf8(normalize_addr_spec(address))
        if "@" in normalized and normalized not in exclude:
            found[normalized] = None
    return tuple(found)


def plain_addr_specs(values: Sequence[str]) -> list[str] | None:
    """The addr-specs of address-list header values, when every value is a plain list.

    Plain: comma-separated ``addr-spec`` or ``phrase <addr-spec>`` items of RFC 5322
    atext words (dots allowed in the phrase), folding white space around words and
    items, empty items allowed. For those this is what ``email.utils.getaddresses``
    gives, less its empty entries. Anything else — quotes, comments, groups, routes,
    backslashes, non-ASCII, two addresses without a comma — gives None: ask
    ``getaddresses``.
    """
    found: list[str] = []
    for value in values:
        for item in value.split(","):
            match = _PLAIN_ITEM.fullmatch(item)
            if match is None:
                return None
            spec = match.group(1) or match.group(2)
            if spec:
                found.append(spec)
    return found


def _sender(headers: dict[str, list[str]]) -> str | None:
    for name in ("from", "sender", "return-path"):
        found = _addresses(headers, (name,), exclude=())
        if found:
            return found[0]
    return None


def _date(
    headers: dict[str, list[str]], envelope: dt.datetime | None, defects: list[str]
) -> dt.datetime | None:
    header = _first(headers, "date")
    parsed = _parse_date(header)
    if parsed is not None:
        return parsed
    if header:
        defects.append("UnreadableDate")
    if envelope is not None:
        return envelope
    for received in headers.get("received", []):
        parsed = _parse_date(received.rpartition(";")[2])
        if parsed is not None:
            return parsed
    return None


def _parse_date(raw: str | None) -> dt.datetime | None:
    if not raw or not raw.strip():
        return None
    try:
        parsed = parsedate_to_datetime(raw.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if parsed.tzinfo is None:  # RFC 5322 "-0000": UTC, origin's zone unknown
        parsed = parsed.replace(tzinfo=dt.UTC)
    try:
        return parsed.astimezone(dt.UTC)
    except (OverflowError, ValueError):
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
