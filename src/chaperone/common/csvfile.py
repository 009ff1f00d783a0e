"""CSV reading by header name: BOMs, UTF-16 exports, unknown columns ignored, rows located."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from chaperone.common.problems import InputError, Problem


@dataclass(frozen=True)
class Row:
    """One CSV record: its values by column name and the line it starts on."""

    line: int
    values: dict[str, str]

    def get(self, column: str) -> str:
        """The stripped value of a column, empty when the column is absent."""
        return (self.values.get(column) or "").strip()


def decode(data: bytes, *, source: str) -> str:
    """Bytes to text: UTF-16 with a BOM, else UTF-8 with or without a BOM."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(
            [Problem(source, None, f"not UTF-8 or UTF-16 text ({exc.reason})")]
        ) from exc


class CsvTable:
    """A CSV file read by header name; empty header cells (trailing commas) are ignored."""

    def __init__(self, text: str, *, source: str) -> None:
        self.source = source
        self._text = text
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader, [])
        self.columns = [name.strip() for name in header]

    @classmethod
    def read(cls, path: Path, *, source: str | None = None) -> CsvTable:
        """Read a CSV file from disk."""
        name = source or path.name
        return cls(decode(path.read_bytes(), source=name), source=name)

    def missing(self, required: Sequence[str]) -> list[Problem]:
        """One problem per required column the header lacks."""
        present = set(self.columns)
        return [
            Problem(self.source, 1, f'missing column "{column}"')
            for column in required
            if column not in present
        ]

    def require(self, required: Sequence[str]) -> None:
        """Raise when any required column is missing."""
        problems = self.missing(required)
        if problems:
            raise InputError(problems)

    def rows(self) -> Iterator[Row]:
        """Every record after the header, skipping blank lines, with its starting line."""
        reader = csv.reader(io.StringIO(self._text, newline=""))
        next(reader, None)
        line = reader.line_num + 1
        for cells in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in cells):
                continue
            yield Row(start, self._by_name(cells))

    def _by_name(self, cells: list[str]) -> dict[str, str]:
        values: dict[str, str] = {}
        for name, cell in zip(self.columns, cells, strict=False):
            if name and name not in values:
                values[name] = cell
        return values
