"""``maildir``: a Maildir folder (``cur/`` and ``new/``, one message per file)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import Connector
from chaperone.ingest.reading import Job, read_all
from chaperone.lake.schema import Item, Rejected


class MaildirConnector(Connector):
    """Reads a Maildir (and its Maildir++ sub-folders), a mailbox export."""

    kind = "maildir"
    description = "Maildir folders (Dovecot, Courier, offlineimap): cur/ and new/"

    def sources(self, path: Path) -> list[Path]:
        """The maildir itself is the source."""
        if not path.is_dir():
            raise InputError([Problem(str(path), None, "not a Maildir folder")])
        return [path]

    def read(self, source: Path) -> Iterator[Item]:
        """Every delivered message (tmp/ holds deliveries in progress and is skipped)."""
        files = sorted(
            p for p in source.rglob("*") if p.is_file() and p.parent.name in ("cur", "new")
        )
        if not files and not (source / "cur").is_dir():
            raise InputError([Problem(str(source), None, "not a Maildir folder (no cur/ or new/)")])
        yield from read_all(
            self._jobs(source, files),
            len(files),
            context=self.context,
            kind=self.kind,
            mailbox=True,
        )

    def _jobs(self, source: Path, files: Sequence[Path]) -> Iterator[Job]:
        limit = self.context.max_message_bytes
        for file in files:
            ref = self.ref(source, str(file.relative_to(source)))
            size = file.stat().st_size
            if size > limit:
                yield Rejected(ref, f"larger than {limit} bytes", size)
            else:
                yield ref, file.read_bytes(), b""
