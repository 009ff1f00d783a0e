"""Printing for commands: Rich tables for people, JSON for scripts. User data is never markup."""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

console = Console(highlight=False)


class Format(StrEnum):
    """Output formats a command offers."""

    text = "text"
    json = "json"


def emit_json(data: Any) -> None:
    """Print data as JSON on stdout."""
    print(json.dumps(data, indent=2, sort_keys=False, default=str))


def table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    """Print a table; every cell is plain text, so brackets in names are shown, not parsed."""
    out = Table(title=title, title_justify="left")
    for column in columns:
        out.add_column(column)
    for row in rows:
        out.add_row(*(Text("" if cell is None else str(cell)) for cell in row))
    console.print(out)


def line(text: str) -> None:
    """Print one plain line."""
    console.print(Text(text))
