"""Compaction: the small files of each lake partition merged into few, swapped in whole.

Ingest runs add a file per month they touch and the gateway a file per day every few
minutes, so partitions fill with small files that slow every reader. A record merged
from several copies has a row per version; compaction keeps only the highest of those
it rewrites together (every version of a record is in its month's partition). Compaction holds
the writers' lock throughout; it writes each group of small files as one sorted file in
``_compaction/<run>/``, checks the rows, then swaps all of them in at once under the
readers' lock (``layout.swap``), which the next reader or writer finishes if it dies.
"""

from __future__ import annotations

import os
import shutil
import statistics
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from chaperone.common.problems import ChaperoneError
from chaperone.lake.layout import LakeBusy, LakeLayout, Replacement, swap
from chaperone.lake.schema import VERSION
from chaperone.lake.writer import _literal, connect

MB = 1024 * 1024


@dataclass(frozen=True)
class Area:
    """A kind of lake file: where its partitions are and the order its rows are kept in."""

    name: str
    order: tuple[str, str]

    def partitions(self, layout: LakeLayout) -> list[Path]:
        """The partition folders (quarantine is one partition)."""
        folder = layout.root / self.name
        if self.name in FLAT:
            return [folder] if folder.is_dir() else []
        return sorted(p for p in folder.glob("*=*") if p.is_dir()) if folder.is_dir() else []


FLAT = ("quarantine", "copies")  # areas of one partition, the folder itself
AREAS = (
    Area("records", ("occurred_at", "record_id")),
    Area("decisions", ("occurred_at", "record_id")),
    Area("quarantine", ("quarantined_at", "quarantine_id")),
    Area("copies", ("seen_at", "record_id")),
)


@dataclass(frozen=True)
class Merge:
    """Small files of one partition that become one file."""

    area: Area
    files: tuple[Path, ...]
    rows: int


@dataclass
class AreaReport:
    """What compaction did (or would do) to one area."""

    area: str
    partitions: int = 0  # partitions compacted
    files_before: int = 0
    files_after: int = 0
    rows: int = 0  # rows rewritten


@dataclass
class CompactReport:
    """What one compaction did, per area."""

    dry_run: bool
    target_mb: float
    areas: list[AreaReport] = field(default_factory=list)
    seconds: float = 0.0

    def as_dict(self) -> dict[str, object]:
        """The report as plain data (for --format json)."""
        return asdict(self)


def compact(
    layout: LakeLayout, *, target_mb: float, wait: float | None = None, dry_run: bool = False
) -> CompactReport:
    """Merge the small files of every partition; with ``dry_run``, only say what would be."""
    started = time.monotonic()
    report = CompactReport(dry_run, target_mb)
    target_bytes = int(target_mb * MB)
    if dry_run:
        with layout.reading():
            merges = plan(layout, target_bytes)
            report.areas = _reports(layout, merges)
    else:
        try:
            with layout.lock(timeout=wait):
                _clean(layout)
                merges = plan(layout, target_bytes)
                report.areas = _reports(layout, merges)
                _run(layout, merges, wait)
        except LakeBusy as exc:
            waited = "" if wait is None else f" for more than {wait:g} s"
            raise ChaperoneError(f"lake compact: {exc}{waited}; nothing was changed") from exc
    report.seconds = round(time.monotonic() - started, 3)
    return report


def plan(layout: LakeLayout, target_bytes: int) -> list[Merge]:
    """The merges: in each partition, its files under the target packed into groups of
    at most the target together (largest first); groups of one file are left alone."""
    merges = []
    for area in AREAS:
        for partition in area.partitions(layout):
            small = [(f.stat().st_size, f) for f in sorted(partition.glob("*.parquet"))]
            small = [(size, f) for size, f in small if size < target_bytes]
            for group in _pack(small, target_bytes):
                if len(group) >= 2:
                    merges.append(Merge(area, tuple(sorted(group)), _rows(group)))
    return merges


def _pack(files: list[tuple[int, Path]], capacity: int) -> list[list[Path]]:
    """First fit decreasing: each file into the first group it fits in."""
    groups: list[tuple[int, list[Path]]] = []
    for size, file in sorted(files, key=lambda pair: (-pair[0], pair[1])):
        for index, (used, members) in enumerate(groups):
            if used + size <= capacity:
                groups[index] = (used + size, [*members, file])
                break
        else:
            groups.append((size, [file]))
    return [members for _used, members in groups]


def _rows(files: list[Path] | tuple[Path, ...]) -> int:
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _reports(layout: LakeLayout, merges: list[Merge]) -> list[AreaReport]:
    reports = []
    for area in AREAS:
        mine = [m for m in merges if m.area is area]
        before = sum(len(list(p.glob("*.parquet"))) for p in area.partitions(layout))
        reports.append(
            AreaReport(
                area.name,
                partitions=len({m.files[0].parent for m in mine}),
                files_before=before,
                files_after=before - sum(len(m.files) - 1 for m in mine),
                rows=sum(m.rows for m in mine),
            )
        )
    return reports


def _clean(layout: LakeLayout) -> None:
    """Remove what a compaction that died before its swap left (the writers' lock is held;
    unfinished swaps were finished on taking it)."""
    if layout.compaction.exists():
        for leftover in layout.compaction.iterdir():
            if leftover.is_dir():
                shutil.rmtree(leftover)
            else:
                leftover.unlink()


def _run(layout: LakeLayout, merges: list[Merge], wait: float | None) -> None:
    if not merges:
        return
    run_id = uuid.uuid4().hex[:12]
    folder = layout.compaction / run_id
    folder.mkdir(parents=True)
    swapping = False
    try:
        replacements = [_merge(layout, folder, run_id, n, m) for n, m in enumerate(merges)]
        with layout.swapping(timeout=wait):
            swapping = True  # from the intent on, whoever comes next finishes the swap
            swap(layout.root, layout.compaction / f"{run_id}.json", replacements)
    finally:
        if not swapping:
            shutil.rmtree(folder, ignore_errors=True)


def _merge(layout: LakeLayout, folder: Path, run_id: str, number: int, merge: Merge) -> Replacement:
    """Write one merge's rows sorted into one synced file; refuse if the rows differ."""
    partition = merge.files[0].parent
    staged = folder / partition.relative_to(layout.root) / f"part-c{run_id}-{number:05d}.parquet"
    staged.parent.mkdir(parents=True, exist_ok=True)
    listed = ", ".join(_literal(str(f)) for f in merge.files)
    scan = f"read_parquet([{listed}], hive_partitioning = false, union_by_name = true)"
    with connect() as db:
        kept, superseded = _superseded(db, scan) if merge.area.name == "records" else ("", 0)
        row = db.execute(
            f"COPY (SELECT * FROM {scan} {kept} ORDER BY {', '.join(merge.area.order)}) "
            f"TO {_literal(str(staged))} (FORMAT parquet, COMPRESSION zstd)"
        ).fetchone()
    written = int(row[0]) if row else 0
    if not written + superseded == merge.rows or written != _rows([staged]):
        raise ChaperoneError(
            f"lake compact: {partition}: {merge.rows} rows in {len(merge.files)} files but "
            f"{written} written; nothing was changed"
        )
    with staged.open("rb") as handle:
        os.fsync(handle.fileno())
    return Replacement(staged, partition / staged.name, merge.files)


def _superseded(db: duckdb.DuckDBPyConnection, scan: str) -> tuple[str, int]:
    """The filter that keeps each record's highest version among the files, and how many
    rows it leaves out (versions a merged copy superseded: readers never see them)."""
    if VERSION not in {row[0] for row in db.execute(f"DESCRIBE SELECT * FROM {scan}").fetchall()}:
        return "", 0
    newest = f"max(coalesce({VERSION}, 1)) OVER (PARTITION BY record_id)"
    kept = f"QUALIFY coalesce({VERSION}, 1) = {newest}"
    row = db.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {scan} QUALIFY coalesce({VERSION}, 1) < {newest})"
    ).fetchone()
    return kept, int(row[0]) if row else 0


@dataclass(frozen=True)
class AreaStats:
    """How an area's files look: many small ones call for ``lake compact``."""

    area: str
    partitions: int
    files: int
    rows: int
    smallest_mb: float
    median_mb: float
    largest_mb: float


def stats(layout: LakeLayout) -> list[AreaStats]:
    """Files, rows and file sizes per area."""
    found = []
    with layout.reading():
        for area in AREAS:
            partitions = area.partitions(layout)
            files = [f for p in partitions for f in sorted(p.glob("*.parquet"))]
            sizes = [f.stat().st_size / MB for f in files] or [0.0]
            found.append(
                AreaStats(
                    area.name,
                    len(partitions),
                    len(files),
                    _rows(files),
                    round(min(sizes), 3),
                    round(statistics.median(sizes), 3),
                    round(max(sizes), 3),
                )
            )
    return found
