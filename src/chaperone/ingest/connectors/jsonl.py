"""``jsonl``: normalized communication records from any other system, one JSON object a line.

The shape is Chaperone's own record (docs/sources/jsonl.md); lines are read by
``chaperone.ingest.jsonlines``, shared with the other JSON-lines connectors.
"""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

from chaperone.common.addresses import normalize_email, normalize_social
from chaperone.ingest.context import IngestContext
from chaperone.ingest.fields import local_time, platform_id
from chaperone.ingest.jsonlines import JsonLinesConnector, Line, clean, describe
from chaperone.ingest.record import clean_message_id, email_id
from chaperone.lake.schema import CHANNEL_TYPES, Record, stable_id

_SOCIAL = re.compile(r"^([a-z0-9][a-z0-9-]*):@?([^\s@:/]+)$", re.IGNORECASE | re.ASCII)


_PHONE_SCHEMES = ("tel", "sms")


class JsonlConnector(JsonLinesConnector):
    """Reads records in Chaperone's normalized shape, e.g. from a platform's own export."""

    kind = "jsonl"
    description = "Normalized communication records, one JSON object a line, from any system"

    def record(self, source: Path, line: Line, obj: dict[str, object]) -> Record:
        channel = _required(obj, "channel_type").lower()
        if channel not in CHANNEL_TYPES:
            raise ValueError(f'channel_type: unknown channel type "{channel}"')
        occurred_at = local_time(_required(obj, "occurred_at"), self.context, field="occurred_at")
        platform = (
            platform_id(_optional(obj, "platform") or "", "platform") or self.context.platform
        )
        sender = address(_required(obj, "sender"), self.context, field="sender")
        recipients = self._recipients(obj.get("recipients"))
        subject = _optional(obj, "subject")
        has_media = _flag(obj, "has_media")
        raw_id = _optional(obj, "message_id")
        message_id = clean_message_id(raw_id) if channel == "email" else _strip(raw_id)
        return Record(
            record_id=_record_id(
                channel, platform, message_id, occurred_at, sender, recipients, subject
            ),
            message_id=message_id,
            occurred_at=occurred_at,
            channel_type=channel,
            platform=platform,
            sender=sender,
            recipients=recipients,
            subject=subject,
            has_media=has_media,
            attachment_count=_count(obj, has_media),
            source_kind=self.kind,
            source_ref=_strip(_optional(obj, "source_ref")) or self.ref(source, line.position),
        )

    def _recipients(self, value: object) -> tuple[str, ...]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"recipients: must be a list of strings, not {describe(value)}")
        found = (address(clean(v), self.context, field="recipients") for v in value if v.strip())
        return tuple(dict.fromkeys(found))


def address(raw: str, context: IngestContext, *, field: str) -> str:
    """An e-mail address, phone number or ``platform:handle``, normalised as the directory does."""
    value = raw.strip()
    social = _SOCIAL.match(value)
    if social and social[1].lower() not in _PHONE_SCHEMES:
        return normalize_social(social[1], social[2])
    if "@" in value:
        email = normalize_email(value)
        if "@" in email:
            return email
    try:
        return context.phone(value)
    except ValueError:
        pass
    raise ValueError(f'{field}: "{raw}" is not an e-mail address, phone number or platform:handle')


def _required(obj: dict[str, object], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{key}: must be a non-empty string, not {describe(value)}")
    return clean(value.strip())


def _optional(obj: dict[str, object], key: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"{key}: must be a string or null, not {describe(value)}")
    return clean(value)


def _strip(value: str | None) -> str | None:
    return (value or "").strip() or None


def _flag(obj: dict[str, object], key: str) -> bool:
    value = obj.get(key, False)
    if not isinstance(value, bool):
        raise ValueError(f"{key}: must be true or false, not {describe(value)}")
    return value


def _count(obj: dict[str, object], has_media: bool) -> int:
    """``attachment_count`` when given (not part of the documented shape), else 1 for media."""
    value = obj.get("attachment_count")
    if value is None:
        return 1 if has_media else 0
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**31:
        raise ValueError(f"attachment_count: must be a whole number, not {describe(value)}")
    return value


def _record_id(
    channel: str,
    platform: str | None,
    message_id: str | None,
    occurred_at: dt.datetime,
    sender: str,
    recipients: tuple[str, ...],
    subject: str | None,
) -> str:
    """An e-mail's id is the one mail archives give it; other records use the platform's
    message id, or without one their channel, envelope and time."""
    if channel == "email":
        return email_id(message_id, sender, recipients, occurred_at, subject)
    if message_id is not None:
        return stable_id("jsonl", channel, platform or "", message_id)
    return stable_id(
        "jsonl-content",
        channel,
        platform or "",
        occurred_at.isoformat(),
        sender,
        ",".join(sorted(recipients)),
        subject or "",
    )
