"""``mbox``: messages separated by ``From `` lines (mboxo/mboxrd, RFC 4155)."""

from __future__ import annotations

import datetime as dt
import mmap
import re
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.email_message import read_message
from chaperone.ingest.record import Item, Rejected

_SEPARATOR = re.compile(rb"^From [^\n]*\n", re.MULTILINE)


class MboxConnector(Connector):
    """Reads mbox files, a mailbox export: Delivered-To counts as a recipient."""

    kind = "mbox"
    description = "mbox mailbox files (From_ separated), e.g. Google Takeout or Thunderbird"

    def read(self, source: Path) -> Iterator[Item]:
        """Every message of the mailbox, in order."""
        if source.stat().st_size == 0:
            return
        with (
            source.open("rb") as handle,
            mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data,
        ):
            starts = list(_SEPARATOR.finditer(data))
            if not starts or starts[0].start() != 0:
                yield Rejected(
                    self.ref(source, "1"), "not an mbox file (no From_ line at the start)"
                )
                return
            for index, match in enumerate(starts, start=1):
                end = starts[index].start() if index < len(starts) else len(data)
                yield self._message(source, index, match.group(), data, match.end(), end)

    def _message(
        self, source: Path, index: int, envelope: bytes, data: mmap.mmap, start: int, end: int
    ) -> Item:
        ref = self.ref(source, str(index))
        if end - start > self.context.max_message_bytes:
            return Rejected(ref, f"larger than {self.context.max_message_bytes} bytes", end - start)
        return read_message(
            data[start:end],
            context=self.context,
            kind=self.kind,
            ref=ref,
            mailbox=True,
            envelope_date=_envelope_date(envelope),
        )


def _envelope_date(line: bytes) -> dt.datetime | None:
    """The date of a ``From sender Tue Sep 14 13:02:11 2026`` line, taken as UTC."""
    parts = line.decode("latin-1").split(None, 2)
    if len(parts) < 3:
        return None
    try:
        value = dt.datetime.strptime(" ".join(parts[2].split()[-5:]), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        try:
            return parsedate_to_datetime(parts[2]).astimezone(dt.UTC)
        except (TypeError, ValueError, IndexError):
            return None
    return value.replace(tzinfo=dt.UTC)
