"""One ingest run: sources → connector → lake, with the accounting that must reconcile."""

from __future__ import annotations

import datetime as dt
import itertools
import multiprocessing
import operator
import uuid
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path

import pyarrow as pa

from chaperone.common.problems import ChaperoneError, InputError
from chaperone.ingest.connectors import connector_for
from chaperone.ingest.connectors.base import BulkConnector, Connector
from chaperone.ingest.context import IngestContext
from chaperone.lake import manifest
from chaperone.lake.layout import LakeLayout
from chaperone.lake.schema import COLUMNS, SCHEMA, Item, Record, Rejected
from chaperone.lake.writer import LakeWriter


@dataclass
class SourceReport:
    """The accounting of one source: read == stored + merged + duplicates + quarantined.

    ``merged``: copies of a message already stored that showed a party it lacked (the
    record now holds it); ``duplicates``: copies that showed nothing new.
    """

    source: str
    kind: str
    read: int = 0
    stored: int = 0
    merged: int = 0
    duplicates: int = 0
    quarantined: int = 0
    status: str = "ingested"  # ingested | unchanged | failed
    error: str = ""

    @property
    def balanced(self) -> bool:
        """Whether every item read is accounted for."""
        return self.read == self.stored + self.merged + self.duplicates + self.quarantined

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (for --format json)."""
        return asdict(self)


Progress = Callable[[int], None]


def ingest(
    kind: str,
    paths: Iterable[Path],
    *,
    layout: LakeLayout,
    context: IngestContext,
    progress: Progress | None = None,
    force: bool = False,
    batch_size: int = 20_000,
) -> list[SourceReport]:
    """Ingest every source the paths name; each source is reported on its own."""
    if getattr(multiprocessing.current_process(), "_inheriting", False):
        # A worker process importing a main module that ingests without the guard: it
        # would wait for the lake's lock while its parent waits for it.
        raise ChaperoneError(
            "ingest was started while a worker process was starting up: a script that "
            'ingests must guard its work with: if __name__ == "__main__"'
        )
    connector = connector_for(kind, context)
    sources = [s for path in paths for s in _expand(connector, path)]
    reports = []
    with layout.lock():
        layout.clean_staging()
        for source in sources:
            reports.append(_one(connector, source, layout, progress, force, batch_size))
    return reports


def _expand(connector: Connector, path: Path) -> list[Path]:
    if not path.exists():
        raise ChaperoneError(f"{path}: no such file or folder")
    return connector.sources(path)


def _one(
    connector: Connector,
    source: Path,
    layout: LakeLayout,
    progress: Progress | None,
    force: bool,
    batch_size: int,
) -> SourceReport:
    report = SourceReport(source=str(source), kind=connector.kind)
    size, sha256 = manifest.checksum(source)
    seen = manifest.lookup(layout, connector.kind, sha256)
    if seen is not None and not force:
        report.status = "unchanged"
        return report
    writer = LakeWriter(layout, run_id=uuid.uuid4().hex[:12])
    try:
        if isinstance(connector, BulkConnector):
            _load(connector, writer, source, sha256, report)
        else:
            for chunk in _chunks(connector.read(source), batch_size):
                _write(writer, connector.kind, source, sha256, chunk, report)
                if progress is not None:
                    progress(len(chunk))
    except InputError as exc:
        report.status, report.error = "failed", "; ".join(str(p) for p in exc.problems)
        return report
    except Exception as exc:  # one unreadable source never stops the sources after it
        report.status, report.error = "failed", _unreadable(exc, report)
        return report
    finally:
        writer.close()
    manifest.record(
        layout,
        {
            "kind": connector.kind,
            "path": str(source.resolve()),
            "size": size,
            "sha256": sha256,
            "finished_at": dt.datetime.now(dt.UTC).isoformat(),
            "read": report.read,
            "stored": report.stored,
            "merged": report.merged,
            "duplicates": report.duplicates,
            "quarantined": report.quarantined,
        },
    )
    return report


def _unreadable(exc: Exception, report: SourceReport) -> str:
    """The one line a source that failed part-way gets: what went wrong, what was kept."""
    reason = f"could not be read ({type(exc).__name__}: {exc})"[:500]
    if report.read:
        reason += (
            f"; the {report.read} items read before it are kept and counted, and the"
            " source is read again by the next run (nothing is stored twice)"
        )
    return reason


def _load(
    connector: BulkConnector, writer: LakeWriter, source: Path, sha256: str, report: SourceReport
) -> None:
    loaded = connector.load(source, writer)
    report.read += loaded.read
    report.stored += loaded.written.stored
    report.merged += loaded.written.merged
    report.duplicates += loaded.written.duplicates
    report.quarantined += writer.write_rejected(
        connector.kind, str(source), sha256, loaded.rejected
    )


_FIELDS = operator.attrgetter(*COLUMNS)


def records_table(records: list[Record]) -> pa.Table:
    """Records as an Arrow table with the lake's schema: ``record.to_table``, column-wise."""
    if not records:
        return SCHEMA.empty_table()
    columns = zip(*map(_FIELDS, records), strict=True)
    return pa.Table.from_arrays(
        [pa.array(values, type=field.type) for values, field in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


def _chunks(items: Iterable[Item], size: int) -> Iterable[list[Item]]:
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def _write(
    writer: LakeWriter,
    kind: str,
    source: Path,
    sha256: str,
    chunk: list[Item],
    report: SourceReport,
) -> None:
    records = [i for i in chunk if isinstance(i, Record)]
    rejected = [i for i in chunk if isinstance(i, Rejected)]
    written = writer.write_records(records_table(records))
    report.read += len(chunk)
    report.stored += written.stored
    report.merged += written.merged
    report.duplicates += written.duplicates
    report.quarantined += writer.write_rejected(kind, str(source), sha256, rejected)
