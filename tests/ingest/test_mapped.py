"""Slices of a mapped mbox: read from this process's mapping, or mapped again elsewhere."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from chaperone.ingest.mapped import FileChanged, MappedFile, Slice, mapped


def test_a_slice_reads_the_mapping_and_a_fresh_one_checks_the_file(tmp_path: Path) -> None:
    path = tmp_path / "box.mbox"
    path.write_bytes(b"From a Mon Sep 14 13:02:11 2026\nFrom: a@x\n\n")
    with mapped(path) as (file, data):
        first = Slice(file, "mbox:box.mbox#1", 0, 32, 42)
        assert file.message(first) == (b"From: a@x\n", data[:32])
        (tmp_path / "new").write_bytes(b"From b Mon Sep 14 13:02:11 2026\nFrom: b@y\n\n")
        (tmp_path / "new").replace(path)  # replaced: this process keeps its mapping
        assert file.message(first)[0] == b"From: a@x\n"
    moved = MappedFile(file.path, file.identity)  # as a worker process receives it
    with pytest.raises(FileChanged, match="changed while it was read"):
        moved.message(first)
    status = os.stat(path)
    now = MappedFile(str(path), (status.st_dev, status.st_ino, status.st_size, status.st_mtime_ns))
    assert now.message(first._replace(file=now))[0] == b"From: b@y\n"
