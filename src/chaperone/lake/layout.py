"""Where the lake keeps things, and writing files so no reader ever sees half of one."""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import random
import shutil
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chaperone.common.problems import ChaperoneError


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

    @property
    def compaction(self) -> Path:
        """``_compaction/``: merged files being written (``<run>/``) and swaps under way
        (``<run>.json``); never read but to finish a swap."""
        return self.root / "_compaction"

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
        """One writer at a time (readers take ``reading`` instead).

        With a ``timeout``, give up with ``LakeBusy`` when another writer (an
        ingest) holds the lock longer than that. A swap a compaction left unfinished
        is finished first.
        """
        self.ensure()
        with (self.root / ".lock").open("w") as handle:
            _acquire(handle.fileno(), timeout)
            try:
                with self.reading():
                    pass
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def reading(self) -> Iterator[None]:
        """Hold this while listing lake files and while the queries over them run.

        Readers share the lock; a compaction swaps files only while it holds it alone,
        so a reader sees every file as it was or every file as it became. A swap a
        compaction died in is finished (rolled forward) before the reader lists anything.
        A compaction waiting to swap goes first: readers that come meanwhile wait at the
        turnstile (``.swap.lock``) until it has swapped or given up.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with (
            (self.root / ".swap.lock").open("a") as turnstile,
            (self.root / ".read.lock").open("a") as handle,
        ):
            try:
                fcntl.flock(turnstile, fcntl.LOCK_SH)
                try:
                    self._shared_and_settled(handle.fileno())
                finally:
                    fcntl.flock(turnstile, fcntl.LOCK_UN)
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    @contextlib.contextmanager
    def swapping(self, timeout: float | None = None) -> Iterator[None]:
        """The readers' lock alone (a compaction's swap); ``LakeBusy`` after ``timeout``.

        The turnstile is taken first, so new readers wait and those reading finish:
        a stream of overlapping readers cannot keep a swap waiting for ever.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        with (
            (self.root / ".swap.lock").open("a") as turnstile,
            (self.root / ".read.lock").open("a") as handle,
        ):
            try:
                _acquire(turnstile.fileno(), timeout, "readers hold the lake")
                left = None if timeout is None else timeout - (time.monotonic() - started)
                _acquire(handle.fileno(), left, "readers hold the lake")
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
                fcntl.flock(turnstile, fcntl.LOCK_UN)

    def _shared_and_settled(self, descriptor: int) -> None:
        """Take the shared lock with no swap left unfinished (finishing any first).

        No reader can be querying while a swap is pending (a swap starts only when no
        one holds the lock), so those holding it now are only checking, like this one.
        Waiting for the exclusive lock could wait for a whole audit that finished the
        swap first and went on reading; so it is only tried, and the check repeated.
        """
        while True:
            fcntl.flock(descriptor, fcntl.LOCK_SH)
            if not self.swaps():
                return
            try:  # a conversion: the shared lock is given up, then the exclusive one tried
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                time.sleep(random.uniform(0.005, 0.02))
                continue
            for intent in self.swaps():
                finish_swap(self.root, intent)

    def swaps(self) -> list[Path]:
        """The intents of swaps a compaction began and has not finished."""
        if not self.compaction.exists():
            return []
        return sorted(self.compaction.glob("*.json"))

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
    """Another writer (or, for a swap, a reader) held a lake's lock longer than the caller
    would wait."""


def _acquire(
    descriptor: int, timeout: float | None, reason: str = "another writer holds the lake's lock"
) -> None:
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
                raise LakeBusy(reason) from None
            time.sleep(0.05)


@dataclass(frozen=True)
class Replacement:
    """One swap step: a finished file in ``_compaction/`` and the files it replaces."""

    staged: Path
    final: Path
    replaces: tuple[Path, ...]


def swap(root: Path, intent: Path, replacements: list[Replacement]) -> None:
    """Put new files in place of old ones; the caller holds ``swapping`` (no reader reads).

    The intent is written first (paths relative to the lake, so a moved data folder
    can still finish it); from then on the swap is finished, by this call or, if it
    dies, by the next reader or writer (``finish_swap``).
    """
    write_json(
        intent,
        {
            "files": [
                {
                    "staged": str(r.staged.relative_to(root)),
                    "final": str(r.final.relative_to(root)),
                    "replaces": [str(old.relative_to(root)) for old in r.replaces],
                }
                for r in replacements
            ]
        },
    )
    _sync_folder(intent.parent)
    finish_swap(root, intent)


def finish_swap(root: Path, intent: Path) -> None:
    """Finish a swap (again): idempotent, so a crash at any step is finished by a rerun.

    A new file that is neither staged nor in place would mean lost rows: the old files
    are then kept, and every reader refuses until someone looks.
    """
    files = json.loads(intent.read_text("utf-8"))["files"]
    for item in files:
        staged, final = root / item["staged"], root / item["final"]
        if staged.exists():
            publish(staged, final)
        elif not final.exists():
            raise ChaperoneError(
                f"{intent}: the merged file {item['final']} is missing; the files it "
                "replaces were kept. Check the lake, then move this intent aside"
            )
    for item in files:
        for old in item["replaces"]:
            _retire(root / old)
    for folder in sorted({(root / item["final"]).parent for item in files}):
        _sync_folder(folder)
    intent.unlink()
    shutil.rmtree(intent.with_suffix(""), ignore_errors=True)


def _retire(old: Path) -> None:
    """Remove a replaced file (gone already after a crash)."""
    old.unlink(missing_ok=True)


def _sync_folder(folder: Path) -> None:
    """Make renames and removals in a folder durable (before the next step relies on them)."""
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


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
