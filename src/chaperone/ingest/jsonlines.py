"""Reading JSON-lines exports: one object a line, UTF-8 or UTF-16, bounded line sizes."""

from __future__ import annotations

import codecs
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from chaperone.common.problems import InputError, Problem
from chaperone.ingest.connectors.base import Connector
from chaperone.lake.schema import Item, Record, Rejected

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Line:
    """One line of a JSON-lines file: its number and bytes (without a leading BOM)."""

    number: int
    data: bytes

    @property
    def position(self) -> str:
        """Where the line is, as the quarantine shows it."""
        return f"line {self.number}"

    @property
    def blank(self) -> bool:
        """Whether the line holds only whitespace (skipped, not rejected)."""
        return not self.data.strip()

    def rejected(self, reason: str) -> Rejected:
        """The line to quarantine, with its size and checksum."""
        return Rejected(
            self.position, reason, len(self.data), hashlib.sha256(self.data).hexdigest()
        )


def json_lines(source: Path, limit: int) -> Iterator[Line | Rejected]:
    """The numbered lines of a file; a line longer than ``limit`` bytes is rejected unread.

    UTF-8 (with or without a BOM) is read line by line; UTF-16 with a BOM (what Windows
    PowerShell writes by default) is decoded whole.
    """
    with source.open("rb") as handle:
        if handle.read(2) in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
            yield from _utf16_lines(source, limit)
            return
        handle.seek(0)
        number = 0
        while data := handle.readline(limit + 1):
            number += 1
            if len(data) > limit and not data.endswith(b"\n"):
                yield _oversized(number, data, handle, limit)
            else:
                yield Line(number, data.removeprefix(codecs.BOM_UTF8) if number == 1 else data)


def json_object(line: Line) -> dict[str, object]:
    """The JSON object a line holds, or ValueError saying why it holds none."""
    try:
        text = line.data.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8 text ({exc.reason} at byte {exc.start + 1})") from exc
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise ValueError("not JSON (nested too deeply)") from exc
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON ({exc.msg} at column {exc.pos + 1})") from exc
    except ValueError as exc:  # e.g. an integer of more digits than Python converts
        raise ValueError(f"not JSON ({exc})") from exc
    if not isinstance(value, dict):
        raise ValueError(f"not a JSON object but {describe(value)}")
    return value


def clean(text: str) -> str:
    """Text safe to store: lone surrogates (JSON ``\\ud800`` escapes) become U+FFFD."""
    if text.isascii():
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def _utf16_lines(source: Path, limit: int) -> Iterator[Line | Rejected]:
    try:
        text = source.read_bytes().decode("utf-16")
    except UnicodeDecodeError as exc:
        raise InputError([Problem(source.name, None, f"not UTF-16 text ({exc.reason})")]) from exc
    for number, part in enumerate(text.split("\n"), start=1):
        data = part.encode("utf-8")
        if len(data) > limit:
            yield Rejected(
                f"line {number}",
                f"longer than {limit} bytes",
                len(data),
                hashlib.sha256(data).hexdigest(),
            )
        else:
            yield Line(number, data)


def _oversized(number: int, head: bytes, handle: BinaryIO, limit: int) -> Rejected:
    """Skip the rest of a line too long to read, counting and hashing it on the way."""
    digest, size = hashlib.sha256(head), len(head)
    while chunk := handle.readline(_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if chunk.endswith(b"\n"):
            break
    return Rejected(f"line {number}", f"longer than {limit} bytes", size, digest.hexdigest())


def describe(value: object) -> str:
    """What a JSON value is, for a reason (never the whole value: it may be huge)."""
    if value is None:
        return "null (or missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'"{clean(shown)}"'
    if isinstance(value, int | float):
        return "a number"
    return "a list" if isinstance(value, list) else "an object"


class JsonLinesConnector(Connector):
    """Base of connectors for JSON-lines exports.

    Subclasses implement ``record(source, line, obj)`` for one decoded JSON object
    and raise ValueError with the reason when it cannot be a record; the line then
    goes to quarantine with that reason. Blank lines are skipped; oversized or
    undecodable lines are rejected before ``record`` sees them.
    """

    def read(self, source: Path) -> Iterator[Item]:
        """One record per non-blank line; a line that cannot be one is rejected."""
        for line in json_lines(source, self.context.max_message_bytes):
            if isinstance(line, Rejected):
                yield line
            elif not line.blank:
                try:
                    yield self.record(source, line, json_object(line))
                except ValueError as exc:
                    yield line.rejected(str(exc))

    def record(self, source: Path, line: Line, obj: dict[str, object]) -> Record:
        """The record of one JSON object (ValueError with the reason when it is not one)."""
        raise NotImplementedError  # each JSON-lines connector implements it
