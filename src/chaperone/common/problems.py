"""Errors that carry their place, collected so a user sees every problem at once."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with an input, at file:line."""

    source: str
    line: int | None
    message: str

    def __str__(self) -> str:
        place = self.source if self.line is None else f"{self.source}:{self.line}"
        return f"{place}: {self.message}"


class ChaperoneError(Exception):
    """A domain error whose message is a one-line reason for the user."""


class InputError(ChaperoneError):
    """An input with one or more located problems; nothing was changed."""

    def __init__(self, problems: Iterable[Problem], *, summary: str | None = None) -> None:
        self.problems = sorted(problems, key=lambda p: (p.source, p.line or 0))
        self.summary = summary or f"{len(self.problems)} problem(s); nothing was changed"
        super().__init__("\n".join(str(p) for p in self.problems))


class NotFoundError(ChaperoneError):
    """Something the user named does not exist."""
