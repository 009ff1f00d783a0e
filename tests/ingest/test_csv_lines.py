"""Placing the rows a bulk CSV reader accepted on the physical lines of the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from chaperone.ingest.csv_lines import LineMap, blank_lines, count_lines


@pytest.mark.parametrize(
    ("skipped", "rows", "lines"),
    [
        ([], 4, [2, 3, 4, 5]),
        ([2], 3, [3, 4, 5]),
        ([3, 4], 3, [2, 5, 6]),
        ([3, 6, 7, 9], 4, [2, 4, 5, 8]),
        ([5, 3, 3], 3, [2, 4, 6]),  # in any order, repeated
        ([9, 10], 3, [2, 3, 4]),  # after the last row: no shift
    ],
)
def test_rows_fill_the_lines_that_are_not_skipped(
    skipped: list[int], rows: int, lines: list[int]
) -> None:
    placed = LineMap.skipping(skipped)
    assert [placed.line(row) for row in range(rows)] == lines


@pytest.mark.parametrize("starts", [[2, 3, 4], [2, 4, 5, 9], [3, 4], [2, 3, 7, 8, 12, 13, 14]])
def test_rows_with_known_start_lines_keep_them(starts: list[int]) -> None:
    placed = LineMap.starting(starts)
    assert [placed.line(row) for row in range(len(starts))] == starts
    assert len(placed.steps) == len({s - i for i, s in enumerate(starts)} - {2})


@pytest.mark.parametrize(
    ("data", "count", "blank"),
    [
        (b"", 0, []),
        (b"a\n", 1, []),
        (b"a", 1, []),
        (b"a\nb", 2, []),
        (b"a\r\n\r\nb\r\n", 3, [2]),
        (b"a\n\nb\n\n", 4, [2, 4]),
        (b'a\n"x\ny"\n', 3, []),
    ],
)
def test_lines_and_blank_lines_of_a_file(
    tmp_path: Path, data: bytes, count: int, blank: list[int]
) -> None:
    path = tmp_path / "f.csv"
    path.write_bytes(data)
    assert (count_lines(path), blank_lines(path)) == (count, blank)
