"""Mailboxes read by worker processes: the same items, in the same order, as read here."""

from __future__ import annotations

import functools
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import pytest

from chaperone.common.problems import ChaperoneError
from chaperone.ingest import reading
from chaperone.ingest.connectors.maildir import MaildirConnector
from chaperone.ingest.connectors.mbox import MboxConnector
from chaperone.ingest.context import IngestContext
from chaperone.ingest.flow import ingest
from chaperone.ingest.mapped import FileChanged
from chaperone.lake.schema import Item, Rejected
from chaperone.lake.writer import lake_path
from tests.ingest.messages import mbox, message
from tests.ingest.test_interrupted import contents

CONTEXT = IngestContext(max_message_bytes=2000)


def varied(count: int) -> list[bytes]:
    """Records, refusals (no sender, too large) and attachments, some sharing a Message-ID."""
    return [
        message(
            message_id=f"<m{i % 40}@x>" if i % 3 else None,
            sender="" if i % 11 == 0 else f"S{i % 7}@Example.org",
            to=f'"Kid, {i}" <k{i}@example.org>, p{i % 5}@example.org',
            image=i % 5 == 0,
            pdf=i % 13 == 0,
            subject="x" * (3000 if i % 17 == 0 else 5),
        )
        for i in range(count)
    ]


@pytest.fixture
def small_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers for any mailbox, tiny chunks and few in flight: every path is taken."""
    monkeypatch.setattr(reading, "PARALLEL_MIN_MESSAGES", 0)
    monkeypatch.setattr(reading, "CHUNK_MESSAGES", 7)
    monkeypatch.setattr(reading, "PENDING_CHUNKS", 4)


def read_both(
    read: Callable[[Path], Iterator[Item]], source: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[Item], list[Item]]:
    """The items read by workers, then read in this process."""
    parallel = list(read(source))
    monkeypatch.setattr(reading, "PARALLEL_MIN_MESSAGES", 10**9)
    return parallel, list(read(source))


@pytest.mark.parametrize(
    ("cpus", "messages", "workers"),
    [
        (1, 100_000, 0),
        (2, 100_000, 0),  # one CPU left for workers: this process reads faster alone
        (3, 100_000, 2),
        (4, 100_000, 3),
        (16, 100_000, 4),
        (16, 29_999, 0),
    ],
)
def test_workers_only_with_a_cpu_each_for_two_of_them(
    cpus: int, messages: int, workers: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "available_cpus", lambda: cpus)
    assert reading.worker_count(messages) == workers


@pytest.mark.usefixtures("small_chunks")
def test_an_mbox_read_by_workers_equals_one_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reading.available_cpus() < 3:
        monkeypatch.setattr(reading, "available_cpus", lambda: 3)
    source = tmp_path / "box.mbox"
    source.write_bytes(mbox(*varied(150)))
    parallel, here = read_both(MboxConnector(CONTEXT).read, source, monkeypatch)
    assert parallel == here
    assert len(here) == 150
    assert {type(i) for i in here} == {Rejected, type(here[1])}
    assert any(isinstance(i, Rejected) and i.reason.startswith("larger than") for i in here)


@pytest.mark.usefixtures("small_chunks")
def test_a_maildir_read_by_workers_equals_one_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if reading.available_cpus() < 3:
        monkeypatch.setattr(reading, "available_cpus", lambda: 3)
    root = tmp_path / "Maildir"
    (root / "cur").mkdir(parents=True)
    for index, data in enumerate(varied(60)):
        (root / "cur" / f"{index:03d}.host:2,S").write_bytes(data)
    parallel, here = read_both(MaildirConnector(CONTEXT).read, root, monkeypatch)
    assert parallel == here
    assert len(here) == 60


@pytest.mark.usefixtures("small_chunks")
def test_without_workers_the_chunks_are_read_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reading, "available_cpus", lambda: 3)
    monkeypatch.setattr(reading, "START_METHOD", "no-such-start-method")
    source = tmp_path / "box.mbox"
    source.write_bytes(mbox(*varied(30)))
    parallel, here = read_both(MboxConnector(CONTEXT).read, source, monkeypatch)
    assert parallel == here


@pytest.mark.parametrize(
    "failure", [BrokenProcessPool("a worker died"), FileChanged("box.mbox changed")]
)
def test_a_chunk_whose_worker_died_or_saw_another_file_is_read_here(failure: Exception) -> None:
    jobs: list[reading.Job] = [("eml:a#1", message(), b""), Rejected("eml:a#2", "too large")]
    broken: Future[list[Item]] = Future()
    broken.set_exception(failure)
    pending = deque([reading._Task(jobs, 1, future=broken)])
    read = functools.partial(reading.read_jobs, context=CONTEXT, kind="eml", mailbox=False)
    assert reading._take(pending, read) == read(jobs)
    assert not pending


def test_ingest_refuses_to_run_inside_a_starting_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(multiprocessing.current_process(), "_inheriting", True, raising=False)
    with pytest.raises(ChaperoneError, match='if __name__ == "__main__"'):
        ingest("mbox", [tmp_path], layout=lake_path(tmp_path / "home"), context=CONTEXT)


WORKERS_RUN = (
    "import chaperone.ingest.reading as m; m.PARALLEL_MIN_MESSAGES = 0; "
    "m.CHUNK_MESSAGES = 40; m.available_cpus = lambda: 3; "
    "from chaperone.cli import main; main()"
)


def start(home: Path, source: Path, program: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "CHAPERONE_HOME": str(home), "CHAPERONE_INGEST_BATCH_SIZE": "150"}
    env.pop("CHAPERONE_DATABASE_URL", None)
    if not (home / "chaperone.db").exists():
        subprocess.run([sys.executable, "-c", "from chaperone.cli import main; main()", "init"],
                       env=env, check=True, stdout=subprocess.DEVNULL)
    return subprocess.Popen(
        [sys.executable, "-c", program, "ingest", "mbox", str(source), "--format", "json"],
        env=env,
        stdout=subprocess.DEVNULL,
    )


def processes_of(home: Path) -> list[int]:
    """Processes started for an ingest into ``home`` (they carry its CHAPERONE_HOME)."""
    marker = f"CHAPERONE_HOME={home}".encode() + b"\0"
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker in (entry / "environ").read_bytes() + b"\0":
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="needs /proc")
def test_sigkill_while_workers_read_then_rerun_equals_a_clean_run(tmp_path: Path) -> None:
    messages = [
        message(message_id=f"<m{i}@x>", sender="" if i % 97 == 0 else f"s{i % 50}@example.org",
                to=f"r{i % 300}@example.org", image=i % 7 == 0)
        for i in range(3000)
    ]
    source = tmp_path / "big.mbox"
    source.write_bytes(mbox(*messages))
    clean, killed = tmp_path / "clean", tmp_path / "killed"
    assert start(clean, source, "from chaperone.cli import main; main()").wait(timeout=300) == 0

    process = start(killed, source, WORKERS_RUN)
    records = killed / "lake" / "records"
    deadline = time.monotonic() + 60
    while len(list(records.glob("*/*.parquet"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert len(processes_of(killed)) > 1, "workers were started"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not list((killed / "lake" / "sources").glob("*.json")), "killed before the end"
    assert len(list(records.glob("*/*.parquet"))) >= 3, "killed after some writes"
    deadline = time.monotonic() + 30
    while processes_of(killed) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes_of(killed), "the workers exit with the process that started them"

    assert start(killed, source, WORKERS_RUN).wait(timeout=300) == 0
    assert contents(killed) == contents(clean)
    assert not list((killed / "lake" / "_staging").rglob("*.parquet"))
