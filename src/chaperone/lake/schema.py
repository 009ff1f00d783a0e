"""The normalized communication record the lake holds (docs/formats/record.md).

Every connector produces records of this schema and the lake stores nothing else; what
cannot become a record is ``Rejected`` and goes to the lake's quarantine. The channel
types are §B's: the policy, the registry and the rules use these names.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field

import pyarrow as pa

CHANNEL_TYPES = (
    "email",
    "text_message",
    "voicemail",
    "image_sharing",
    "chat",
    "call",
    "social_post",
    "social_message",
)

SCHEMA = pa.schema(
    [
        ("record_id", pa.string()),
        ("message_id", pa.string()),
        ("occurred_at", pa.timestamp("us", tz="UTC")),
        ("channel_type", pa.string()),
        ("platform", pa.string()),
        ("sender", pa.string()),
        ("recipients", pa.list_(pa.string())),
        ("subject", pa.string()),
        ("has_media", pa.bool_()),
        ("attachment_count", pa.int32()),
        ("source_kind", pa.string()),
        ("source_ref", pa.string()),
        ("defects", pa.list_(pa.string())),
    ]
)
COLUMNS = tuple(SCHEMA.names)
VERSION = "version"
"""A stored record's version: 1 as first stored; a later copy of the message that shows
a party the lake's record lacks stores the record again, the union of both, one higher.
Readers take each record_id's highest version (files older than versions hold none: 1)."""
STORED_COLUMNS = (*COLUMNS, VERSION)


@dataclass(frozen=True)
class Record:
    """One communication: who wrote to whom, when, on which channel and platform."""

    record_id: str
    message_id: str | None
    occurred_at: dt.datetime
    channel_type: str
    platform: str | None
    sender: str
    recipients: tuple[str, ...]
    subject: str | None
    has_media: bool
    attachment_count: int
    source_kind: str
    source_ref: str
    defects: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.channel_type not in CHANNEL_TYPES:
            raise ValueError(f'unknown channel type "{self.channel_type}"')
        if self.occurred_at.tzinfo is None:
            raise ValueError("occurred_at must carry a time zone")


@dataclass(frozen=True)
class Rejected:
    """An item that cannot become a record: where it was and why (it goes to quarantine)."""

    position: str
    reason: str
    size: int = 0
    digest: str = ""
    extra: dict[str, str] = field(default_factory=dict)


Item = Record | Rejected


def stable_id(namespace: str, *parts: str) -> str:
    """A record id from a source's own identity: the same message always gets the same id."""
    digest = hashlib.sha256(namespace.encode())
    for part in parts:
        digest.update(b"\x1f" + part.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()[:32]


def to_columns(records: list[Record]) -> dict[str, list[object]]:
    """Records as columns, for an Arrow table."""
    columns: dict[str, list[object]] = {name: [] for name in COLUMNS}
    for record in records:
        for name in COLUMNS:
            value = getattr(record, name)
            columns[name].append(list(value) if isinstance(value, tuple) else value)
    return columns


def to_table(records: list[Record]) -> pa.Table:
    """Records as an Arrow table with the lake's schema."""
    return pa.Table.from_pydict(to_columns(records), schema=SCHEMA)
