"""Writing the demo's generated files: UTF-8, no BOM, the same bytes on every platform."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Write a UTF-8 CSV file without BOM."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def write_text(path: Path, text: str) -> None:
    """Write a UTF-8 text file with LF line ends."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(text)
