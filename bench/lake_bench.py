"""Lake benchmark: what small files cost readers, and what `chaperone lake compact` gives back.

Builds (seeded) a lake as a gateway and nightly ingests leave it after a month: decision
files the way the gateway's journal publishes them (a batch every few minutes, one file
per day), and record files the way repeated small ingest runs add them (one file per month
per run), all through the real writers. Then, in this process, it times readers before
and after one `compact`:

a. ``count_records`` (every record file, under the readers' lock);
b. ``decisions.weekly`` (every decision file: decisions per week and action, as the web
   dashboard reads them);

each the best of ``--runs``. The baseline is the same reader over the same rows before
compaction; the rows are checked to be the same after. It prints file counts, the
compaction's time and the speed-ups. Read the ratios, not the seconds.

    python bench/lake_bench.py [--days 30] [--batches-per-day 100] [--decisions-per-batch 50]
                               [--ingests 100] [--records-per-ingest 600] [--workdir DIR]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import random
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path

import pyarrow as pa

from chaperone.lake import decisions
from chaperone.lake.compact import compact, stats
from chaperone.lake.layout import LakeLayout
from chaperone.lake.query import count_records
from chaperone.lake.schema import SCHEMA
from chaperone.lake.writer import LakeWriter

START = dt.datetime(2026, 9, 1, tzinfo=dt.UTC)


def decision_batch(rng: random.Random, day: int, batch: int, size: int) -> pa.Table:
    """One publish of the gateway's journal: ``size`` decisions of one day."""
    base = START + dt.timedelta(days=day, minutes=batch * 5)
    rows = [
        {
            "record_id": f"gw-{day}-{batch}-{n}",
            "occurred_at": base + dt.timedelta(seconds=rng.randrange(300)),
            "channel_type": "email",
            "sender": f"t{rng.randrange(300)}@district.k12.us",
            "recipients": [f"p{rng.randrange(5000)}@gmail.com"],
            "source_kind": "gateway",
            "action": "DUNNO",
            "monitor": False,
            "stopped": False,
        }
        for n in range(size)
    ]
    return pa.Table.from_pylist(rows, schema=decisions.DECISION_SCHEMA)


def record_batch(rng: random.Random, run: int, size: int) -> pa.Table:
    """One small ingest run: ``size`` records spread over September and October."""
    rows = [
        {
            "record_id": f"r-{run}-{n}",
            "message_id": f"<{run}.{n}@district.k12.us>",
            "occurred_at": START + dt.timedelta(seconds=rng.randrange(60 * 86_400)),
            "channel_type": "email",
            "sender": f"t{rng.randrange(300)}@district.k12.us",
            "recipients": [f"s{rng.randrange(5000)}@students.district.k12.us"],
            "source_kind": "jsonl",
            "source_ref": f"jsonl:run{run}.jsonl#line {n + 1}",
        }
        for n in range(size)
    ]
    return pa.Table.from_pylist(rows, schema=SCHEMA)


def build(layout: LakeLayout, args: argparse.Namespace) -> None:
    rng = random.Random(9052)
    with layout.lock():
        for day in range(args.days):
            for batch in range(args.batches_per_day):
                table = decision_batch(rng, day, batch, args.decisions_per_batch)
                decisions.write(layout, table, uuid.uuid4().hex[:12])
        for run in range(args.ingests):
            writer = LakeWriter(layout, uuid.uuid4().hex[:12])
            try:
                writer.write_records(record_batch(rng, run, args.records_per_ingest))
            finally:
                writer.close()


def best(runs: int, work: Callable[[], object]) -> tuple[float, object]:
    seconds, result = float("inf"), None
    for _ in range(runs):
        start = time.perf_counter()
        result = work()
        seconds = min(seconds, time.perf_counter() - start)
    return seconds, result


def files(layout: LakeLayout) -> str:
    return ", ".join(f"{s.area} {s.files:,} files / {s.rows:,} rows" for s in stats(layout))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--batches-per-day", type=int, default=100)
    parser.add_argument("--decisions-per-batch", type=int, default=50)
    parser.add_argument("--ingests", type=int, default=100)
    parser.add_argument("--records-per-ingest", type=int, default=600)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="chaperone-lake-bench-"))
    shutil.rmtree(work / "lake", ignore_errors=True)
    layout = LakeLayout(work / "lake")
    print(f"chaperone lake benchmark, {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; Python "
          f"{platform.python_version()}, duckdb {version('duckdb')}")
    start = time.perf_counter()
    build(layout, args)
    print(f"built in {time.perf_counter() - start:.1f} s: {files(layout)}")

    readers: dict[str, Callable[[], object]] = {
        "count_records": lambda: count_records(layout),
        "decisions.weekly": lambda: decisions.weekly(layout),
    }
    before = {name: best(args.runs, read) for name, read in readers.items()}
    report = compact(layout, target_mb=64)
    print(f"compact: {report.seconds:.1f} s; {files(layout)}")
    after = {name: best(args.runs, read) for name, read in readers.items()}
    print("\nsummary (the same reader, before / after compaction)")
    for name in readers:
        assert before[name][1] == after[name][1], f"{name} changed its answer"
        print(f"  {name:<18} {before[name][0]:6.3f} s -> {after[name][0]:6.3f} s  "
              f"{before[name][0] / after[name][0]:5.1f}x faster")
    if args.workdir is None:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
