"""An ingest killed half-way and run again leaves the lake as one clean run would."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

from tests.ingest.messages import mbox, message

RUN = "from chaperone.cli import main; main()"


def big_mbox(path: Path, count: int) -> Path:
    messages = [
        message(message_id=f"<m{i}@x>", sender="" if i % 97 == 0 else f"s{i % 50}@example.org",
                to=f"r{i % 300}@example.org", image=i % 7 == 0)
        for i in range(count)
    ]
    path.write_bytes(mbox(*messages))
    return path


def start(home: Path, source: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHAPERONE_HOME": str(home), "CHAPERONE_INGEST_BATCH_SIZE": "150"}
    env.pop("CHAPERONE_DATABASE_URL", None)
    if not (home / "chaperone.db").exists():
        subprocess.run([sys.executable, "-c", RUN, "init"], env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return subprocess.Popen([sys.executable, "-c", RUN, "ingest", "mbox", str(source),
                             "--format", "json"], env=env, stdout=subprocess.DEVNULL)


def contents(home: Path) -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    lake = home / "lake"
    records = duckdb.sql(
        f"SELECT * FROM read_parquet('{lake}/records/*/*.parquet', hive_partitioning=true) "
        "ORDER BY record_id").fetchall()
    rejects = duckdb.sql(
        f"SELECT quarantine_id, source_kind, position, reason, size, sha256 FROM "
        f"read_parquet('{lake}/quarantine/*.parquet') ORDER BY quarantine_id").fetchall()
    return records, rejects


def test_sigkill_half_way_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    source = big_mbox(tmp_path / "big.mbox", 3000)
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert start(clean, source).wait(timeout=300) == 0

    process = start(killed, source)
    records = killed / "lake" / "records"
    deadline = time.monotonic() + 60
    while len(list(records.glob("*/*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not list((killed / "lake" / "sources").glob("*.json")), "killed before the end"
    assert len(list(records.glob("*/*.parquet"))) >= 3, "killed after some writes"

    assert start(killed, source).wait(timeout=300) == 0
    assert contents(killed) == contents(clean)
    assert not list((killed / "lake" / "_staging").rglob("*.parquet"))
