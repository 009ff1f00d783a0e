"""The connector base class: how a silo's export becomes normalized records."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from chaperone.ingest.context import IngestContext
from chaperone.lake.schema import Item, Rejected
from chaperone.lake.writer import LakeWriter, Written


class Connector:
    """A reader of one kind of source.

    To write a connector:

    1. Subclass, set ``kind`` (the name users type after ``chaperone ingest``) and
       ``description`` (one line for ``--help`` and the docs).
    2. Implement ``read(source)``: yield one item per message, row or event — a
       ``Record``, or a ``Rejected`` with its position and reason. Never raise for
       a bad item; raise ``InputError`` only when the whole source is unreadable
       (wrong header, not a zip), which fails that source and stores nothing of it.
    3. Give every record a ``record_id`` from the source's own identity
       (``record.stable_id``), so a message that arrives twice is stored once, and
       normalise addresses with ``chaperone.common.addresses``.
    4. Override ``sources(path)`` when one path names many sources (a folder of
       files) or one source is a folder (a Slack export).
    5. Add it to ``CONNECTORS`` in ``chaperone.ingest.connectors``.
    """

    kind: ClassVar[str]
    description: ClassVar[str]

    def __init__(self, context: IngestContext) -> None:
        self.context = context

    def sources(self, path: Path) -> list[Path]:
        """The sources a path names: the file itself, or every file below a folder."""
        if path.is_dir():
            return sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        return [path]

    def read(self, source: Path) -> Iterator[Item]:
        """Every item of one source."""
        raise NotImplementedError  # each connector implements it

    def ref(self, source: Path, position: str) -> str:
        """A pointer back to an item: ``kind:file#position``."""
        return f"{self.kind}:{source.name}#{position}"


@dataclass(frozen=True)
class Loaded:
    """What a bulk load did: records written, items quarantined, items read."""

    written: Written
    rejected: list[Rejected]
    read: int


class BulkConnector(Connector):
    """A connector for large tabular exports that DuckDB reads far faster than Python.

    Instead of ``read``, implement ``load(source, writer)``: build, inside
    ``writer.db``, a query with the record columns (plus an ``ordinal``), pass it
    to ``writer.write_query``, and return the rows that could not become records
    as ``Rejected`` items. Every item read is one record or one rejected row.
    """

    def load(self, source: Path, writer: LakeWriter) -> Loaded:
        """Load one source straight into the lake."""
        raise NotImplementedError  # each bulk connector implements it
