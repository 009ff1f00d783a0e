"""``mbox``: messages separated by ``From `` lines (mboxo/mboxrd, RFC 4155).

A large mailbox is parsed by worker processes while this process splits it and
writes the lake (``reading.read_all``); the items come in mailbox order either
way, so a run gives the same lake however it was read. A job names where a message
is in the file (``mapped.Slice``): each process reads the bytes from its own mapping.
"""

from __future__ import annotations

import mmap
from collections.abc import Iterator, Sequence
from pathlib import Path

from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.mapped import MappedFile, Slice, mapped
from chaperone.ingest.reading import Job, read_all
from chaperone.lake.schema import Item, Rejected


class MboxConnector(Connector):
    """Reads mbox files, a mailbox export: Delivered-To counts as a recipient."""

    kind = "mbox"
    description = "mbox mailbox files (From_ separated), e.g. Google Takeout or Thunderbird"

    def read(self, source: Path) -> Iterator[Item]:
        """Every message of the mailbox, in order."""
        if source.stat().st_size == 0:
            return
        with mapped(source) as (file, data):
            lines = from_lines(data)
            if not lines or lines[0][0] != 0:
                yield Rejected(
                    self.ref(source, "1"), "not an mbox file (no From_ line at the start)"
                )
                return
            yield from read_all(
                self._jobs(source, file, len(data), lines),
                len(lines),
                context=self.context,
                kind=self.kind,
                mailbox=True,
            )

    def _jobs(
        self, source: Path, file: MappedFile, size: int, lines: Sequence[tuple[int, int]]
    ) -> Iterator[Job]:
        limit = self.context.max_message_bytes
        prefix = self.ref(source, "")
        ends = [line for line, _start in lines[1:]] + [size]
        for index, ((line, start), end) in enumerate(zip(lines, ends, strict=True), start=1):
            if end - start > limit:
                yield Rejected(f"{prefix}{index}", f"larger than {limit} bytes", end - start)
            else:
                yield Slice(file, f"{prefix}{index}", line, start, end)


def from_lines(data: mmap.mmap | bytes) -> list[tuple[int, int]]:
    """Where each ``From `` line starts, and where the message after it starts.

    The lines ``^From [^\\n]*\\n`` finds (multi-line mode): "From " at the start of the
    data or after a line feed, through the next line feed.
    """
    lines: list[tuple[int, int]] = []
    start = 0 if data[:5] == b"From " else _from_after(data, 0)
    while start >= 0:
        newline = data.find(b"\n", start)
        if newline < 0:
            break
        lines.append((start, newline + 1))
        start = _from_after(data, newline)
    return lines


def _from_after(data: mmap.mmap | bytes, position: int) -> int:
    found = data.find(b"\nFrom ", position)
    return found + 1 if found >= 0 else -1
