"""``sms-csv``: text, voicemail and call logs, one row per communication.

Columns (docs/sources/sms-csv.md): ``occurred_at,from,to,type,platform,message_id,has_media``;
the first four are required, the others may be absent. Rows are read by header name.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

from chaperone.common.csvfile import CsvTable, Row
from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.fields import local_time, platform_id
from chaperone.lake.schema import Item, Record, Rejected, stable_id

REQUIRED = ("occurred_at", "from", "to", "type")


TYPES = ("text_message", "voicemail", "call")


BOOLEANS = {"true": True, "yes": True, "1": True, "false": False, "no": False, "0": False}


class SmsCsvConnector(Connector):
    """Reads call and text detail records from a carrier, a phone system or a texting platform."""

    kind = "sms-csv"
    description = "Text, voicemail and call logs as CSV (carrier or district phone system records)"

    def read(self, source: Path) -> Iterator[Item]:
        """One record per row; a row that cannot be one is rejected with its line."""
        table = _open(source)
        table.require(REQUIRED)
        for row in _rows(table):
            if isinstance(row, Rejected):
                yield row
                continue
            try:
                yield self._record(source, row)
            except ValueError as exc:
                yield Rejected(f"line {row.line}", str(exc))

    def _record(self, source: Path, row: Row) -> Record:
        occurred_at = local_time(row.get("occurred_at"), self.context, field="occurred_at")
        sender = self._phone(row.get("from"), "from")
        recipients = tuple(dict.fromkeys(self._phone(v, "to") for v in _split(row.get("to"))))
        kind = row.get("type").lower()
        if kind not in TYPES:
            raise ValueError(f'type: unknown type "{row.get("type")}" ({", ".join(TYPES)})')
        has_media = _boolean(row.get("has_media"), "has_media")
        platform = platform_id(row.get("platform"), "platform") or self.context.platform
        message_id = row.get("message_id") or None
        if message_id is not None:
            record_id = stable_id("sms", platform or "", message_id)
        else:
            record_id = stable_id(
                "sms-content", occurred_at.isoformat(), sender, ",".join(sorted(recipients)), kind
            )
        return Record(
            record_id=record_id,
            message_id=message_id,
            occurred_at=occurred_at,
            channel_type="image_sharing" if kind == "text_message" and has_media else kind,
            platform=platform,
            sender=sender,
            recipients=recipients,
            subject=None,
            has_media=has_media,
            attachment_count=1 if has_media else 0,
            source_kind=self.kind,
            source_ref=self.ref(source, f"line {row.line}"),
        )

    def _phone(self, raw: str, column: str) -> str:
        if not raw.strip():
            raise ValueError(f"{column}: empty")
        try:
            return self.context.phone(raw)
        except ValueError as exc:
            raise ValueError(f"{column}: {exc}") from exc


def _open(source: Path) -> CsvTable:
    try:
        return CsvTable.read(source)
    except UnicodeDecodeError as exc:  # a UTF-16 BOM followed by bytes that are not UTF-16
        raise InputError([Problem(source.name, None, f"not UTF-16 text ({exc.reason})")]) from exc
    except csv.Error as exc:
        raise InputError([Problem(source.name, 1, f"unreadable header ({exc})")]) from exc


def _rows(table: CsvTable) -> Iterator[Row | Rejected]:
    """The rows; a CSV error the reader cannot recover from rejects the rest of the file."""
    rows = table.rows()
    last = 1
    while True:
        try:
            row = next(rows)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Rejected(f"line {last + 1}", f"unreadable CSV from here to the end ({exc})")
            return
        last = row.line
        yield row


def _split(raw: str) -> list[str]:
    values = [v.strip() for v in raw.split(";") if v.strip()]
    if not values:
        raise ValueError("to: empty")
    return values


def _boolean(raw: str, column: str) -> bool:
    value = BOOLEANS.get(raw.strip().lower() or "false")
    if value is None:
        raise ValueError(f'{column}: "{raw}" is not true or false')
    return value
