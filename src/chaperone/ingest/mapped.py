"""A file mapped once per process, so that a job names a slice of it instead of its bytes.

The process that splits a mailbox maps it (``mapped``) and hands out ``Slice`` jobs;
a worker process maps the same file the first time it reads a slice of it, and checks
that it is still the file that was split (device, inode, size, modification time).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple


class FileChanged(Exception):
    """The file is no longer the one its slices were cut from."""


@dataclass(frozen=True)
class MappedFile:
    """A file as it was when it was split: where it is and which file it was."""

    path: str
    identity: tuple[int, int, int, int]  # st_dev, st_ino, st_size, st_mtime_ns

    def message(self, job: Slice) -> tuple[bytes, bytes]:
        """A slice's message and the ``From `` line before it, from this process's mapping."""
        data = _mapping(self)
        return data[job.start : job.end], data[job.line : job.start]


class Slice(NamedTuple):
    """A message of a mapped mbox: its reference, its ``From `` line and its bytes."""

    file: MappedFile
    ref: str
    line: int  # where its From_ line starts
    start: int  # where the message starts (after the From_ line)
    end: int


_OPEN: dict[MappedFile, mmap.mmap] = {}


@contextmanager
def mapped(path: Path) -> Iterator[tuple[MappedFile, mmap.mmap]]:
    """The file mapped in this process, its slices read from this mapping meanwhile."""
    with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        file = MappedFile(str(path), _identity(os.fstat(handle.fileno())))
        _OPEN[file] = data
        try:
            yield file, data
        finally:
            if _OPEN.get(file) is data:
                del _OPEN[file]


def _mapping(file: MappedFile) -> mmap.mmap:
    found = _OPEN.get(file)
    if found is not None:
        return found
    for other in [f for f in _OPEN if f.path == file.path]:  # an older version, in a worker
        _OPEN.pop(other).close()
    with open(file.path, "rb") as handle:
        if _identity(os.fstat(handle.fileno())) != file.identity:
            raise FileChanged(f"{file.path} changed while it was read")
        found = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    _OPEN[file] = found
    return found


def _identity(status: os.stat_result) -> tuple[int, int, int, int]:
    return status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns
