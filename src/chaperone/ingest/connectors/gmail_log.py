"""``gmail-log``: Google Workspace Gmail logs exported from BigQuery as JSON lines.

Each line is one log event (schema: Google's "Schema for Gmail logs in BigQuery"). A
message leaves several events — sent, then received once per recipient — and every one
becomes a record with the same ``record_id`` (from its Message-ID), so the lake stores
the message once. The export may nest objects (``{"message_info": {"source": ...}}``) or
flatten them into dotted keys (``"message_info.source.address"``); both are read.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chaperone.common.addresses import normalize_email
from chaperone.ingest.jsonlines import JsonLinesConnector, Line, clean, describe
from chaperone.ingest.record import clean_message_id, email_id
from chaperone.lake.schema import Record

IMAGE_EXTENSIONS = frozenset(
    {"jpg", "jpeg", "png", "gif", "heic", "heif", "webp", "bmp", "tif", "tiff"}
)
# The newer "Workspace logs and reports" export keeps the same fields under ``gmail``.
PREFIXES = ("", "gmail.")
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_INTEGER = re.compile(r"^\s*-?[0-9]{1,20}\s*$")
_INT32 = 2**31 - 1


class GmailLogConnector(JsonLinesConnector):
    """Reads Gmail log events: who sent mail to whom, when, and whether it carried images."""

    kind = "gmail-log"
    description = "Google Workspace Gmail logs exported from BigQuery as JSON lines"

    def record(self, source: Path, line: Line, event: dict[str, object]) -> Record:
        occurred_at = _timestamp(find(event, "event_info.timestamp_usec"))
        sender = _sender(find(event, "message_info.source.address"))
        recipients = _destinations(event)
        message_id = clean_message_id(_text(find(event, "message_info.rfc2822_message_id")))
        subject = _text(find(event, "message_info.subject"))
        attachments = _attachments(find(event, "message_info.attachment"))
        has_media = any(_is_image(a) for a in attachments)
        return Record(
            record_id=email_id(message_id, sender, recipients, occurred_at, subject),
            message_id=message_id,
            occurred_at=occurred_at,
            channel_type="email",
            platform=self.context.platform,
            sender=sender,
            recipients=recipients,
            subject=subject,
            has_media=has_media,
            attachment_count=_count(
                find(event, "message_info.num_message_attachments"), attachments
            ),
            source_kind=self.kind,
            source_ref=self.ref(source, line.position),
        )


def find(event: dict[str, object], path: str) -> object:
    """The value at a dotted path, whether the export nests objects or flattens keys."""
    for prefix in PREFIXES:
        found = _lookup(event, (prefix + path).split("."))
        if found is not None:
            return found
    return None


def _lookup(value: object, parts: list[str]) -> object:
    if not parts:
        return value
    if not isinstance(value, dict):
        return None
    for cut in range(len(parts), 0, -1):  # the longest dotted key first: "a.b" before "a"
        key = ".".join(parts[:cut])
        if key in value:
            found = _lookup(value[key], parts[cut:])
            if found is not None:
                return found
    return None


def _timestamp(value: object) -> dt.datetime:
    """``timestamp_usec``: microseconds since 1970 (BigQuery writes INT64 as a string)."""
    if value is None:
        raise ValueError("no time (event_info.timestamp_usec)")
    usec = _integer(value)
    if usec is None:
        raise ValueError(f"event_info.timestamp_usec: {describe(value)} is not microseconds")
    try:
        return EPOCH + dt.timedelta(microseconds=usec)
    except OverflowError as exc:
        raise ValueError(f"event_info.timestamp_usec: {usec} is out of range") from exc


def _sender(value: object) -> str:
    address = normalize_email(clean(value)) if isinstance(value, str) else ""
    if not address:
        raise ValueError("no sender (message_info.source.address)")
    return address


def _destinations(event: dict[str, object]) -> tuple[str, ...]:
    """Every ``destination[].address``; flattened exports may give a list of addresses."""
    value = find(event, "message_info.destination")
    if value is None:
        value = find(event, "message_info.destination.address")
    items = value if isinstance(value, list) else [value]
    found: dict[str, None] = {}
    for item in items:
        raw = _lookup(item, ["address"]) if isinstance(item, dict) else item
        if isinstance(raw, str) and raw.strip():
            found[normalize_email(clean(raw))] = None
    return tuple(found)


def _attachments(value: object) -> list[dict[str, object]]:
    items = value if isinstance(value, list) else [value]
    return [item for item in items if isinstance(item, dict)]


def _is_image(attachment: dict[str, object]) -> bool:
    """An image by extension (``file_extension_type``, or the file name) or MIME type."""
    name = _text(attachment.get("file_name")) or ""
    extension = (
        _text(attachment.get("file_extension_type"))
        or _text(attachment.get("file_extension"))
        or (name.rpartition(".")[2] if "." in name else "")
    )
    mime = _text(attachment.get("content_type")) or _text(attachment.get("mime_type")) or ""
    return extension.lower().lstrip(".") in IMAGE_EXTENSIONS or mime.lower().strip().startswith(
        "image/"
    )


def _count(value: object, attachments: list[dict[str, object]]) -> int:
    """``num_message_attachments`` when the event has it, else the attachments listed."""
    number = _integer(value)
    if number is None or number < 0:
        return len(attachments)
    return min(number, _INT32)


def _integer(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INTEGER.match(value):
        return int(value)
    return None


def _text(value: object) -> str | None:
    return clean(value) if isinstance(value, str) and value.strip() else None
