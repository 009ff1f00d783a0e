"""``jsonl``: normalized communication records from any other system, one JSON object a line.

The shape is Chaperone's own record (docs/sources/jsonl.md). The line reading here
(``json_lines``, ``json_object``) is shared with the other JSON-lines connectors.
"""

from __future__ import annotations

import codecs
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chaperone.common.problems import InputError, Problem
from chaperone.directory.normalize import normalize_email, normalize_social
from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.connectors.sms_csv import local_time, platform_id
from chaperone.ingest.context import IngestContext
from chaperone.ingest.record import (
    Item,
    Record,
    Rejected,
    clean_message_id,
    email_id,
    stable_id,
)
from chaperone.registry.models import CHANNEL_TYPES

_SOCIAL = re.compile(r"^([a-z0-9][a-z0-9-]*):@?([^\s@:/]+)$", re.IGNORECASE | re.ASCII)
_PHONE_SCHEMES = ("tel", "sms")
_CHUNK = 1 << 16


@dataclass(frozen=True)
class Line:
    """One line of a JSON-lines file: its number and bytes (without a leading BOM)."""

    number: int
    data: bytes

    @property
    def position(self) -> str:
        """Where the line is, as the quarantine shows it."""
        return f"line {self.number}"

    @property
    def blank(self) -> bool:
        """Whether the line holds only whitespace (skipped, not rejected)."""
        return not self.data.strip()

    def rejected(self, reason: str) -> Rejected:
        """The line to quarantine, with its size and checksum."""
        return Rejected(
            self.position, reason, len(self.data), hashlib.sha256(self.data).hexdigest()
        )


class JsonlConnector(Connector):
    """Reads records in Chaperone's normalized shape, e.g. from a platform's own export."""

    kind = "jsonl"
    description = "Normalized communication records, one JSON object a line, from any system"

    def read(self, source: Path) -> Iterator[Item]:
        """One record per non-blank line; a line that cannot be one is rejected."""
        for line in json_lines(source, self.context.max_message_bytes):
            if isinstance(line, Rejected):
                yield line
            elif not line.blank:
                try:
                    yield self._record(source, line, json_object(line))
                except ValueError as exc:
                    yield line.rejected(str(exc))

    def _record(self, source: Path, line: Line, obj: dict[str, object]) -> Record:
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
        if channel == "email":
            record_id = email_id(message_id, sender, recipients, occurred_at, subject)
        elif message_id is not None:
            record_id = stable_id("jsonl", channel, platform or "", message_id)
        else:
            record_id = _content_id(channel, platform, occurred_at, sender, recipients, subject)
        return Record(
            record_id=record_id,
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


def json_lines(source: Path, limit: int) -> Iterator[Line | Rejected]:
    """The numbered lines of a file; a line longer than ``limit`` bytes is rejected unread.

    UTF-8 (with or without a BOM) is read line by line; UTF-16 with a BOM (what Windows
    PowerShell writes by default) is decoded whole.
    """
    with source.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            yield from _utf16_lines(source, limit)
            return
        handle.seek(0)
        number = 0
        while data := handle.readline(limit + 1):
            number += 1
            if len(data) > limit and not data.endswith(b"\n"):
                yield _oversized(number, data, handle, limit)
            else:
                yield Line(number, data.removeprefix(codecs.BOM_UTF8) if number == 1 else data)


def json_object(line: Line) -> dict[str, object]:
    """The JSON object a line holds, or ValueError saying why it holds none."""
    try:
        text = line.data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ValueError("not JSON (nested too deeply)") from exc
    except ValueError as exc:
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object but {describe(value)}")
    return value


def clean(text: str) -> str:
    """Text safe to store: lone surrogates (JSON ``\\ud800`` escapes) become U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")


def _utf16_lines(source: Path, limit: int) -> Iterator[Line | Rejected]:
    try:
        text = source.read_bytes().decode("utf-16")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(source.name, None, f"not UTF-16 text ({exc.reason})")]) from exc
    for number, part in enumerate(text.split("\n"), start=1):
        data = part.encode("utf-8")
        if len(data) > limit:
            yield Rejected(
                f"line {number}",
                f"longer than {limit} bytes",
                len(data),
                hashlib.sha256(data).hexdigest(),
            )
        else:
            yield Line(number, data)


def _oversized(number: int, head: bytes, handle: BinaryIO, limit: int) -> Rejected:
    """Skip the rest of a line too long to read, counting and hashing it on the way."""
    digest, size = hashlib.sha256(head), len(head)
    while chunk := handle.readline(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return Rejected(f"line {number}", f"longer than {limit} bytes", size, digest.hexdigest())


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


def _content_id(
    channel: str,
    platform: str | None,
    occurred_at: dt.datetime,
    sender: str,
    recipients: tuple[str, ...],
    subject: str | None,
) -> str:
    """Id of a record without a message id: its channel, envelope and time."""
    return stable_id(
        "jsonl-content",
        channel,
        platform or "",
        occurred_at.isoformat(),
        sender,
        ",".join(sorted(recipients)),
        subject or "",
    )


def describe(value: object) -> str:
    """What a JSON value is, for a reason (never the whole value: it may be huge)."""
    if value is None:
        return "null (or missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{clean(shown)}"'
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"
