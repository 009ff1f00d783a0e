"""Reading many messages: in this process, or in worker processes for a large mailbox.

The connectors that read mailboxes (``mbox``, ``maildir``) hand their messages here as
*jobs*; ``read_all`` gives back each job's item, in order, read by ``email_message`` in
this process or, for a large mailbox on a machine with CPUs to spare, by worker
processes. Writing the lake stays with the caller.
"""

from __future__ import annotations

import functools
import multiprocessing
import multiprocessing.connection
import multiprocessing.context
import os
import threading
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_for
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

from chaperone.ingest.context import IngestContext
from chaperone.ingest.email_message import read_message
from chaperone.ingest.mapped import FileChanged, Slice
from chaperone.lake.schema import Item, Rejected

# What a worker process reads: (ref, message bytes, the mbox From_ line before it or b""),
# where a message is in a mapped mbox, or an item decided already (a message too large to
# send), passed through in its place.
Job = tuple[str, bytes, bytes] | Slice | Rejected
PARALLEL_MIN_MESSAGES = 30_000  # fewer are read in this process: starting workers costs 1-2 s
MAX_WORKERS = 4
OWN_CPUS = 1  # this process's: it splits the mailbox, sends the jobs and writes the lake
START_METHOD = "forkserver"
CHUNK_MESSAGES = 500  # messages a worker reads per task
CHUNK_BYTES = 4 * 1024 * 1024
PENDING_CHUNKS = 64  # tasks in flight: enough to keep the workers busy while the lake is written
PENDING_BYTES = 128 * 1024 * 1024


def read_all(
    jobs: Iterable[Job], count: int, *, context: IngestContext, kind: str, mailbox: bool
) -> Iterator[Item]:
    """The item of each of ``count`` jobs, in order; by worker processes when it pays."""
    workers = worker_count(count)
    if not workers:
        for job in jobs:
            yield read_job(job, context=context, kind=kind, mailbox=mailbox)
    else:
        yield from read_in_workers(
            jobs, context=context, kind=kind, mailbox=mailbox, workers=workers
        )


def worker_count(messages: int) -> int:
    """How many worker processes read this many messages; 0: this process alone.

    Workers pay for many messages when at least two have a CPU of their own besides
    this process's. With fewer, they cost more than they give: on a shared 2-CPU
    machine (2026-11-30, load average 3.5-5) two workers read 100,000 messages in 13-16 s,
    this process alone in 10-14 s — sending jobs and records both ways and a third busy
    process cost about a quarter more CPU than the parsing itself.
    """
    workers = min(available_cpus() - OWN_CPUS, MAX_WORKERS)
    return workers if messages >= PARALLEL_MIN_MESSAGES and workers >= 2 else 0


def read_job(job: Job, *, context: IngestContext, kind: str, mailbox: bool) -> Item:
    """The item of one job."""
    if isinstance(job, Rejected):
        return job
    if isinstance(job, Slice):
        ref, (data, from_line) = job.ref, job.file.message(job)
    else:
        ref, data, from_line = job
    return read_message(
        data,
        context=context,
        kind=kind,
        ref=ref,
        mailbox=mailbox,
        envelope_line=from_line,
    )


def read_jobs(jobs: list[Job], *, context: IngestContext, kind: str, mailbox: bool) -> list[Item]:
    """The item of every job, in order (one worker task)."""
    return [read_job(job, context=context, kind=kind, mailbox=mailbox) for job in jobs]


def available_cpus() -> int:
    """How many CPUs this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return os.cpu_count() or 1


def read_in_workers(
    jobs: Iterable[Job], *, context: IngestContext, kind: str, mailbox: bool, workers: int
) -> Iterator[Item]:
    """The item of every job, in the jobs' order, read by ``workers`` processes.

    The result is what ``read_jobs`` gives in this process, item for item: chunks of
    jobs go to the workers and come back in the order they were sent. While the
    oldest chunk is not back (the workers are starting, or behind), this process
    reads the newest chunk no worker has started. Records are only built, never
    written, here and in the workers: writing stays with the caller. Without process
    support, or when a worker dies, the chunks left are read here.

    Workers are forked from a "forkserver" that has imported this module (and, as
    multiprocessing requires, the main module: a script that ingests must guard its
    work with ``if __name__ == "__main__"``). They inherit no open file or thread of
    this process, and exit when it is gone, even SIGKILLed.
    """
    read = functools.partial(read_jobs, context=context, kind=kind, mailbox=mailbox)
    try:
        start = multiprocessing.get_context(START_METHOD)
        if isinstance(start, multiprocessing.context.ForkServerContext):
            start.set_forkserver_preload(["__main__", __name__])
        pool = ProcessPoolExecutor(workers, mp_context=start, initializer=_exit_with_parent)
    except (OSError, ImportError, NotImplementedError, ValueError):  # no process support
        for some, _bytes in _chunked(jobs):
            yield from read(some)
        return
    pending: deque[_Task] = deque()
    try:
        for chunk in _chunked(jobs):
            pending.append(_submit(pool, read, chunk))
            while len(pending) >= PENDING_CHUNKS or _in_flight(pending) >= PENDING_BYTES:
                yield from _take(pending, read)
        while pending:
            yield from _take(pending, read)
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Task:
    """A chunk of jobs, sent to a worker (future) or read here (items)."""

    jobs: list[Job]
    size: int
    future: Future[list[Item]] | None = None
    items: list[Item] | None = None


def _chunked(jobs: Iterable[Job]) -> Iterator[tuple[list[Job], int]]:
    chunk: list[Job] = []
    size = 0
    for job in jobs:
        chunk.append(job)
        size += _size(job)
        if len(chunk) >= CHUNK_MESSAGES or size >= CHUNK_BYTES:
            yield chunk, size
            chunk, size = [], 0
    if chunk:
        yield chunk, size


def _size(job: Job) -> int:
    if isinstance(job, Rejected):
        return 0
    return job.end - job.start if isinstance(job, Slice) else len(job[1])


# What submitting may raise when the workers cannot start or have died.
_POOL_ERRORS = (BrokenProcessPool, RuntimeError, OSError, EOFError)


def _submit(
    pool: ProcessPoolExecutor, read: functools.partial[list[Item]], chunk: tuple[list[Job], int]
) -> _Task:
    jobs, size = chunk
    try:
        return _Task(jobs, size, future=pool.submit(read, jobs))
    except _POOL_ERRORS:  # no workers: read it here
        return _Task(jobs, size, items=read(jobs))


def _in_flight(pending: deque[_Task]) -> int:
    return sum(task.size for task in pending if task.items is None)


def _take(pending: deque[_Task], read: functools.partial[list[Item]]) -> list[Item]:
    """The items of the oldest task, reading not-yet-started ones here while waiting."""
    head = pending[0]
    while head.items is None and head.future is not None and not head.future.done():
        idle = next(
            (t for t in reversed(pending) if t.items is None and t.future and t.future.cancel()),
            None,
        )
        if idle is None:
            wait_for([head.future])
        else:
            idle.items = read(idle.jobs)
    pending.popleft()
    if head.items is not None:
        return head.items
    assert head.future is not None
    try:
        return head.future.result()
    except (BrokenProcessPool, FileChanged):  # a worker died, or saw another file: read here
        return read(head.jobs)


def _exit_with_parent() -> None:
    """In a worker: exit when the process that started it is gone (even SIGKILLed)."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        threading.Thread(target=_wait_then_exit, args=(parent.sentinel,), daemon=True).start()


def _wait_then_exit(sentinel: int) -> None:
    multiprocessing.connection.wait([sentinel])
    os._exit(0)
