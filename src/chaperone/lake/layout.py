"""Where the lake keeps things, and writing files so no reader ever sees half of one."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class LakeLayout:
    """The folders of a lake under the data folder."""

    root: Path

    @property
    def records(self) -> Path:
        """``records/month=YYYY-MM/part-*.parquet`` (UTC month of the record)."""
        return self.root / "records"

    def record_month(self, month: str) -> Path:
        """The folder of one month's records (``YYYY-MM``)."""
        return self.records / f"month={month}"

    def record_files(
        self, since: dt.date | None = None, until: dt.date | None = None
    ) -> list[Path]:
        """Every record file, in name order, of the partitions that can hold UTC dates
        since..until (either end open)."""
        return sorted(
            file
            for file in self.records.glob("*/*.parquet")
            if _holds(file.parent.name, since, until)
        )

    @property
    def decisions(self) -> Path:
        """``decisions/day=YYYY-MM-DD/part-*.parquet``: the gateway's decision records."""
        return self.root / "decisions"

    @property
    def decision_spool(self) -> Path:
        """``_gateway_spool/``: whole batches of decisions waiting to be published."""
        return self.root / "_gateway_spool"

    @property
    def quarantine(self) -> Path:
        """``quarantine/part-*.parquet``: what could not become a record, and why."""
        return self.root / "quarantine"

    @property
    def sources(self) -> Path:
        """``sources/<kind>-<sha256>.json``: the manifest of ingested sources."""
        return self.root / "sources"

    @property
    def staging(self) -> Path:
        """``_staging/``: files being written; never read, cleaned up by the next run."""
        return self.root / "_staging"

    def ensure(self) -> None:
        """Create the folders."""
        for folder in (self.records, self.quarantine, self.sources, self.staging):
            folder.mkdir(parents=True, exist_ok=True)

    def record_glob(self) -> str:
        """A glob of every record file."""
        return str(self.records / "*" / "*.parquet")

    def has_records(self) -> bool:
        """Whether any record file exists."""
        return any(self.records.glob("*/*.parquet"))

    def has_quarantine(self) -> bool:
        """Whether any quarantine file exists."""
        return any(self.quarantine.glob("*.parquet"))

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """One writer at a time (readers never need the lock).

        With a ``timeout``, give up with ``LakeBusy`` when another writer (an
        ingest) holds the lock longer than that.
        """
        self.ensure()
        with (self.root / ".lock").open("w") as handle:
            _acquire(handle.fileno(), timeout)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def clean_staging(self) -> None:
        """Remove what a run that died left half-written (the lock is held)."""
        for leftover in sorted(self.staging.rglob("*"), reverse=True):
            if leftover.is_dir():
                leftover.rmdir()
            else:
                leftover.unlink()

    def new_staging(self) -> Path:
        """A fresh staging folder for one write."""
        folder = self.staging / uuid.uuid4().hex
        folder.mkdir(parents=True)
        return folder


def _holds(folder: str, since: dt.date | None, until: dt.date | None) -> bool:
    """Whether a partition folder (``month=YYYY-MM``; ``day=YYYY-MM-DD`` from before
    ``upgrade``) can hold dates since..until; any other folder is read."""
    key, _, value = folder.partition("=")
    try:
        if key == "month":
            first = dt.date.fromisoformat(value + "-01")
            last = (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)
        elif key == "day":
            first = last = dt.date.fromisoformat(value)
        else:
            return True
    except ValueError:
        return True
    return (since is None or last >= since) and (until is None or first <= until)


def upgrade(layout: LakeLayout) -> int:
    """Move record files of day partitions (lakes written before monthly partitions)
    into their months; the caller holds the lock. How many files moved.

    Each file keeps its name with the day added (``part-….parquet`` to
    ``part-…-DD.parquet``), so the files of one run on different days stay apart.
    Each move is one rename, so no file is ever half there; a reader that lists the
    folders while files move may find one in both places or in neither, for that read
    only (this happens once per lake, on the first write after the upgrade).
    """
    moved = 0
    for folder in sorted(layout.records.glob("day=*")) if layout.records.exists() else []:
        day = folder.name.removeprefix("day=")
        target = layout.record_month(day[:7])
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted(folder.glob("*.parquet")):
            os.replace(file, target / f"{file.stem}-{day[8:]}{file.suffix}")
            moved += 1
        with contextlib.suppress(OSError):
            folder.rmdir()
    return moved


class LakeBusy(TimeoutError):
    """Another writer held the lake's lock longer than the caller would wait."""


def _acquire(descriptor: int, timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LakeBusy("another writer holds the lake's lock") from None
            time.sleep(0.05)


def publish(staged: Path, final: Path) -> None:
    """Move a finished file into place atomically (rename within one file system)."""
    final.parent.mkdir(parents=True, exist_ok=True)
    with staged.open("rb") as handle:
        os.fsync(handle.fileno())
    os.replace(staged, final)


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write a small JSON file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    temporary.write_text(json.dumps(data, indent=2, sort_keys=True, default=str), "utf-8")
    publish(temporary, path)
