"""A OneRoster CSV bundle read from a folder or a zip file, by file name."""

from __future__ import annotations

import zipfile
from pathlib import Path, PurePosixPath

from chaperone.common.csvfile import CsvTable, decode
from chaperone.common.problems import InputError, Problem

MAX_MEMBER_BYTES = 512 * 1024 * 1024


class Bundle:
    """The CSV files of a bundle by their lower-case names."""

    def __init__(self, path: Path) -> None:
        self.path = path
        if path.is_dir():
            self._files = {p.name.lower(): p for p in path.iterdir() if p.is_file()}
            self._zip: zipfile.ZipFile | None = None
        elif zipfile.is_zipfile(path):
            self._zip = zipfile.ZipFile(path)
            self._files = {}
            self._members = {
                PurePosixPath(i.filename).name.lower(): i
                for i in self._zip.infolist()
                if not i.is_dir() and not i.filename.startswith("__MACOSX/")
            }
        else:
            raise InputError([Problem(str(path), None, "not a folder or a zip file")])

    def has(self, name: str) -> bool:
        """Whether the bundle carries a file of this name (any case)."""
        key = name.lower()
        return key in self._files or (self._zip is not None and key in self._members)

    def table(self, name: str) -> CsvTable:
        """A file of the bundle as a CSV table; missing files are a located error."""
        key = name.lower()
        if not self.has(name):
            raise InputError([Problem(name, None, "missing from the bundle")])
        if self._zip is None:
            data = self._files[key].read_bytes()
        else:
            info = self._members[key]
            if info.file_size > MAX_MEMBER_BYTES:
                raise InputError([Problem(name, None, "larger than 512 MiB; refusing to unpack")])
            data = self._zip.read(info)
        return CsvTable(decode(data, source=name), source=name)
