"""``eml``: one RFC 5322 message per file (a folder is read recursively)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.email_message import read_message
from chaperone.lake.schema import Item, Rejected


class EmlConnector(Connector):
    """Reads .eml files (or any file holding one message)."""

    kind = "eml"
    description = "RFC 5322 messages, one per file; a folder is read recursively"

    def read(self, source: Path) -> Iterator[Item]:
        """The one message in the file."""
        ref = self.ref(source, "1")
        if source.stat().st_size > self.context.max_message_bytes:
            yield Rejected(
                ref, f"larger than {self.context.max_message_bytes} bytes", source.stat().st_size
            )
            return
        yield read_message(source.read_bytes(), context=self.context, kind=self.kind, ref=ref)
