"""Physical line numbers for CSV records that a bulk reader numbers only by their order.

DuckDB's CSV reader gives the rows it accepts in file order but not where they start;
the lines it rejects it reports by physical line. When every record is one line, the
accepted rows fill the lines from 2 (after the header) that are neither rejected nor
blank, in order: a ``LineMap`` turns the k-th accepted row into its line from those
skipped lines alone. Records spanning several lines (quoted line breaks) need their
start lines, which only a full parse (``csv.reader``) knows.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CHUNK = 4 * 1024 * 1024


@dataclass(frozen=True)
class LineMap:
    """The k-th accepted record (k from 0) starts on line ``k + 2 + shift(k)``.

    ``steps`` are ``(first, shift)`` pairs with ascending ``first``: from row ``first``
    on, the shift is ``shift`` (before the first step, 0). No steps: a header on line
    1 and one record on every line after it.
    """

    steps: tuple[tuple[int, int], ...] = ()

    @classmethod
    def skipping(cls, skipped: Iterable[int]) -> LineMap:
        """One record a line from line 2, except on the ``skipped`` lines."""
        shifts: dict[int, int] = {}
        for count, line in enumerate(sorted(set(skipped)), start=1):
            # Rows before line L: its L - 2 lines from line 2, less the count - 1 skipped.
            shifts[line - count - 1] = count
        return cls(tuple(shifts.items()))

    @classmethod
    def starting(cls, starts: Sequence[int]) -> LineMap:
        """From the start line of every accepted record, in order."""
        steps: list[tuple[int, int]] = []
        previous = 0
        for row, line in enumerate(starts):
            if line - row - 2 != previous:
                previous = line - row - 2
                steps.append((row, previous))
        return cls(tuple(steps))

    def line(self, row: int) -> int:
        """The line on which accepted row ``row`` (from 0) starts."""
        index = bisect.bisect_right([first for first, _shift in self.steps], row)
        return row + 2 + (self.steps[index - 1][1] if index else 0)


def count_lines(path: Path) -> int:
    """How many lines a file has (a last line without a line feed counts)."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def blank_lines(path: Path) -> list[int]:
    """The numbers of the lines that hold nothing but their line ending."""
    with path.open("rb") as handle:
        return [
            number
            for number, line in enumerate(handle, start=1)
            if line in (b"\n", b"\r\n", b"\r", b"")
        ]
