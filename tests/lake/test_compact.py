"""`chaperone lake compact`: few files where there were many, the same rows, no half-swap seen.

The lake is built the way it grows in a district: one ingest run per small source (a file
per month each), the gateway's decisions published batch by batch (a file per day each),
and rejects quarantined by several runs.
"""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pyarrow as pa
import pytest

from chaperone.audit import duckdb_engine
from chaperone.common.problems import ChaperoneError
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import ingest
from chaperone.lake import compact as compact_module
from chaperone.lake import decisions
from chaperone.lake import layout as layout_module
from chaperone.lake.compact import MB, compact
from chaperone.lake.layout import LakeLayout
from chaperone.lake.query import count_records
from chaperone.lake.writer import connect, lake_path
from chaperone.settings import Settings
from tests.audit.world import CASES, write_world
from tests.conftest import Cli

AREAS = ("records", "decisions", "quarantine")
TARGET = 64.0


def build(cli: Cli, settings: Settings, folder: Path) -> LakeLayout:
    """The test district, its records one ingest run each, decisions in batches."""
    files = write_world(folder)
    cli.ok("registry", "import", files["registry"])
    cli.ok("directory", "import", "oneroster", files["roster"])
    cli.ok("directory", "import", "people", files["people"])
    cli.ok("directory", "import", "contacts", files["contacts"])
    layout = lake_path(settings.home)
    lines = files["records"].read_text("utf-8").splitlines()
    sources = []
    for index in range(8):  # eight runs, each with records of several months
        source = folder / f"export-{index}.jsonl"
        source.write_text("\n".join([*lines[index::8], "{not json"]) + "\n")
        sources.append(source)
    ingest("jsonl", sources, layout=layout, context=IngestContext("US", "America/New_York"))
    for batch in range(4):  # four publishes over two days
        with layout.lock():
            decisions.write(layout, decision_batch(batch), run_id=f"gw{batch}")
    return layout


def decision_batch(batch: int) -> pa.Table:
    day = dt.datetime(2026, 9, 14 + batch % 2, 13, tzinfo=dt.UTC)
    rows = [
        {
            "record_id": f"gw-{batch}-{n}",
            "occurred_at": day + dt.timedelta(minutes=n),
            "channel_type": "email",
            "sender": "t1@district.k12.us",
            "recipients": ["p1@gmail.com"],
            "source_kind": "gateway",
            "action": "DUNNO",
            "monitor": False,
            "stopped": False,
        }
        for n in range(5)
    ]
    return pa.Table.from_pylist(rows, schema=decisions.DECISION_SCHEMA)


@pytest.fixture
def lake(cli: Cli, settings: Settings, tmp_path: Path) -> LakeLayout:
    return build(cli, settings, tmp_path / "world")


def file_counts(layout: LakeLayout) -> dict[str, int]:
    """Parquet files per partition folder (``area/partition``)."""
    counts: dict[str, int] = {}
    for file in sorted(layout.root.glob("[!_]*/**/*.parquet")):
        key = str(file.parent.relative_to(layout.root))
        counts[key] = counts.get(key, 0) + 1
    return counts


def rows(layout: LakeLayout) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every area, sorted (read without the lock: the test is the only user)."""
    found = {}
    with connect() as db:
        for area in AREAS:
            glob = layout.root / area / ("*.parquet" if area == "quarantine" else "*/*.parquet")
            found[area] = sorted(
                db.execute(
                    f"SELECT * FROM read_parquet('{glob}', hive_partitioning = false, "
                    "union_by_name = true)"
                ).fetchall(),
                key=repr,
            )
    return found


def audit_records(layout: LakeLayout) -> list[tuple[object, ...]]:
    """The audit engine's view of the lake (without its per-read keys)."""
    with layout.reading(), connect() as db:
        duckdb_engine.records_view(db, layout, None, None)
        return sorted(
            db.execute("SELECT * EXCLUDE (record_key) FROM records").fetchall(), key=repr
        )


def audited(cli: Cli) -> dict[str, object]:
    return dict(json.loads(cli.ok("audit", "--format", "json").out))


def compact_json(cli: Cli, *args: str) -> dict[str, object]:
    return dict(json.loads(cli.ok("lake", "compact", "--format", "json", *args).out))


def test_each_partition_becomes_one_file_with_the_same_rows_and_findings(
    cli: Cli, lake: LakeLayout
) -> None:
    before_files, before_rows = file_counts(lake), rows(lake)
    before_view, first_audit = audit_records(lake), audited(cli)
    assert len([p for p in before_files if p.startswith("records/")]) == 3
    assert all(count >= 2 for count in before_files.values()), before_files

    report = compact_json(cli)

    assert file_counts(lake) == dict.fromkeys(before_files, 1)
    assert rows(lake) == before_rows
    assert audit_records(lake) == before_view
    assert count_records(lake) == len(before_rows["records"]) == len(CASES)
    again = audited(cli)
    assert (again["per_rule"], again["added"], again["withdrawn"]) == (
        first_audit["per_rule"], 0, 0
    )
    areas = {a["area"]: a for a in report["areas"]}  # type: ignore[attr-defined]
    assert areas["records"] == {
        "area": "records", "partitions": 3, "files_before": before_files_in(before_files, "records"),
        "files_after": 3, "rows": len(CASES),
    }
    assert areas["decisions"]["files_after"] == 2 and areas["decisions"]["rows"] == 20
    assert areas["quarantine"]["files_after"] == 1 and areas["quarantine"]["rows"] == 8
    assert list(lake.compaction.iterdir()) == []


def before_files_in(counts: dict[str, int], area: str) -> int:
    return sum(n for partition, n in counts.items() if partition.startswith(area + "/"))


def test_compacting_again_changes_nothing(cli: Cli, lake: LakeLayout) -> None:
    compact_json(cli)
    names = sorted(lake.root.glob("[!_]*/**/*.parquet"))
    report = compact_json(cli)
    assert sorted(lake.root.glob("[!_]*/**/*.parquet")) == names
    assert [(a["partitions"], a["rows"]) for a in report["areas"]] == [(0, 0)] * 4  # type: ignore[attr-defined]


def test_rows_are_sorted_by_time_then_id(cli: Cli, lake: LakeLayout) -> None:
    compact_json(cli)
    with connect() as db:
        for month in lake.records.iterdir():
            (file,) = month.glob("*.parquet")
            keys = db.execute(f"SELECT occurred_at, record_id FROM '{file}'").fetchall()
            assert keys == sorted(keys)


def test_files_over_the_target_are_left_alone(
    cli: Cli, lake: LakeLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = sorted(lake.root.glob("[!_]*/**/*.parquet"))
    assert min(f.stat().st_size for f in before) > 1100
    monkeypatch.setenv("CHAPERONE_LAKE_COMPACT_TARGET_MB", "0.001")  # 1048 bytes: none smaller
    report = compact_json(cli)
    assert report["target_mb"] == 0.001
    assert [a["files_before"] - a["files_after"] for a in report["areas"]] == [0, 0, 0, 0]  # type: ignore[attr-defined]
    assert sorted(lake.root.glob("[!_]*/**/*.parquet")) == before


def test_small_files_are_packed_into_files_of_about_the_target(lake: LakeLayout) -> None:
    month = lake.record_month("2026-09")
    sizes = sorted(f.stat().st_size for f in month.glob("*.parquet"))
    assert len(sizes) >= 4
    target = sizes[-1] + sizes[-2]  # room for the two largest together, not for all
    compact(lake, target_mb=target / MB)
    after = list(month.glob("*.parquet"))
    assert 1 < len(after) < len(sizes)
    assert count_records(lake) == len(CASES)


def test_a_dry_run_says_what_it_would_do_and_changes_nothing(
    cli: Cli, lake: LakeLayout
) -> None:
    before = sorted(lake.root.glob("**/*"))
    report = compact_json(cli, "--dry-run")
    assert report["dry_run"] is True
    assert sorted(lake.root.glob("**/*")) == before
    text = cli.ok("lake", "compact", "--dry-run").out
    assert "Would compact" in text and "records" in text and "→ 3" in text
    assert "nothing was changed" in text


def test_the_json_report(cli: Cli, lake: LakeLayout) -> None:
    report = compact_json(cli)
    assert set(report) == {"dry_run", "target_mb", "areas", "seconds"}
    assert report["target_mb"] == 64
    assert [set(a) for a in report["areas"]] == [  # type: ignore[attr-defined]
        {"area", "partitions", "files_before", "files_after", "rows"}
    ] * 4
    assert [a["area"] for a in report["areas"]] == [*AREAS, "copies"]  # type: ignore[attr-defined]


def test_stats_show_files_rows_and_sizes_per_area(cli: Cli, lake: LakeLayout) -> None:
    found = {s["area"]: s for s in json.loads(cli.ok("lake", "stats", "--format", "json").out)}
    assert found["records"]["partitions"] == 3 and found["records"]["rows"] == len(CASES)
    assert found["decisions"]["files"] == 4 and found["quarantine"]["rows"] == 8
    assert 0 < found["records"]["smallest_mb"] <= found["records"]["median_mb"]


# ---- readers and writers ----


def holding(hold: Callable[[], object], seconds: float = 30.0) -> tuple[threading.Event, threading.Event]:
    """Hold a lock in another thread until told to let go; (held, release)."""
    held, release = threading.Event(), threading.Event()

    def run() -> None:
        with hold():  # type: ignore[attr-defined]
            held.set()
            release.wait(seconds)

    threading.Thread(target=run, daemon=True).start()
    assert held.wait(10)
    return held, release


def test_a_reader_makes_compact_give_up_and_change_nothing(cli: Cli, lake: LakeLayout) -> None:
    before = sorted(lake.root.glob("[!_]*/**/*.parquet"))
    _held, release = holding(lake.reading)
    try:
        result = cli("lake", "compact", "--wait", "0")
    finally:
        release.set()
    assert result.code == 1
    assert result.err.strip() == (
        "error: lake compact: readers hold the lake for more than 0 s; nothing was changed"
    )
    assert sorted(lake.root.glob("[!_]*/**/*.parquet")) == before
    assert list(lake.compaction.iterdir()) == []


def test_a_writer_makes_compact_give_up(cli: Cli, lake: LakeLayout) -> None:
    _held, release = holding(lake.lock)
    try:
        result = cli("lake", "compact", "--wait", "0.1")
    finally:
        release.set()
    assert result.code == 1
    assert "another writer holds the lake's lock for more than 0.1 s" in result.err


def test_a_reader_is_waited_for_then_the_swap_happens(lake: LakeLayout) -> None:
    month = lake.record_month("2026-09")
    listed: list[Path] = []
    read: list[int] = []

    def reader() -> None:  # lists the files, reads them a while later
        with lake.reading(), connect() as db:
            listed.extend(sorted(month.glob("*.parquet")))
            time.sleep(0.5)
            names = ", ".join(f"'{f}'" for f in listed)
            read.append(db.execute(f"SELECT count(*) FROM read_parquet([{names}])").fetchall()[0][0])

    thread = threading.Thread(target=reader)
    thread.start()
    time.sleep(0.1)
    compact(lake, target_mb=TARGET, wait=10)
    thread.join()
    assert len(listed) >= 2 and read == [sum(1 for c in CASES if c[1].startswith("2026-09"))]
    assert len(list(month.glob("*.parquet"))) == 1


def test_readers_never_see_a_half_swap(lake: LakeLayout) -> None:
    expected = count_records(lake)
    seen: list[int] = []
    stop = threading.Event()

    def reader() -> None:  # back to back, overlapping: the swap still gets its turn
        while not stop.is_set():
            seen.append(count_records(lake))

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    compact(lake, target_mb=TARGET, wait=10)
    time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    assert seen and set(seen) == {expected}
    assert len(list(lake.records.glob("*/*.parquet"))) == 3


# ---- crashes ----


class Died(Exception):
    """A compaction killed mid-swap."""


# The swap's steps in layout.py, and the call of each that "dies": the intent's own publish
# is the first call of ``publish``, so the third leaves one merged file in place, the rest
# staged; the second ``_retire`` leaves one old file removed, the rest beside their merge.
STEPS = {"publish": 3, "_retire": 2}


def die_at(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    """The swap step ``name`` works until its call ``STEPS[name]``, where the process dies."""
    real = getattr(layout_module, name)
    calls: list[object] = []

    def step(*args: Path) -> None:
        calls.append(args)
        if len(calls) == STEPS[name]:
            raise Died(name)
        real(*args)

    monkeypatch.setattr(layout_module, name, step)


@pytest.mark.parametrize("step", list(STEPS))
@pytest.mark.parametrize("finisher", ["reader", "writer", "compact"])
def test_a_compaction_that_dies_mid_swap_is_finished_by_whoever_comes_next(
    lake: LakeLayout, monkeypatch: pytest.MonkeyPatch, step: str, finisher: str
) -> None:
    before = rows(lake)
    with monkeypatch.context() as patched:
        die_at(patched, step)
        with pytest.raises(Died):
            compact(lake, target_mb=TARGET)
    assert len(lake.swaps()) == 1  # on disk: old and new files side by side, or some of neither

    if finisher == "reader":
        assert count_records(lake) == len(CASES)
    elif finisher == "writer":
        with lake.lock():
            pass
    else:
        compact(lake, target_mb=TARGET)

    assert lake.swaps() == [] and list(lake.compaction.iterdir()) == []
    assert rows(lake) == before
    assert set(file_counts(lake).values()) == {1}


def test_a_compaction_that_dies_before_its_swap_leaves_a_folder_the_next_removes(
    lake: LakeLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = rows(lake), sorted(lake.root.glob("[!_]*/**/*.parquet"))
    with monkeypatch.context() as patched:  # dies while merging: no shutil cleanup runs
        patched.setattr(compact_module.shutil, "rmtree", lambda *_a, **_k: None)
        patched.setattr(compact_module, "_merge", _dies_on_second(compact_module._merge))
        with pytest.raises(Died):
            compact(lake, target_mb=TARGET)
    (leftover,) = lake.compaction.iterdir()
    assert leftover.is_dir() and any(leftover.rglob("*.parquet")) and lake.swaps() == []
    assert (rows(lake), sorted(lake.root.glob("[!_]*/**/*.parquet"))) == before
    assert count_records(lake) == len(CASES)  # readers ignore it

    compact(lake, target_mb=TARGET)
    assert list(lake.compaction.iterdir()) == []
    assert rows(lake) == before[0]


def _dies_on_second(real: Callable[..., object]) -> Callable[..., object]:
    made: list[int] = []

    def merge(*args: object) -> object:
        made.append(1)
        if len(made) == 2:
            raise Died("merge")
        return real(*args)

    return merge


def test_a_swap_whose_new_file_is_gone_keeps_the_old_files_and_says_so(
    lake: LakeLayout, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patched:
        die_at(patched, "publish")
        with pytest.raises(Died):
            compact(lake, target_mb=TARGET)
    for staged in lake.compaction.rglob("*.parquet"):
        staged.unlink()
    with pytest.raises(ChaperoneError, match="is missing; the files it replaces were kept"):
        count_records(lake)


KILLED_MID_SWAP = """
import os, signal, sys
from pathlib import Path
from chaperone.lake import layout
from chaperone.lake.compact import compact

real, retired = layout._retire, []
def retire(path: Path) -> None:
    retired.append(path)
    if len(retired) == 3:
        os.kill(os.getpid(), signal.SIGKILL)
    real(path)
layout._retire = retire
compact(layout.LakeLayout(Path(sys.argv[1])), target_mb=64)
"""


def test_a_compaction_killed_mid_swap_loses_and_doubles_nothing(lake: LakeLayout) -> None:
    before = rows(lake)
    killed = subprocess.run(
        [sys.executable, "-c", KILLED_MID_SWAP, str(lake.root)], capture_output=True, check=False
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert len(lake.swaps()) == 1
    assert count_records(lake) == len(CASES)
    assert lake.swaps() == [] and rows(lake) == before
